//! Whole servers as processes in 3-member clusters under faults: the
//! scenarios of `testkit::faults` (kill -9 the leader or a follower during
//! writes, pause the leader in a minority, restart every member at once),
//! each checking the recorded client history for linearizability, that no
//! acknowledged write is lost, that no revision is reused and that every
//! member ends with the same HashKV. The same scenarios pass against the
//! real etcd (crates/testkit/tests/etcd_faults.rs).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use testkit::{ClusterSpec, faults, run_workload};

/// One cluster at a time: on a 2-core machine parallel clusters with
/// 500 ms election timeouts would mostly test the scheduler.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn ours() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_server"))
}

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
    bounded("kill_leader", || faults::kill_leader(ours()));
}

#[test]
fn kill_a_follower_during_writes() {
    bounded("kill_follower", || faults::kill_follower(ours()));
}

#[test]
fn pause_the_leader_during_writes() {
    bounded("pause_leader", || faults::pause_leader(ours()));
}

#[test]
fn restart_every_member_during_writes() {
    bounded("restart_all", || faults::restart_all(ours()));
}

/// A voter and a learner added after the log was compacted behind a
/// snapshot catch up from the streamed store dump.
#[test]
fn members_added_after_compaction_catch_up_by_snapshot() {
    bounded("add_member", || {
        let mut cluster = ClusterSpec::new(3)
            .flag("--snapshot-count=100")
            .flag("--experimental-snapshot-catchup-entries=10")
            .start(ours());
        let history = run_workload(&cluster.client_urls(), 4, 4, Duration::from_millis(1500));
        let voter = cluster.add_member(false);
        let learner = cluster.add_member(true);
        assert_eq!((voter, learner, cluster.size()), (3, 4, 5));
        assert!(cluster.status(learner).unwrap().is_learner);
        assert!(cluster.is_healthy(voter) && !cluster.is_healthy(learner));
        assert!(
            cluster
                .log(voter)
                .contains("restored the store from the leader's snapshot"),
            "the new voter did not catch up by snapshot:\n{}",
            cluster.log(voter)
        );
        faults::verify(&cluster, &history);
    });
}

/// `--heartbeat-interval` and `--election-timeout` are honoured: after the
/// leader is killed a new one is elected within about two election
/// timeouts. Raft randomises each follower's timeout in [1, 2) election
/// timeouts, and about one election in seven needs a second round (the two
/// survivors split their votes, or the first candidate asks a follower that
/// heard from the dead leader a moment later and still honours its lease),
/// so the test kills the leader nine times and bounds the median by two
/// election timeouts and every election by six.
#[test]
fn a_new_leader_within_two_election_timeouts_of_a_leader_kill() {
    bounded("election_time", || {
        let election = Duration::from_millis(500);
        let mut cluster = ClusterSpec::new(3).timing(50, 500).start(ours());
        let mut took = Vec::new();
        for _ in 0..9 {
            let old = cluster.wait_leader(Duration::from_secs(10));
            cluster.kill(old);
            let killed = Instant::now();
            let new = loop {
                if let Some(l) = cluster.leader() {
                    break l;
                }
                assert!(
                    killed.elapsed() < 10 * election,
                    "no leader after {:?}",
                    killed.elapsed()
                );
                std::thread::sleep(Duration::from_millis(10));
            };
            took.push(killed.elapsed());
            assert_ne!(new, old);
            cluster.restart(old);
        }
        eprintln!("new leaders elected {took:?} after the leader was killed");
        took.sort();
        assert!(took[4] < 2 * election, "elections took {took:?}");
        assert!(took[8] < 6 * election, "elections took {took:?}");
    });
}

/// `--experimental-initial-corrupt-check`: a member whose store was changed
/// behind raft's back refuses to start once it sees a peer with the same
/// compaction revision and another hash; an intact member starts.
#[test]
fn a_member_with_a_corrupted_store_refuses_to_start() {
    bounded("corrupt_check", || {
        let mut cluster = ClusterSpec::new(3)
            .flag("--experimental-initial-corrupt-check")
            .start(ours());
        let history = run_workload(&cluster.client_urls(), 3, 4, Duration::from_millis(500));
        let revision = cluster.wait_converged(Duration::from_secs(10));
        assert!(revision > 1);
        let victim = (cluster.wait_leader(Duration::from_secs(10)) + 1) % 3;
        let id = cluster.member_id(victim).unwrap();
        cluster.stop(victim);
        cluster.restart(victim);
        assert!(cluster.log(victim).contains("no corruption"));
        cluster.stop(victim);

        corrupt_values(&cluster.data_dir(victim).join("member/snap/db"));
        let out = std::process::Command::new(ours())
            .args(cluster.spec(victim).args(&cluster.data_dir(victim)))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "a corrupted member started:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("{id:016x} found data inconsistency with peers")),
            "{stderr}"
        );
        faults::verify(&cluster, &history);
    });
}

/// What etcd's e2e corruptHash does to a bolt file, on our redb file: every
/// stored KeyValue in the `key` table gets its value's first byte changed,
/// revisions untouched, through redb so that the file itself stays valid.
fn corrupt_values(db: &Path) {
    use prost::Message;
    use redb::{ReadableTable, TableDefinition};
    const KV: TableDefinition<&[u8], &[u8]> = TableDefinition::new("key");
    let db = redb::Database::open(db).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(KV).unwrap();
        let rows: Vec<(Vec<u8>, Vec<u8>)> = table
            .iter()
            .unwrap()
            .map(|row| {
                let (k, v) = row.unwrap();
                (k.value().to_vec(), v.value().to_vec())
            })
            .collect();
        assert!(!rows.is_empty());
        for (key, value) in rows {
            let mut kv = api::pb::mvccpb::KeyValue::decode(value.as_slice()).unwrap();
            if let Some(b) = kv.value.first_mut() {
                *b = b.wrapping_add(1);
            }
            table
                .insert(key.as_slice(), kv.encode_to_vec().as_slice())
                .unwrap();
        }
    }
    txn.commit().unwrap();
}
