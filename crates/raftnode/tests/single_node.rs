#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::fs;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use raftnode::{Error, NoPeers, RaftNode};
use support::{config, spawn_applier, wait_until};

const WAIT: Duration = Duration::from_secs(10);

fn payload(i: usize) -> Vec<u8> {
    format!("proposal-{i:05}").into_bytes()
}

async fn propose_all(node: &RaftNode, range: std::ops::Range<usize>) {
    let results = join_all(range.map(|i| node.propose(payload(i)))).await;
    for result in results {
        result.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_becomes_leader_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 1, &[1]);
    // An election timeout far longer than the test: leadership can only come
    // from the campaign at start.
    cfg.tick_interval = Duration::from_secs(60);
    let (node, applies) = RaftNode::start(cfg.clone(), Arc::new(NoPeers)).unwrap();
    let _applied = spawn_applier(node.clone(), applies);
    let leader = node.leader_changes();
    assert!(wait_until(Duration::from_secs(2), || leader.borrow().leader_id == 1).await);
    assert!(node.status().is_leader());
    // As with etcd: bootstrap at term 1, first election at term 2.
    assert_eq!(node.status().term, 2);
    node.propose(b"first".to_vec()).await.unwrap();
    node.stop().await;

    let (node, applies) = RaftNode::start(cfg, Arc::new(NoPeers)).unwrap();
    let _applied = spawn_applier(node.clone(), applies);
    assert!(wait_until(Duration::from_secs(2), || node.status().is_leader()).await);
    assert!(node.status().term >= 2);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_proposals_apply_in_order_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (node, applies) = RaftNode::start(config(dir.path(), 1, &[1]), Arc::new(NoPeers)).unwrap();
    let applied = spawn_applier(node.clone(), applies);
    propose_all(&node, 0..500).await;
    let data = applied.wait_for_data(500, WAIT).await;
    assert_eq!(data.len(), 500);
    let unique: HashSet<_> = data.iter().collect();
    assert_eq!(unique.len(), 500, "an entry came out twice");
    assert_eq!(
        unique,
        (0..500).map(payload).collect::<Vec<_>>().iter().collect()
    );

    let entries = applied.entries();
    assert_eq!(applied.violations(), Vec::<String>::new());
    // Index 1 is the bootstrap conf change raft applies itself.
    assert_eq!(entries[0].index, 2);
    let last = entries.last().unwrap().index;
    assert!(wait_until(WAIT, || node.status().applied_index == last).await);
    let status = node.status();
    assert_eq!((status.commit_index, status.last_index), (last, last));
    node.stop().await;
    assert!(matches!(
        node.propose(b"late".to_vec()).await,
        Err(Error::Stopped)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_covers_many_proposals_with_one_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let (node, applies) = RaftNode::start(config(dir.path(), 1, &[1]), Arc::new(NoPeers)).unwrap();
    let applied = spawn_applier(node.clone(), applies);
    node.propose(b"warm-up".to_vec()).await.unwrap();
    applied.wait_for_data(1, WAIT).await;
    let before = node.metrics();

    const N: usize = 2000;
    propose_all(&node, 0..N).await;
    assert_eq!(applied.wait_for_data(N + 1, WAIT).await.len(), N + 1);
    let after = node.metrics();
    let fsyncs = after.wal_fsyncs - before.wal_fsyncs;
    let rounds = after.ready_rounds - before.ready_rounds;
    assert_eq!(
        after.proposals_received - before.proposals_received,
        N as u64
    );
    assert!(fsyncs >= 1);
    assert!(
        fsyncs * 10 <= N as u64,
        "{N} proposals took {fsyncs} fsyncs in {rounds} ready rounds"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_index_batches_concurrent_callers() {
    let dir = tempfile::tempdir().unwrap();
    let (node, applies) = RaftNode::start(config(dir.path(), 1, &[1]), Arc::new(NoPeers)).unwrap();
    let applied = spawn_applier(node.clone(), applies);
    propose_all(&node, 0..10).await;
    applied.wait_for_data(10, WAIT).await;
    let commit = node.status().commit_index;
    let before = node.metrics().read_index_rounds;

    let reads = join_all((0..300).map(|_| node.read_index())).await;
    for read in reads {
        assert!(read.unwrap() >= commit);
    }
    let rounds = node.metrics().read_index_rounds - before;
    assert!((1..=30).contains(&rounds), "300 reads took {rounds} rounds");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_replays_the_log_and_keeps_the_hard_state() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 1, &[1]);
    let (node, applies) = RaftNode::start(cfg.clone(), Arc::new(NoPeers)).unwrap();
    let applied = spawn_applier(node.clone(), applies);
    propose_all(&node, 0..50).await;
    applied.wait_for_data(50, WAIT).await;
    let first_run = applied.entries();
    let before = node.status();
    node.stop().await;

    let (node, applies) = RaftNode::start(cfg, Arc::new(NoPeers)).unwrap();
    let replayed = spawn_applier(node.clone(), applies);
    assert_eq!(replayed.wait_for_data(50, WAIT).await.len(), 50);
    assert!(replayed.snapshots().is_empty());
    assert_eq!(replayed.violations(), Vec::<String>::new());
    let again = replayed.entries();
    assert_eq!(&again[..first_run.len()], &first_run[..], "replay differs");
    // The status is published by the ready loop; give it a moment.
    assert!(
        wait_until(WAIT, || node.status().term > before.term).await,
        "term went from {} to {}",
        before.term,
        node.status().term
    );
    let after = node.status();
    assert!(after.commit_index >= before.commit_index);

    node.propose(b"after restart".to_vec()).await.unwrap();
    let data = replayed.wait_for_data(51, WAIT).await;
    assert_eq!(data.last().unwrap(), b"after restart");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_compacts_deletes_segments_and_restart_resumes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 1, &[1]);
    cfg.wal_segment_size = 4096;
    cfg.snapshot_catch_up_entries = 10;
    fs::create_dir_all(dir.path().join("snap")).unwrap();
    fs::write(dir.path().join("snap/db"), b"owned by mvcc").unwrap();

    let (node, applies) = RaftNode::start(cfg.clone(), Arc::new(NoPeers)).unwrap();
    let applied = spawn_applier(node.clone(), applies);
    let big = |i: usize| [payload(i), vec![b'x'; 100]].concat();
    // Batches applied one after another, so that they land in separate WAL
    // writes and the log spans many segments.
    for chunk in 0..30 {
        let results = join_all((chunk * 10..chunk * 10 + 10).map(|i| node.propose(big(i)))).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(
            applied.wait_for_data(chunk * 10 + 10, WAIT).await.len(),
            chunk * 10 + 10
        );
    }
    let last = applied.entries().last().unwrap().index;
    assert!(wait_until(WAIT, || node.status().applied_index == last).await);

    let wal_dir = dir.path().join("wal");
    let segments_before = fs::read_dir(&wal_dir).unwrap().count();
    assert!(segments_before > 5, "only {segments_before} segments");
    assert!(matches!(
        node.create_snapshot(last + 1, Vec::new()).await,
        Err(Error::SnapshotBeyondApplied { .. })
    ));
    node.create_snapshot(last, format!("state@{last}").into_bytes())
        .await
        .unwrap();
    assert!(matches!(
        node.create_snapshot(last, Vec::new()).await,
        Err(Error::SnapshotOutOfDate { .. })
    ));
    let segments_after = fs::read_dir(&wal_dir).unwrap().count();
    assert!(
        segments_after < segments_before / 2,
        "{segments_before} segments before the snapshot, {segments_after} after"
    );
    assert_eq!(node.status().snapshot_index, last);
    let snap_name = format!("{:016x}-{last:016x}.snap", node.status().term);
    assert!(dir.path().join("snap").join(&snap_name).exists());

    node.propose(b"after snapshot".to_vec()).await.unwrap();
    applied.wait_for_data(301, WAIT).await;
    node.stop().await;

    let (node, applies) = RaftNode::start(cfg, Arc::new(NoPeers)).unwrap();
    let replayed = spawn_applier(node.clone(), applies);
    assert_eq!(
        replayed.wait_for_data(1, WAIT).await,
        vec![b"after snapshot".to_vec()]
    );
    let snapshots = replayed.snapshots();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].get_metadata().index, last);
    assert_eq!(
        snapshots[0].data.as_ref(),
        format!("state@{last}").as_bytes()
    );
    assert_eq!(snapshots[0].get_metadata().get_conf_state().voters, vec![1]);
    assert_eq!(replayed.violations(), Vec::<String>::new());
    assert_eq!(replayed.entries()[0].index, last + 1);
    assert_eq!(
        fs::read(dir.path().join("snap/db")).unwrap(),
        b"owned by mvcc"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_refuses_foreign_or_damaged_state() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 1, &[1]);
    let (node, applies) = RaftNode::start(cfg.clone(), Arc::new(NoPeers)).unwrap();
    let applied = spawn_applier(node.clone(), applies);
    propose_all(&node, 0..5).await;
    applied.wait_for_data(5, WAIT).await;
    let last = applied.entries().last().unwrap().index;
    assert!(wait_until(WAIT, || node.status().applied_index == last).await);
    node.create_snapshot(last, b"state".to_vec()).await.unwrap();
    node.stop().await;

    let mut other_cluster = cfg.clone();
    other_cluster.cluster_id = 0xdead;
    assert!(matches!(
        RaftNode::start(other_cluster, Arc::new(NoPeers)),
        Err(Error::ClusterIdMismatch {
            expected: 0xdead,
            found: 0xc1
        })
    ));
    let mut other_member = cfg.clone();
    other_member.id = 2;
    assert!(matches!(
        RaftNode::start(other_member, Arc::new(NoPeers)),
        Err(Error::NodeIdMismatch { .. })
    ));

    let snap = fs::read_dir(dir.path().join("snap"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "snap"))
        .unwrap();
    let mut bytes = fs::read(&snap).unwrap();
    let at = bytes.len() - 2;
    bytes[at] ^= 0x10;
    fs::write(&snap, bytes).unwrap();
    match RaftNode::start(cfg, Arc::new(NoPeers)) {
        Err(Error::CorruptSnapshot { path, .. }) => assert_eq!(path, snap),
        other => panic!(
            "expected a corrupt snapshot error, got {:?}",
            other.map(|_| ())
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_leader_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // One of three voters with nobody to reach can never elect a leader.
    let (node, applies) =
        RaftNode::start(config(dir.path(), 1, &[1, 2, 3]), Arc::new(NoPeers)).unwrap();
    let _applied = spawn_applier(node.clone(), applies);
    assert!(matches!(
        node.propose(b"x".to_vec()).await,
        Err(Error::NoLeader)
    ));
    assert!(matches!(node.read_index().await, Err(Error::NoLeader)));
    assert_eq!(node.metrics().proposals_dropped, 1);
    assert_eq!(node.status().leader_id, 0);
    node.stop().await;
}

#[test]
fn handle_is_shareable_across_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<RaftNode>();
}
