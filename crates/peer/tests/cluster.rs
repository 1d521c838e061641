#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use raftnode::Transport;
use support::{
    CLUSTER, FixedDump, Listener, Member, Spec, WAIT, agreed_leader, dump_of, start_member,
    wait_for_data, wait_until,
};

async fn start_three(dir: &std::path::Path, dump: &FixedDump, catch_up: u64) -> Vec<Member> {
    let mut listeners = Vec::new();
    let mut urls = Vec::new();
    for id in 1..=3u64 {
        let (listener, url) = Listener::tcp().await;
        listeners.push(listener);
        urls.push((id, url));
    }
    let mut members = Vec::new();
    for (listener, id) in listeners.into_iter().zip(1..=3u64) {
        let spec = Spec {
            id,
            dir: &dir.join(format!("m{id}")),
            urls: &urls,
            voters: &[1, 2, 3],
            cluster_id: CLUSTER,
            dump: dump.clone(),
            catch_up_entries: catch_up,
            members: Vec::new(),
        };
        members.push(start_member(spec, listener).await);
    }
    members
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_members_elect_and_replicate_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let dump = FixedDump(Arc::new(Vec::new()));
    let members = start_three(dir.path(), &dump, 5000).await;
    let all: Vec<&Member> = members.iter().collect();
    let leader = agreed_leader(&all).await;
    let leader_member = &members[(leader - 1) as usize];
    let follower = &members[(leader % 3) as usize];

    for i in 0..10 {
        leader_member
            .node
            .propose(format!("l{i}").into_bytes())
            .await
            .unwrap();
    }
    // Forwarded by the follower to the leader over the peer stream.
    follower
        .node
        .propose(b"from follower".to_vec())
        .await
        .unwrap();
    for member in &members {
        let data = wait_for_data(member, 11).await;
        assert_eq!(data.len(), 11, "member {} applied {:?}", member.id, data);
        assert_eq!(data[..10], leader_member.applied.data()[..10]);
        assert!(data.contains(&b"from follower".to_vec()));
    }

    // Every stream is up, and the transport says since when.
    for member in &members {
        for peer in 1..=3u64 {
            if peer != member.id {
                assert!(
                    member.transport.active_since(peer).is_some(),
                    "{} -> {peer} not active",
                    member.id
                );
            }
        }
    }
    assert_eq!(leader_member.transport.peers().len(), 2);
    for member in &members {
        member.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_down_member_blocks_nobody_and_catches_up_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    // Several chunks, the last one short.
    let dump = FixedDump(Arc::new(dump_of(2 * 1024 * 1024 + 12345)));
    let mut members = start_three(dir.path(), &dump, 0).await;
    let all: Vec<&Member> = members.iter().collect();
    let leader = agreed_leader(&all).await;
    let down_id = leader % 3 + 1;
    let down = members.remove((down_id - 1) as usize);
    down.kill().await;

    let leader_member = members.iter().find(|m| m.id == leader).unwrap();
    assert!(
        wait_until(WAIT, || leader_member
            .transport
            .active_since(down_id)
            .is_none())
        .await,
        "a dead peer still counts as connected"
    );
    for i in 0..20 {
        leader_member
            .node
            .propose(format!("e{i}").into_bytes())
            .await
            .unwrap();
    }
    for member in &members {
        assert_eq!(wait_for_data(member, 20).await.len(), 20);
    }
    let index = leader_member.node.status().commit_index;
    assert!(wait_until(WAIT, || leader_member.node.status().applied_index >= index).await);
    leader_member
        .node
        .create_snapshot(index, b"raft side".to_vec())
        .await
        .unwrap();
    leader_member
        .node
        .propose(b"after snapshot".to_vec())
        .await
        .unwrap();

    // Back on the same address and data dir.
    let urls: Vec<(u64, String)> = (1..=3u64)
        .map(|id| {
            let url = if id == down_id {
                down.url.clone()
            } else {
                members.iter().find(|m| m.id == id).unwrap().url.clone()
            };
            (id, url)
        })
        .collect();
    let listener = Listener::rebind(&down.url).await;
    let back = start_member(
        Spec {
            id: down_id,
            dir: &down.dir,
            urls: &urls,
            voters: &[1, 2, 3],
            cluster_id: support::CLUSTER,
            dump: dump.clone(),
            catch_up_entries: 0,
            members: Vec::new(),
        },
        listener,
    )
    .await;
    assert!(
        wait_until(WAIT, || !back.applied.snapshots().is_empty()).await,
        "no snapshot reached the member that was down"
    );
    let snapshot = &back.applied.snapshots()[0];
    let snap_index = snapshot.get_metadata().index;
    assert!(snap_index >= index);
    assert_eq!(snapshot.data.as_ref(), b"raft side");
    let received = std::fs::read(raftnode::snapshot_db_path(&back.snap_dir(), snap_index)).unwrap();
    assert!(
        received == *dump.0,
        "received dump differs from the sent one"
    );
    let data = wait_for_data(&back, 1).await;
    assert_eq!(data.last().unwrap(), b"after snapshot");
    assert!(
        wait_until(WAIT, || leader_member
            .transport
            .active_since(down_id)
            .is_some())
        .await,
        "the leader did not reconnect to the returning member"
    );

    // It takes part again: a new entry commits everywhere.
    leader_member
        .node
        .propose(b"all three".to_vec())
        .await
        .unwrap();
    assert!(
        wait_until(WAIT, || back.applied.data().last().map(Vec::as_slice)
            == Some(b"all three"))
        .await
    );
    back.kill().await;
    for member in &members {
        member.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_of_another_cluster_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dump = FixedDump(Arc::new(Vec::new()));
    let (listener, url) = Listener::tcp().await;
    let urls = vec![(1, url.clone())];
    let member = start_member(
        Spec {
            id: 1,
            dir: &dir.path().join("m1"),
            urls: &urls,
            voters: &[1],
            cluster_id: CLUSTER,
            dump: dump.clone(),
            catch_up_entries: 5000,
            members: Vec::new(),
        },
        listener,
    )
    .await;

    // Straight at the service: etcd's refusal text.
    let mut client = peer::peerpb::peer_client::PeerClient::connect(url.clone())
        .await
        .unwrap();
    let mut req = tonic::Request::new(peer::peerpb::LeaseRenewRequest { id: 7 });
    req.metadata_mut()
        .insert("x-etcd-cluster-id", "dead".parse().unwrap());
    let status = client.lease_renew(req).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(status.message(), "request cluster ID mismatch");

    // Through transports: the right cluster connects, the wrong one never.
    let wrong_cfg = peer::PeerConfig::new(9, 0xbad, dir.path().join("wrong"));
    let wrong = peer::PeerTransport::new(wrong_cfg, Arc::new(dump.clone())).unwrap();
    wrong.add_peer(1, std::slice::from_ref(&url));
    let right_cfg = peer::PeerConfig::new(2, CLUSTER, dir.path().join("right"));
    let right = peer::PeerTransport::new(right_cfg, Arc::new(dump)).unwrap();
    right.add_peer(1, std::slice::from_ref(&url));
    // The right cluster, but a member id the address does not belong to.
    right.add_peer(5, std::slice::from_ref(&url));
    assert!(wait_until(WAIT, || right.active_since(1).is_some()).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(wrong.active_since(1).is_none());
    assert!(right.active_since(5).is_none());
    let forwarded = api::LeaderLink::lease_renew(&wrong, 1, 7).await;
    assert_eq!(forwarded, Err(api::Error::TimeoutDueToConnectionLost));
    assert_eq!(api::LeaderLink::lease_renew(&right, 1, 7).await, Ok(70));
    wrong.stop();
    right.stop();
    member.kill().await;
}
