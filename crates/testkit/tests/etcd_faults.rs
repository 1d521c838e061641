//! The fault scenarios against the real etcd 3.4: they prove the cluster
//! harness, the workload and the checkers on a server known to be right,
//! before they judge ours.

#![allow(clippy::unwrap_used)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use testkit::{
    Action, Cluster, ClusterSpec, History, Reply, check_revisions, etcd_binary, faults,
    linearizability, lost_writes, run_workload,
};

/// One cluster at a time: on a small machine, four 3-member clusters with
/// 500 ms election timeouts would mostly test the scheduler.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn bounded(name: &str, scenario: impl FnOnce()) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    scenario();
    let took = started.elapsed();
    eprintln!("{name} took {took:?}");
    assert!(took < Duration::from_secs(60), "{name} took {took:?}");
}

#[test]
fn kill_the_leader_during_writes() {
    bounded("kill_leader", || faults::kill_leader(&etcd_binary()));
}

#[test]
fn kill_a_follower_during_writes() {
    bounded("kill_follower", || faults::kill_follower(&etcd_binary()));
}

#[test]
fn pause_the_leader_during_writes() {
    bounded("pause_leader", || faults::pause_leader(&etcd_binary()));
}

#[test]
fn restart_every_member_during_writes() {
    bounded("restart_all", || faults::restart_all(&etcd_binary()));
}

#[test]
fn a_member_added_later_and_a_learner_catch_up() {
    bounded("add_member", || {
        let mut cluster = ClusterSpec::new(3)
            .flag("--snapshot-count=100")
            .start(&etcd_binary());
        let history = run_workload(&cluster.client_urls(), 4, 4, Duration::from_millis(800));
        let voter = cluster.add_member(false);
        let learner = cluster.add_member(true);
        assert_eq!((voter, learner, cluster.size()), (3, 4, 5));
        assert!(cluster.status(learner).unwrap().is_learner);
        assert!(cluster.is_healthy(voter) && !cluster.is_healthy(learner));
        faults::verify(&cluster, &history);
        let revision = cluster.wait_converged(Duration::from_secs(10));
        let learner_revision = cluster.status(learner).unwrap().header.unwrap().revision;
        assert_eq!(learner_revision, revision, "the learner caught up");
    });
}

#[test]
fn stop_and_restart_keep_member_ids_and_data() {
    bounded("stop_restart", || {
        let mut cluster = Cluster::start(&etcd_binary(), 3);
        let ids: Vec<u64> = (0..3).map(|i| cluster.member_id(i).unwrap()).collect();
        let history = run_workload(&cluster.client_urls(), 3, 2, Duration::from_millis(500));
        let log_before = cluster.log(2);
        cluster.stop(2);
        assert!(!cluster.is_running(2) && cluster.status(2).is_none());
        cluster.restart(2);
        assert_eq!(cluster.member_id(2), Some(ids[2]));
        let log_after = cluster.log(2);
        assert!(log_after.starts_with(&log_before) && log_after.len() > log_before.len());
        faults::verify(&cluster, &history);
    });
}

/// A stale read: for some key, a put A acknowledged before a put B was
/// invoked, and a read invoked after B was acknowledged, made to return
/// A's value. Returns the tampered history.
fn with_stale_read(history: &History) -> History {
    let mut tampered = history.clone();
    let puts: Vec<_> = history.acknowledged_puts().collect();
    for (a, a_value, _) in &puts {
        let Some((b, _, _)) = puts
            .iter()
            .find(|(b, _, _)| b.key == a.key && b.call > a.ret)
        else {
            continue;
        };
        let read = tampered
            .ops
            .iter_mut()
            .find(|r| r.key == a.key && r.call > b.ret && matches!(r.reply, Reply::Read { .. }));
        if let Some(read) = read {
            read.reply = Reply::Read {
                value: Some(a_value.to_string()),
            };
            return tampered;
        }
    }
    panic!(
        "no put, later put and later read on one key: {}",
        history.summary()
    );
}

#[test]
fn the_checks_catch_tampered_etcd_histories() {
    bounded("tampered", || {
        let cluster = Cluster::start(&etcd_binary(), 3);
        let history = run_workload(&cluster.client_urls(), 4, 2, Duration::from_millis(1500));
        faults::verify(&cluster, &history);

        let stale = with_stale_read(&history);
        let violation = linearizability::check(&stale).unwrap_err();
        assert!(!violation.undecided, "{violation}");

        let first_put = history
            .ops
            .iter()
            .position(|op| matches!(op.reply, Reply::Written { .. }))
            .unwrap();
        let mut lost = history.clone();
        lost.ops[first_put].action = Action::Put("overwritten-by-nobody".to_string());
        assert_eq!(lost_writes(&cluster.client_url(0), &lost).len(), 1);

        let mut reused = history.clone();
        let (indices, replies): (Vec<_>, Vec<_>) = reused
            .ops
            .iter()
            .enumerate()
            .filter(|(_, op)| matches!(op.reply, Reply::Written { .. }))
            .map(|(i, op)| (i, op.reply.clone()))
            .take(2)
            .unzip();
        reused.ops[indices[1]].reply = replies[0].clone();
        let error = check_revisions(&reused).unwrap_err();
        assert!(error.contains("acknowledged twice"), "{error}");
    });
}
