#![allow(clippy::unwrap_used)]

#[path = "support/network.rs"]
mod network;
mod support;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use network::Network;
use raftnode::eraftpb::{
    ConfChange, ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2, EntryType,
};
use raftnode::{DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES, Error, RaftConfig, RaftNode};
use support::{Applied, config, spawn_applier, wait_until};

const WAIT: Duration = Duration::from_secs(10);
/// Raft's election timeout is 20..40 ticks of 10 ms here: generous enough
/// that a loaded machine does not lose leaders by accident.
const ELECTION_TICK: usize = 20;

struct Member {
    node: RaftNode,
    applied: Applied,
}

struct Cluster {
    dir: tempfile::TempDir,
    net: Network,
    members: BTreeMap<u64, Member>,
    catch_up_entries: u64,
}

impl Cluster {
    async fn start(size: u64) -> Self {
        Self::start_with(size, DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES).await
    }

    async fn start_with(size: u64, catch_up_entries: u64) -> Self {
        let mut cluster = Cluster {
            dir: tempfile::tempdir().unwrap(),
            net: Network::new(),
            members: BTreeMap::new(),
            catch_up_entries,
        };
        let voters: Vec<u64> = (1..=size).collect();
        for id in &voters {
            cluster.launch(*id, &voters);
        }
        cluster
    }

    fn config(&self, id: u64, voters: &[u64]) -> RaftConfig {
        let mut cfg = config(&self.dir.path().join(format!("m{id}")), id, voters);
        cfg.election_tick = ELECTION_TICK;
        cfg.pre_vote = true;
        cfg.snapshot_catch_up_entries = self.catch_up_entries;
        cfg
    }

    /// Starts (or restarts from its directory) member `id`; `voters` only
    /// matter for a brand-new member, empty meaning it joins.
    fn launch(&mut self, id: u64, voters: &[u64]) {
        let (node, applies) =
            RaftNode::start(self.config(id, voters), self.net.transport()).unwrap();
        self.net.attach(id, node.clone());
        let applied = spawn_applier(node.clone(), applies);
        self.members.insert(id, Member { node, applied });
    }

    async fn stop(&mut self, id: u64) {
        self.net.detach(id);
        let member = self.members.remove(&id).unwrap();
        member.node.stop().await;
    }

    async fn stop_all(&mut self) {
        let ids: Vec<u64> = self.members.keys().copied().collect();
        for id in ids {
            self.stop(id).await;
        }
    }

    fn ids(&self) -> Vec<u64> {
        self.members.keys().copied().collect()
    }

    fn node(&self, id: u64) -> &RaftNode {
        &self.members[&id].node
    }

    fn applied(&self, id: u64) -> &Applied {
        &self.members[&id].applied
    }

    /// The leader every member of `ids` agrees on, once it is one of them
    /// and knows it leads.
    async fn leader_among(&self, ids: &[u64]) -> u64 {
        let mut leader = 0;
        let agreed = wait_until(WAIT, || {
            let seen: HashSet<u64> = ids
                .iter()
                .map(|id| self.node(*id).status().leader_id)
                .collect();
            leader = seen.iter().next().copied().unwrap_or(0);
            seen.len() == 1
                && ids.contains(&leader)
                && self
                    .members
                    .get(&leader)
                    .is_some_and(|m| m.node.status().is_leader())
        })
        .await;
        assert!(agreed, "{ids:?} agree on no leader");
        leader
    }

    async fn leader(&self) -> u64 {
        self.leader_among(&self.ids()).await
    }

