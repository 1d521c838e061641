#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use api::LeaderLink;
use api::pb::etcdserverpb::{LeaseTimeToLiveRequest, Member};
use peer::{Error, PeerConfig, PeerTransport, fetch_members};
use raftnode::Transport;
use support::{CLUSTER, FixedDump, Listener, Spec, start_member};

fn members() -> Vec<Member> {
    vec![
        Member {
            id: 1,
            name: "one".into(),
            peer_ur_ls: vec!["http://127.0.0.1:1".into()],
            client_ur_ls: vec!["http://127.0.0.1:2".into()],
            is_learner: false,
        },
        Member {
            id: 2,
            name: String::new(),
            peer_ur_ls: vec!["http://127.0.0.1:3".into()],
            client_ur_ls: Vec::new(),
            is_learner: true,
        },
    ]
}

/// A URL nobody listens on.
async fn dead_url() -> String {
    let (listener, url) = Listener::tcp().await;
    drop(listener);
    url
}

async fn leader(dir: &std::path::Path) -> support::Member {
    let (listener, url) = Listener::tcp().await;
    start_member(
        Spec {
            id: 1,
            dir,
            urls: &[(1, url)],
            voters: &[1],
            cluster_id: CLUSTER,
            dump: FixedDump(Arc::new(Vec::new())),
            catch_up_entries: 5000,
            members: members(),
        },
        listener,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_calls_reach_the_leader_and_its_errors_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let leader = leader(&dir.path().join("m1")).await;
    let cfg = PeerConfig::new(2, CLUSTER, dir.path().join("m2"));
    let follower = PeerTransport::new(cfg, Arc::new(FixedDump(Arc::new(Vec::new())))).unwrap();
    // The first URL is dead: the next one is tried.
    follower.add_peer(1, &[dead_url().await, leader.url.clone()]);

    assert_eq!(follower.lease_renew(1, 7).await, Ok(70));
    assert_eq!(
        follower.lease_renew(1, 404).await,
        Err(api::Error::LeaseNotFound)
    );
    let ttl = follower
        .lease_time_to_live(1, LeaseTimeToLiveRequest { id: 5, keys: true })
        .await
        .unwrap();
    assert_eq!((ttl.id, ttl.ttl, ttl.granted_ttl), (5, 42, 60));
    assert_eq!(ttl.keys, vec![b"k".to_vec()]);
    let refused = follower
        .lease_time_to_live(
            1,
            LeaseTimeToLiveRequest {
                id: 400,
                keys: false,
            },
        )
        .await;
    assert_eq!(
        refused,
        Err(api::Error::InvalidArgument("bad lease request".into()))
    );

    // No leader, an unknown leader, a leader nobody can reach.
    assert_eq!(follower.lease_renew(0, 7).await, Err(api::Error::NoLeader));
    assert_eq!(follower.lease_renew(8, 7).await, Err(api::Error::NoLeader));
    follower.update_peer(1, &[dead_url().await]);
    assert_eq!(
        follower.lease_renew(1, 7).await,
        Err(api::Error::TimeoutDueToConnectionLost)
    );
    follower.remove_peer(1);
    assert_eq!(follower.lease_renew(1, 7).await, Err(api::Error::NoLeader));
    follower.stop();
    leader.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_member_learns_the_cluster_from_any_reachable_peer() {
    let dir = tempfile::tempdir().unwrap();
    let leader = leader(&dir.path().join("m1")).await;
    let dead = dead_url().await;

    let (cluster_id, listed) = fetch_members(&[dead.clone(), leader.url.clone()], None)
        .await
        .unwrap();
    assert_eq!(cluster_id, CLUSTER);
    assert_eq!(listed, members());

    assert!(matches!(
        fetch_members(std::slice::from_ref(&dead), None).await,
        Err(Error::Connect { .. })
    ));
    assert!(matches!(fetch_members(&[], None).await, Err(Error::NoUrls)));
    assert!(matches!(
        fetch_members(&["ftp://x:1".to_string()], None).await,
        Err(Error::BadUrl { .. })
    ));
    leader.kill().await;
}
