#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use raftnode::eraftpb::Message;
use raftnode::{RaftNode, Transport};
use support::{Applied, config, spawn_applier, wait_until};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

/// In-memory network: one inbox per node, and a set of cut-off nodes whose
/// messages (both ways) are lost.
#[derive(Clone, Default)]
struct Network {
    inboxes: Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>>,
    isolated: Arc<Mutex<HashSet<u64>>>,
}

impl Transport for Network {
    fn send(&self, msgs: Vec<Message>) {
        let isolated = self.isolated.lock().unwrap();
        let inboxes = self.inboxes.lock().unwrap();
        for msg in msgs {
            if isolated.contains(&msg.to) || isolated.contains(&msg.from) {
                continue;
            }
            if let Some(inbox) = inboxes.get(&msg.to) {
                let _ = inbox.send(msg);
            }
        }
    }
}

struct Member {
    node: RaftNode,
    applied: Applied,
}

async fn start_cluster(dir: &std::path::Path, net: &Network) -> Vec<Member> {
    let voters = [1, 2, 3];
    let mut members = Vec::new();
    for id in voters {
        let mut cfg = config(&dir.join(format!("m{id}")), id, &voters);
        cfg.pre_vote = true;
        cfg.snapshot_catch_up_entries = 0;
        let (node, applies) = RaftNode::start(cfg, Arc::new(net.clone())).unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        net.inboxes.lock().unwrap().insert(id, tx);
        let stepper = node.clone();
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                if stepper.step(msg).await.is_err() {
                    break;
                }
            }
        });
        let applied = spawn_applier(node.clone(), applies);
        members.push(Member { node, applied });
    }
    members
}

async fn agreed_leader(members: &[Member]) -> u64 {
    let mut leader = 0;
    let agreed = wait_until(WAIT, || {
        let ids: HashSet<_> = members.iter().map(|m| m.node.status().leader_id).collect();
        leader = *ids.iter().next().unwrap();
        ids.len() == 1 && leader != 0
    })
    .await;
    assert!(agreed, "no agreed leader");
    leader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_elect_a_leader_and_replicate() {
    let dir = tempfile::tempdir().unwrap();
    let net = Network::default();
    let members = start_cluster(dir.path(), &net).await;
    let leader = agreed_leader(&members).await;
    let leader_node = &members[(leader - 1) as usize].node;
    let follower = &members[(leader % 3) as usize].node;

    for i in 0..20 {
        leader_node
            .propose(format!("l{i}").into_bytes())
            .await
            .unwrap();
    }
    // A follower forwards proposals to the leader.
    for i in 0..5 {
        follower
            .propose(format!("f{i}").into_bytes())
            .await
            .unwrap();
    }
    for member in &members {
        assert_eq!(member.applied.wait_for_data(25, WAIT).await.len(), 25);
    }
    let reference = members[0].applied.entries();
    for member in &members[1..] {
        assert_eq!(member.applied.entries(), reference, "logs diverge");
    }
    for member in &members {
        assert_eq!(member.applied.violations(), Vec::<String>::new());
    }

    let read = follower.read_index().await.unwrap();
    assert!(read >= reference.last().unwrap().index);
    for member in &members {
        member.node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_member_catches_up_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let net = Network::default();
    let members = start_cluster(dir.path(), &net).await;
    let leader = agreed_leader(&members).await;
    let lagging = leader % 3 + 1;
    net.isolated.lock().unwrap().insert(lagging);

    let leader_member = &members[(leader - 1) as usize];
    for i in 0..30 {
        leader_member
            .node
            .propose(format!("e{i}").into_bytes())
            .await
            .unwrap();
    }
    assert_eq!(
        leader_member.applied.wait_for_data(30, WAIT).await.len(),
        30
    );
    let index = leader_member.applied.entries().last().unwrap().index;
    assert!(wait_until(WAIT, || leader_member.node.status().applied_index >= index).await);
    leader_member
        .node
        .create_snapshot(index, b"state after 30".to_vec())
        .await
        .unwrap();
    leader_member
        .node
        .propose(b"after snapshot".to_vec())
        .await
        .unwrap();

    net.isolated.lock().unwrap().clear();
    let lagging_member = &members[(lagging - 1) as usize];
    assert!(
        wait_until(WAIT, || !lagging_member.applied.snapshots().is_empty()).await,
        "no snapshot reached the lagging member"
    );
    let snapshot = &lagging_member.applied.snapshots()[0];
    assert!(snapshot.get_metadata().index >= index);
    assert_eq!(snapshot.data.as_ref(), b"state after 30");
    let mut voters = snapshot.get_metadata().get_conf_state().voters.clone();
    voters.sort_unstable();
    assert_eq!(voters, vec![1, 2, 3]);
    let data = lagging_member.applied.wait_for_data(1, WAIT).await;
    assert_eq!(data.last().unwrap(), b"after snapshot");
    for member in &members {
        assert_eq!(member.applied.violations(), Vec::<String>::new());
    }
    for member in &members {
        member.node.stop().await;
    }
}