    /// Proposes `data` through the leader of `ids` (or through `via`) until
    /// that leader has applied it: a proposal can be lost when leadership
    /// moves, and a lossy network loses some on purpose.
    async fn commit_among(&self, ids: &[u64], via: Option<u64>, data: &str) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let leader = self.leader_among(ids).await;
            let proposer = via.unwrap_or(leader);
            let applied = self.applied(leader);
            let seen = || applied.data().iter().any(|d| d == data.as_bytes());
            if self.node(proposer).propose(data.into()).await.is_ok()
                && wait_until(Duration::from_secs(2), seen).await
            {
                return;
            }
            if seen() {
                return;
            }
        }
        panic!("{data:?} never committed");
    }

    async fn commit(&self, data: &str) {
        self.commit_among(&self.ids(), None, data).await;
    }

    /// Waits until each of `ids` has applied exactly `expected` (data of
    /// its own entries, in order).
    async fn assert_data(&self, ids: &[u64], expected: &[String]) {
        for id in ids {
            let data = self.applied(*id).wait_for_data(expected.len(), WAIT).await;
            let data: Vec<String> = data
                .into_iter()
                .map(|d| String::from_utf8(d).unwrap())
                .collect();
            assert_eq!(data, expected, "member {id}");
            assert_eq!(self.applied(*id).violations(), Vec::<String>::new());
        }
    }

    /// Proposes a membership change through the leader of `among` until
    /// every member of `check` reports the configuration `want` (raft
    /// quietly ignores a change while another is still being applied).
    async fn change(&self, among: &[u64], check: &[u64], cc: Change, want: (Vec<u64>, Vec<u64>)) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let leader = self.leader_among(among).await;
            let node = self.node(leader);
            let proposed = match &cc {
                Change::V1(cc) => node.propose_conf_change(cc.clone()).await,
                Change::V2(cc) => node.propose_conf_change_v2(cc.clone()).await,
            };
            let done = || check.iter().all(|id| self.node(*id).conf_state() == want);
            if proposed.is_ok() && wait_until(Duration::from_secs(3), done).await {
                return;
            }
        }
        panic!("configuration never became {want:?}");
    }
}

enum Change {
    V1(ConfChange),
    V2(ConfChangeV2),
}

fn v1(change_type: ConfChangeType, id: u64) -> Change {
    let mut cc = ConfChange::default();
    cc.set_change_type(change_type);
    cc.node_id = id;
    Change::V1(cc)
}

fn v2(transition: ConfChangeTransition, changes: &[(ConfChangeType, u64)]) -> ConfChangeV2 {
    let mut cc = ConfChangeV2::default();
    cc.set_transition(transition);
    for (change_type, id) in changes {
        let mut single = ConfChangeSingle::default();
        single.set_change_type(*change_type);
        single.node_id = *id;
        cc.mut_changes().push(single);
    }
    cc
}

/// For each V2 conf change entry applied, whether it is an empty one (the
/// leaving of a joint configuration).
fn conf_entries_of(applied: &Applied) -> Vec<bool> {
    applied
        .entries()
        .iter()
        .filter(|e| e.get_entry_type() == EntryType::EntryConfChangeV2)
        .map(|e| e.data.is_empty())
        .collect()
}

fn names(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:03}")).collect()
}

