//! Fault scenarios on a 3-member cluster under a concurrent workload, the
//! same for the real etcd and for ours (the binary is a parameter). Each
//! panics, with the evidence, unless afterwards: every acknowledged write
//! is in the store at its revision, the history is linearizable, no
//! revision was acknowledged twice or out of real-time order, and every
//! member has the same HashKV at the same revision.

use std::path::Path;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::history::{History, Reply};
use crate::linearizability;
use crate::revision::check_revisions;
use crate::workload::{Workload, lost_writes};

const CLIENTS: usize = 6;
const KEYS: usize = 4;
/// How long anything a fault disturbs may take to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(20);
/// Traffic before a fault and after recovery.
const STEADY: Duration = Duration::from_millis(1000);
/// How long a fault lasts before it is healed.
const OUTAGE: Duration = Duration::from_millis(1500);

/// Kills the leader with SIGKILL during writes; the others elect a new
/// one; the old leader restarts on its data and rejoins.
pub fn kill_leader(binary: &Path) {
    scenario(binary, |cluster| {
        let leader = cluster.wait_leader(SETTLE_LIMIT);
        cluster.kill(leader);
        let successor = cluster.wait_leader(SETTLE_LIMIT);
        assert_ne!(successor, leader, "a killed member cannot stay leader");
        std::thread::sleep(OUTAGE);
        cluster.restart(leader);
    });
}

/// Kills a follower with SIGKILL during writes; the other two go on; it
/// restarts on its data and catches up.
pub fn kill_follower(binary: &Path) {
    scenario(binary, |cluster| {
        let leader = cluster.wait_leader(SETTLE_LIMIT);
        let follower = (leader + 1) % cluster.size();
        cluster.kill(follower);
        std::thread::sleep(OUTAGE);
        cluster.restart(follower);
    });
}

/// Pauses the leader (SIGSTOP), leaving it alone in a minority of one that
/// can neither reach nor answer the others; they elect a new leader. When
/// it resumes (SIGCONT) it must step down and follow.
pub fn pause_leader(binary: &Path) {
    scenario(binary, |cluster| {
        let old = cluster.wait_leader(SETTLE_LIMIT);
        cluster.pause(old);
        let new = cluster.wait_leader(SETTLE_LIMIT);
        assert_ne!(new, old, "a paused member cannot be found leader");
        std::thread::sleep(OUTAGE);
        cluster.resume(old);
        let stepped_down = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            let id = cluster.member_id(old);
            cluster
                .status(old)
                .is_some_and(|s| s.leader != 0 && Some(s.leader) != id)
        });
        assert!(
            stepped_down,
            "the resumed old leader never followed another member\n{}",
            cluster.log_tails()
        );
    });
}

/// Kills every member with SIGKILL during writes, then restarts them all
/// at once on their data.
pub fn restart_all(binary: &Path) {
    scenario(binary, |cluster| {
        cluster.kill_all();
        std::thread::sleep(Duration::from_millis(300));
        cluster.restart_all();
    });
}

/// Starts a 3-member cluster and a workload, inflicts `fault` once the
/// workload runs, lets traffic continue after the cluster is healthy
/// again, then checks everything.
fn scenario(binary: &Path, fault: impl FnOnce(&mut Cluster)) {
    let mut cluster = Cluster::start(binary, 3);
    let workload = Workload::start(&cluster.client_urls(), CLIENTS, KEYS);
    std::thread::sleep(STEADY);
    fault(&mut cluster);
    cluster.wait_healthy(SETTLE_LIMIT);
    let healed = workload.now();
    std::thread::sleep(STEADY);
    let history = workload.finish();
    let after = history
        .ops
        .iter()
        .filter(|op| op.call > healed && matches!(op.reply, Reply::Written { .. }))
        .count();
    assert!(
        after > 0,
        "no write was acknowledged after the cluster healed: {}\n{}",
        history.summary(),
        cluster.log_tails()
    );
    verify(&cluster, &history);
}

/// The checks every scenario ends with, for a quiet cluster whose running
/// members all take part: panics naming what failed.
pub fn verify(cluster: &Cluster, history: &History) {
    let summary = history.summary();
    eprintln!("verifying {summary}");
    if let Err(e) = check_revisions(history) {
        panic!("{e}\n{summary}");
    }
    if let Err(v) = linearizability::check(history) {
        panic!("{v}\n{summary}");
    }
    let leader = cluster.wait_leader(SETTLE_LIMIT);
    let lost = lost_writes(&cluster.client_url(leader), history);
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, e.g.:\n{}\n{summary}",
        lost.len(),
        lost[..lost.len().min(10)].join("\n")
    );
    let revision = cluster.wait_converged(SETTLE_LIMIT);
    // Learners serve no HashKV; wait_converged saw them at the revision.
    let hashes: Vec<u32> = (0..cluster.size())
        .filter(|&i| cluster.is_running(i) && !cluster.is_learner(i))
        .map(|i| cluster.hash_kv(i, revision))
        .collect();
    assert!(
        hashes.windows(2).all(|w| w[0] == w[1]),
        "members' HashKV at revision {revision} differ: {hashes:?}\n{summary}"
    );
}