async fn elect_and_replicate(size: u64) {
    let mut cluster = Cluster::start(size).await;
    let ids = cluster.ids();
    let leader = cluster.leader().await;
    let follower = ids.iter().copied().find(|id| *id != leader).unwrap();
    let mut expected = names("leader", 0..20);
    for data in &expected {
        cluster.commit(data).await;
    }
    // A follower forwards proposals to the leader.
    for data in names("follower", 0..5) {
        cluster.commit_among(&ids, Some(follower), &data).await;
        expected.push(data);
    }
    cluster.assert_data(&ids, &expected).await;
    let reference = cluster.applied(leader).entries();
    for id in &ids {
        assert_eq!(cluster.applied(*id).entries(), reference, "member {id}");
        assert_eq!(cluster.node(*id).conf_state(), (ids.clone(), vec![]));
        assert!(!cluster.node(*id).status().is_learner);
    }
    let last = reference.last().unwrap().index;
    assert!(cluster.node(follower).read_index().await.unwrap() >= last);

    let leader_node = cluster.node(leader);
    for id in &ids {
        assert!(
            wait_until(WAIT, || leader_node.progress(*id) == Some((last, last))).await,
            "progress of {id}: {:?}",
            leader_node.progress(*id)
        );
    }
    assert_eq!(leader_node.progress(99), None);
    assert_eq!(cluster.node(follower).progress(leader), None);
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_elect_a_leader_and_replicate() {
    elect_and_replicate(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_elect_a_leader_and_replicate() {
    elect_and_replicate(5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_isolated_in_a_minority_stops_committing_and_converges_after_heal() {
    let mut cluster = Cluster::start(5).await;
    let ids = cluster.ids();
    let mut expected = names("before", 0..5);
    for data in &expected {
        cluster.commit(data).await;
    }
    cluster.assert_data(&ids, &expected).await;

    let old = cluster.leader().await;
    let majority: Vec<u64> = ids.iter().copied().filter(|id| *id != old).collect();
    cluster.net.isolate(old);
    // Whatever was already on the wire lands; nothing after.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stuck_commit = cluster.node(old).status().commit_index;
    let _ = cluster.node(old).propose(b"stranded".to_vec()).await;

    let new = cluster.leader_among(&majority).await;
    assert_ne!(new, old);
    for data in names("after", 0..5) {
        cluster.commit_among(&majority, None, &data).await;
        expected.push(data);
    }
    cluster.assert_data(&majority, &expected).await;
    let old_node = cluster.node(old);
    assert!(
        wait_until(WAIT, || !old_node.status().is_leader()).await,
        "check-quorum should have made it step down"
    );
    assert_eq!(old_node.status().commit_index, stuck_commit);
    assert_eq!(cluster.applied(old).data().len(), 5);

    cluster.net.heal();
    let leader = cluster.leader().await;
    assert_ne!(leader, old);
    cluster.commit("healed").await;
    expected.push("healed".into());
    cluster.assert_data(&ids, &expected).await;
    let reference = cluster.applied(leader).entries();
    for id in &ids {
        assert_eq!(cluster.applied(*id).entries(), reference, "member {id}");
    }
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_commit_through_a_lossy_slow_network() {
    let mut cluster = Cluster::start(3).await;
    let ids = cluster.ids();
    cluster.leader().await;
    cluster.net.drop_percent(30);
    cluster.net.delay(Duration::from_millis(5));
    let wanted = names("lossy", 0..20);
    for data in &wanted {
        cluster.commit(data).await;
    }
    // A retried proposal may have committed twice; every member must still
    // hold every entry and all the same log.
    let wanted_set: HashSet<Vec<u8>> = wanted.iter().map(|d| d.clone().into_bytes()).collect();
    let all_there = || {
        ids.iter().all(|id| {
            let have: HashSet<Vec<u8>> = cluster.applied(*id).data().into_iter().collect();
            wanted_set.is_subset(&have)
        })
    };
    assert!(wait_until(WAIT, all_there).await);
    cluster.net.heal();
    cluster.commit("clean").await;
    let leader = cluster.leader().await;
    let last = cluster.applied(leader).entries().last().unwrap().index;
    let caught_up = || {
        ids.iter()
            .all(|id| cluster.applied(*id).entries().last().map(|e| e.index) == Some(last))
    };
    assert!(wait_until(WAIT, caught_up).await);
    let reference = cluster.applied(leader).entries();
    for id in &ids {
        assert_eq!(cluster.applied(*id).entries(), reference, "member {id}");
        assert_eq!(cluster.applied(*id).violations(), Vec::<String>::new());
    }
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_every_member_replays_each_entry_once() {
    let mut cluster = Cluster::start(3).await;
    let ids = cluster.ids();
    let mut expected = names("first", 0..10);
    for data in &expected {
        cluster.commit(data).await;
    }
    cluster.assert_data(&ids, &expected).await;
    // Member 1 restarts from a snapshot, the others from their logs alone.
    let index = cluster.applied(1).entries().last().unwrap().index;
    let node1 = cluster.node(1);
    assert!(wait_until(WAIT, || node1.status().applied_index >= index).await);
    node1
        .create_snapshot(index, b"first ten".to_vec())
        .await
        .unwrap();
    let second = names("second", 0..10);
    for data in &second {
        cluster.commit(data).await;
    }
    expected.extend(second.iter().cloned());
    cluster.assert_data(&ids, &expected).await;
    let before: BTreeMap<u64, _> = ids
        .iter()
        .map(|id| (*id, cluster.applied(*id).entries()))
        .collect();

    cluster.stop_all().await;
    for id in &ids {
        cluster.launch(*id, &ids);
    }
    cluster.assert_data(&ids[1..], &expected).await;
    cluster.assert_data(&[1], &second).await;
    let snapshots = cluster.applied(1).snapshots();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].get_metadata().index, index);
    assert_eq!(snapshots[0].data.as_ref(), b"first ten");
    for id in &ids[1..] {
        let replayed = cluster.applied(*id).entries();
        assert_eq!(replayed[..], before[id][..replayed.len()], "member {id}");
    }
    let replayed_at_1: Vec<_> = before[&1]
        .iter()
        .filter(|e| e.index > index)
        .cloned()
        .collect();
    assert_eq!(
        cluster.applied(1).entries()[..replayed_at_1.len()],
        replayed_at_1[..]
    );

    cluster.commit("after restart").await;
    expected.push("after restart".into());
    cluster.assert_data(&ids[1..], &expected).await;
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_moves_on_request_and_refuses_what_it_cannot() {
    let mut cluster = Cluster::start(3).await;
    let ids = cluster.ids();
    cluster.commit("settled").await;
    let leader = cluster.leader().await;
    let others: Vec<u64> = ids.iter().copied().filter(|id| *id != leader).collect();
    let (target, bystander) = (others[0], others[1]);

    assert!(matches!(
        cluster.node(target).transfer_leader(target).await,
        Err(Error::NotLeader)
    ));
    assert!(matches!(
        cluster.node(leader).transfer_leader(99).await,
        Err(Error::UnknownPeer(99))
    ));
    cluster.node(leader).transfer_leader(leader).await.unwrap();
    assert!(cluster.node(leader).status().is_leader());

    cluster.node(leader).transfer_leader(target).await.unwrap();
    assert_eq!(cluster.node(leader).status().leader_id, target);
    assert_eq!(cluster.leader().await, target);
    cluster.commit("under the new leader").await;

    // A transferee that cannot be reached never takes over.
    cluster.net.isolate(bystander);
    let started = Instant::now();
    let refused = cluster.node(target).transfer_leader(bystander).await;
    assert!(
        matches!(refused, Err(Error::LeaderTransferTimeout(id)) if id == bystander),
        "{refused:?}"
    );
    // Two election timeouts of 20 ticks of 10 ms.
    assert!(started.elapsed() >= Duration::from_millis(400));
    cluster.net.heal();
    cluster.commit("after the failed transfer").await;
    cluster
        .assert_data(
            &ids,
            &[
                "settled".into(),
                "under the new leader".into(),
                "after the failed transfer".into(),
            ],
        )
        .await;
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_member_catches_up_from_the_log() {
    let mut cluster = Cluster::start(3).await;
    let mut expected = names("early", 0..10);
    for data in &expected {
        cluster.commit(data).await;
    }
    cluster.launch(4, &[]);
    let all = vec![1, 2, 3, 4];
    let add = v1(ConfChangeType::AddNode, 4);
    cluster
        .change(&all[..3], &all, add, (all.clone(), vec![]))
        .await;
    for data in names("late", 0..5) {
        cluster.commit(&data).await;
        expected.push(data);
    }
    cluster.assert_data(&all, &expected).await;
    assert!(cluster.applied(4).snapshots().is_empty());
    let leader = cluster.leader().await;
    let last = cluster.applied(leader).entries().last().unwrap().index;
    let progress = cluster.node(leader);
    assert!(wait_until(WAIT, || progress.progress(4) == Some((last, last))).await);
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_member_is_sent_a_snapshot_by_a_compacted_leader() {
    let mut cluster = Cluster::start_with(3, 0).await;
    let early = names("early", 0..10);
    for data in &early {
        cluster.commit(data).await;
    }
    let leader = cluster.leader().await;
    let index = cluster.applied(leader).entries().last().unwrap().index;
    let node = cluster.node(leader);
    assert!(wait_until(WAIT, || node.status().applied_index >= index).await);
    node.create_snapshot(index, b"early state".to_vec())
        .await
        .unwrap();
    assert_eq!(node.status().snapshot_index, index);

    cluster.launch(4, &[]);
    let all = vec![1, 2, 3, 4];
    let add = v1(ConfChangeType::AddNode, 4);
    cluster
        .change(&all[..3], &all, add, (all.clone(), vec![]))
        .await;
    let late = names("late", 0..5);
    for data in &late {
        cluster.commit(data).await;
    }
    cluster
        .assert_data(&all[..3], &[early, late.clone()].concat())
        .await;
    cluster.assert_data(&[4], &late).await;
    let snapshots = cluster.applied(4).snapshots();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].get_metadata().index, index);
    assert_eq!(snapshots[0].data.as_ref(), b"early state");
    assert!(!cluster.node(4).status().is_learner);
    assert_eq!(cluster.node(4).status().snapshot_index, index);
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_joins_then_is_promoted() {
    let mut cluster = Cluster::start(3).await;
    let voters = vec![1, 2, 3];
    let all = vec![1, 2, 3, 4];
    cluster.commit("before the learner").await;
    cluster.launch(4, &[]);
    let add_learner = v2(
        ConfChangeTransition::Auto,
        &[(ConfChangeType::AddLearnerNode, 4)],
    );
    let learning = (voters.clone(), vec![4]);
    cluster
        .change(&voters, &all, Change::V2(add_learner), learning)
        .await;
    cluster.commit("with the learner").await;
    let expected = ["before the learner".to_string(), "with the learner".into()];
    cluster.assert_data(&all, &expected).await;
    assert!(cluster.node(4).status().is_learner);
    let leader = cluster.leader_among(&voters).await;
    assert!(matches!(
        cluster.node(leader).transfer_leader(4).await,
        Err(Error::NotVoter(4))
    ));
    let node = cluster.node(leader);
    assert!(wait_until(WAIT, || node.progress(4).is_some_and(|(m, c)| m == c)).await);

    let promote = v2(ConfChangeTransition::Auto, &[(ConfChangeType::AddNode, 4)]);
    cluster
        .change(&voters, &all, Change::V2(promote), (all.clone(), vec![]))
        .await;
    assert!(!cluster.node(4).status().is_learner);
    let leader = cluster.leader().await;
    cluster.node(leader).transfer_leader(4).await.unwrap();
    cluster.commit("under the promoted leader").await;
    assert_eq!(cluster.leader().await, 4);
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joint_consensus_is_entered_and_left() {
    let mut cluster = Cluster::start(3).await;
    cluster.commit("three").await;
    cluster.launch(4, &[]);
    cluster.launch(5, &[]);
    let five = vec![1, 2, 3, 4, 5];
    // Two voters at once need a joint configuration; raft leaves it by
    // itself once the application has applied the entry.
    let add_two = v2(
        ConfChangeTransition::Auto,
        &[(ConfChangeType::AddNode, 4), (ConfChangeType::AddNode, 5)],
    );
    cluster
        .change(
            &five[..3],
            &five,
            Change::V2(add_two),
            (five.clone(), vec![]),
        )
        .await;
    let leader = cluster.leader().await;
    // The entering change, then raft's empty leaving one.
    let left = || conf_entries_of(cluster.applied(leader)) == [false, true];
    assert!(wait_until(WAIT, left).await);
    cluster.commit("five").await;

    // An explicit transition waits for the application to leave.
    let survivors: Vec<u64> = five.iter().copied().filter(|id| *id <= 3).collect();
    let remove_two = v2(
        ConfChangeTransition::Explicit,
        &[
            (ConfChangeType::RemoveNode, 4),
            (ConfChangeType::RemoveNode, 5),
        ],
    );
    let leader = cluster.leader().await;
    cluster
        .node(leader)
        .propose_conf_change_v2(remove_two)
        .await
        .unwrap();
    let entered = || conf_entries_of(cluster.applied(leader)) == [false, true, false];
    assert!(wait_until(WAIT, entered).await);
    // In the joint configuration both halves vote.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(entered());
    for id in &five {
        assert_eq!(cluster.node(*id).conf_state(), (five.clone(), vec![]));
    }
    let leave = Change::V2(ConfChangeV2::default());
    cluster
        .change(&five, &survivors, leave, (survivors.clone(), vec![]))
        .await;
    cluster.stop(4).await;
    cluster.stop(5).await;
    cluster.commit("three again").await;
    cluster
        .assert_data(
            &survivors,
            &["three".into(), "five".into(), "three again".into()],
        )
        .await;
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_and_then_the_leader_are_removed() {
    let mut cluster = Cluster::start(5).await;
    let ids = cluster.ids();
    cluster.commit("five").await;
    let leader = cluster.leader().await;
    let follower = ids.iter().copied().find(|id| *id != leader).unwrap();
    let four: Vec<u64> = ids.iter().copied().filter(|id| *id != follower).collect();
    let remove = v1(ConfChangeType::RemoveNode, follower);
    cluster
        .change(&ids, &four, remove, (four.clone(), vec![]))
        .await;
    cluster.stop(follower).await;
    cluster.commit("four").await;

    let leader = cluster.leader().await;
    let three: Vec<u64> = four.iter().copied().filter(|id| *id != leader).collect();
    let remove = v1(ConfChangeType::RemoveNode, leader);
    cluster
        .change(&four, &three, remove, (three.clone(), vec![]))
        .await;
    // The removed leader hands over at once instead of leading a
    // configuration it is not part of; it keeps running here.
    let successor = cluster.leader_among(&three).await;
    assert_ne!(successor, leader);
    let old = cluster.node(leader);
    assert!(wait_until(WAIT, || !old.status().is_leader()).await);
    cluster.commit_among(&three, None, "three").await;
    cluster
        .assert_data(&three, &["five".into(), "four".into(), "three".into()])
        .await;
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_link_neither_disrupts_the_leader_nor_loses_the_follower() {
    let mut cluster = Cluster::start(3).await;
    let ids = cluster.ids();
    cluster.commit("connected").await;
    let leader = cluster.leader().await;
    let term = cluster.node(leader).status().term;
    let (cut_off, linked) = {
        let others: Vec<u64> = ids.iter().copied().filter(|id| *id != leader).collect();
        (others[0], others[1])
    };
    cluster.net.cut(leader, cut_off);
    let both = [leader, linked];
    for data in names("cut", 0..5) {
        cluster.commit_among(&both, None, &data).await;
    }
    // Several election timeouts: pre-vote keeps the cut-off member from
    // raising the term, and the linked one still hears the leader.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(cluster.leader_among(&both).await, leader);
    assert_eq!(cluster.node(leader).status().term, term);
    assert_eq!(cluster.applied(cut_off).data(), vec![b"connected".to_vec()]);

    cluster.net.heal();
    let expected = [vec!["connected".to_string()], names("cut", 0..5)].concat();
    cluster.assert_data(&ids, &expected).await;
    assert_eq!(cluster.leader().await, leader);
    cluster.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_member_catches_up_from_a_snapshot() {
    let mut cluster = Cluster::start_with(3, 0).await;
    let ids = cluster.ids();
    let leader = cluster.leader().await;
    let lagging = ids.iter().copied().find(|id| *id != leader).unwrap();
    let rest: Vec<u64> = ids.iter().copied().filter(|id| *id != lagging).collect();
    cluster.net.isolate(lagging);
    let early = names("early", 0..30);
    for data in &early {
        cluster.commit_among(&rest, None, data).await;
    }
    let leader = cluster.leader_among(&rest).await;
    let index = cluster.applied(leader).entries().last().unwrap().index;
    let node = cluster.node(leader);
    assert!(wait_until(WAIT, || node.status().applied_index >= index).await);
    node.create_snapshot(index, b"state after 30".to_vec())
        .await
        .unwrap();
    cluster.commit_among(&rest, None, "after snapshot").await;

    cluster.net.heal();
    cluster
        .assert_data(&[lagging], &["after snapshot".into()])
        .await;
    let snapshots = cluster.applied(lagging).snapshots();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].get_metadata().index, index);
    assert_eq!(snapshots[0].data.as_ref(), b"state after 30");
    let mut voters = snapshots[0].get_metadata().get_conf_state().voters.clone();
    voters.sort_unstable();
    assert_eq!(voters, ids);
    assert!(
        snapshots[0]
            .get_metadata()
            .get_conf_state()
            .learners
            .is_empty()
    );
    cluster.stop_all().await;
}

/// Linearizable reads issued on every follower at once all complete within
/// a fraction of the retry interval: each follower's ReadIndex context is
/// distinct at the leader (a shared context used to drop all but one round
/// until its retry, an election timeout later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_on_every_follower_share_no_context() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    cluster
        .commit_among(&cluster.ids(), None, "before reads")
        .await;
    let followers: Vec<u64> = cluster.ids().into_iter().filter(|&i| i != leader).collect();
    // One election timeout at its shortest: the retry interval.
    let retry = Duration::from_millis(10 * ELECTION_TICK as u64);
    for round in 0..20 {
        let started = Instant::now();
        let reads = followers.iter().map(|&id| cluster.node(id).read_index());
        for index in futures::future::join_all(reads).await {
            assert!(index.unwrap() > 0);
        }
        let took = started.elapsed();
        assert!(took < retry, "round {round}: reads took {took:?}");
    }
}
