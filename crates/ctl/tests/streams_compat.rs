//! ctl against the real etcdctl 3.4 for the commands that hold a stream or
//! a session: `watch`, `lease`, `elect` and `lock`. Each scenario runs once
//! with etcdctl and once with ctl, each on its own fresh etcd with the same
//! ids, with the same events driven by the real etcdctl at the same points;
//! every step's stdout, stderr and exit (a signal's death included) must
//! match once lease ids, which etcd takes from the clock, are masked.

#![allow(clippy::unwrap_used)]

mod live;

use live::{Run, compare_runs, lease_in, settle, wait_watchers};
use testkit::{Step, etcdctl_binary, free_port};

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];

fn lease_scenario(r: &mut Run, unreachable: &str) {
    for line in [
        "lease",
        "lease --help",
        "lease grant --help",
        "lease revoke -h",
        "lease timetolive --help",
        "lease list --help",
        "lease keep-alive --help",
        "lease bogus",
        "lease grant",
        "lease grant x",
        "lease grant 1 2",
        "lease revoke",
        "lease revoke zz",
        "lease timetolive",
        "lease timetolive zz",
        "lease keep-alive",
        "lease keep-alive zz",
        "lease timetolive 1234 --keys",
    ] {
        r.words(line);
    }
    let granted = r.words("lease grant 100");
    let id = format!("{:x}", lease_in(&granted.stdout));
    r.words(&format!("put k1 v1 --lease={id}"));
    r.words("get k1 -w json");
    r.words("put k1 v2 --ignore-lease --prev-kv -w fields");
    for f in FORMATS {
        r.words(&format!("lease timetolive {id} -w {f}"));
        r.words(&format!("lease timetolive {id} --keys -w {f}"));
        r.words(&format!("lease list -w {f}"));
        r.words(&format!("lease keep-alive --once {id} -w {f}"));
        r.words(&format!("lease timetolive 1234 -w {f}"));
        let doomed = r.words("lease grant 50");
        let doomed = lease_in(&doomed.stdout);
        r.words(&format!("lease revoke {doomed:x} -w {f}"));
    }
    for f in ["json", "fields", "protobuf", "table"] {
        r.words(&format!("lease grant 100 -w {f}"));
    }
    for line in [
        "lease revoke 1234",
        "lease keep-alive --once 1234",
        "lease keep-alive 1234",
        "lease keep-alive -w json 1234",
        "put k2 v2 --lease=1234",
    ] {
        r.words(line);
    }
    r.words(&format!("lease revoke {id}"));
    r.words(&format!("lease timetolive {id} --keys"));
    r.words("get k1");
    r.step(Step::words("lease grant 10").env("ETCDCTL_FOO", "1"));
    let dead = format!("--endpoints={unreachable}");
    r.step(
        Step::words("--command-timeout=1s lease grant 10")
            .with_flags(&[dead])
            .no_endpoint(),
    );

    let long = lease_in(&r.words("lease grant 30").stdout);
    let args = ["lease", "keep-alive", &format!("{long:x}")];
    let held = r.live(&args);
    held.wait_lines(1);
    r.record("keep-alive, then SIGINT", held.stop("INT"));
    let held = r.live(&[&args[..], &["-w", "json"]].concat());
    held.wait_lines(1);
    r.record("keep-alive -w json, then SIGTERM", held.stop("TERM"));
    let table = r.live(&[&args[..], &["-w", "table"]].concat());
    r.record("keep-alive -w table", table.finish());
    let short = lease_in(&r.words("lease grant 3").stdout);
    let held = r.live(&["lease", "keep-alive", &format!("{short:x}")]);
    held.wait_lines(1);
    r.drive_words(&format!("lease revoke {short:x}"));
    r.record("keep-alive of a lease revoked meanwhile", held.finish());
}

/// With nothing to answer, `lease keep-alive` gives the lease up once the
/// first answer is overdue (the dial timeout plus a second).
#[test]
fn keep_alive_without_a_server_matches_etcdctl() {
    let dead = format!("127.0.0.1:{}", free_port());
    let steps = [Step::words("--dial-timeout=1s lease keep-alive 1234")];
    testkit::compare_each(&etcdctl_binary(), &live::ctl_binary(), &dead, &steps);
}

#[test]
fn leases_match_etcdctl() {
    let unreachable = format!("127.0.0.1:{}", free_port());
    compare_runs(|r| lease_scenario(r, &unreachable));
}

fn watch_scenario(r: &mut Run) {
    for line in [
        "watch",
        "watch a b --prefix",
        "watch a --",
        "watch -- echo hi",
        "watch --rev=x a",
        "watch --help",
        "watch b a",
        "watch -i",
    ] {
        r.words(line);
    }
    r.step(Step::words("watch foo").env("ETCDCTL_WATCH_KEY", "foo"));
    r.step(Step::words("watch foo").env("ETCDCTL_WATCH_RANGE_END", "z"));
    r.step(Step::words("watch foo -- echo 1").env("ETCDCTL_WATCH_KEY", "foo"));
    r.step(
        Step::words("watch -i")
            .stdin(b"bogus\n\nwatch\nwatch a b --prefix\nwatch --prefix\nwatch --bogus\n"),
    );
    r.step(Step::words("watch -i").stdin(b"watch foo --\n"));
    r.step(Step::words("watch -i").stdin(b"watch foo"));

    r.drive_words("put w0 seed");
    let mut running = Vec::new();
    for f in ["simple", "json", "fields", "protobuf"] {
        running.push((
            format!("watch -w {f}"),
            r.live(&["watch", "w", "--prefix", "--prev-kv", "-w", f]),
        ));
    }
    running.push((
        "watch range".into(),
        r.live(&["watch", "w1", "w3", "--hex"]),
    ));
    running.push((
        "watch from rev 1".into(),
        r.live(&["watch", "w0", "--rev=1"]),
    ));
    let show =
        "echo \"$ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE $ETCD_WATCH_REVISION\"";
    running.push((
        "watch with a command".into(),
        r.live(&["watch", "w1", "--", "sh", "-c", show]),
    ));
    running.push((
        "watch with keys from the environment".into(),
        r.live_env(
            &["watch", "--prev-kv"],
            &[
                ("ETCDCTL_WATCH_KEY", "w1"),
                ("ETCDCTL_WATCH_RANGE_END", "w2"),
            ],
        ),
    ));
    let failing = r.live(&["watch", "w2", "--", "sh", "-c", "exit 3"]);
    let table = r.live(&["watch", "w", "--prefix", "-w", "table"]);
    let mut interactive = r.live(&["watch", "-i", "-w", "json"]);
    interactive.send("watch w --prefix\nprogress\nnonsense\n");
    interactive.wait_lines(2);
    wait_watchers(&r.endpoint, 11);

    r.drive_words("put w1 a");
    r.drive(Step::new(&["put", "w1", "b c"]));
    r.drive_words("del w1");
    r.drive(Step::words("txn").stdin(b"\nput w2 x\nput w3 y\n\n\n"));
    r.record("watch running a failing command", failing.finish());
    r.record("watch -w table", table.finish());
    let mut all: Vec<&live::Live> = running.iter().map(|(_, l)| l).collect();
    all.push(&interactive);
    settle(&all);
    for (label, live) in running {
        r.record(&label, live.stop("INT"));
    }
    interactive.close_stdin();
    r.record("interactive watch, stdin closed", interactive.finish());

    r.drive_words("compaction 5");
    for f in FORMATS {
        r.words(&format!("watch w --prefix --rev=2 -w {f}"));
    }
}

#[test]
fn watches_match_etcdctl() {
    compare_runs(watch_scenario);
}

fn elect_scenario(r: &mut Run) {
    for line in [
        "elect",
        "elect a",
        "elect -l a b",
        "elect a b c",
        "elect --help",
    ] {
        r.words(line);
    }
    let observer = r.live(&["elect", "-l", "e1", "-w", "json"]);
    wait_watchers(&r.endpoint, 1);
    let first = r.live(&["elect", "e1", "p1"]);
    first.wait_lines(2);
    observer.wait_lines(1);
    let second = r.live(&["elect", "e1", "p2", "-w", "fields"]);
    wait_watchers(&r.endpoint, 2);
    r.record("leader, then SIGINT", first.stop("INT"));
    second.wait_lines(12);
    observer.wait_lines(2);
    let third = r.live(&["elect", "e1", "p3"]);
    wait_watchers(&r.endpoint, 2);
    r.record("waiting candidate, then SIGINT", third.stop("INT"));
    // Older than any later candidate: the observer finds it by reading.
    r.drive_words("put e1/manual v0");
    r.record("second leader, then SIGTERM", second.stop("TERM"));
    observer.wait_lines(3);
    r.drive_words("put e1/manual v1");
    observer.wait_lines(4);
    r.record("observer, then SIGINT", observer.stop("INT"));
    let table = r.live(&["elect", "e2", "p", "-w", "table"]);
    r.record("elect -w table", table.finish());
}

#[test]
fn elections_match_etcdctl() {
    compare_runs(elect_scenario);
}

fn lock_scenario(r: &mut Run) {
    for line in ["lock", "lock --ttl=x a", "lock --help"] {
        r.words(line);
    }
    let holder = r.live(&["lock", "l1"]);
    holder.wait_lines(2);
    let next = r.live(&["lock", "l1", "-w", "json"]);
    wait_watchers(&r.endpoint, 1);
    let last = r.live(&["lock", "l1"]);
    wait_watchers(&r.endpoint, 2);
    r.record("waiting for the lock, then SIGTERM", last.stop("TERM"));
    wait_watchers(&r.endpoint, 1);
    r.record("holding the lock, then SIGINT", holder.stop("INT"));
    next.wait_lines(1);
    r.record("next holder, then SIGINT", next.stop("INT"));
    let show = "echo \"$ETCD_LOCK_KEY $ETCD_LOCK_REV\"; exit 3";
    r.step(Step::new(&["lock", "l2", "--", "sh", "-c", show]));
    r.step(Step::new(&["lock", "l2", "--", "true"]));
    r.step(Step::new(&["lock", "l2", "--", "/nonexistent/cmd"]));
    r.step(Step::new(&["lock", "l2", "--", "no-such-command-anywhere"]));
    r.step(Step::new(&["lock", "l3", "-w", "table"]));
    let expiring = r.live(&["lock", "--ttl=2", "l4", "-w", "fields"]);
    expiring.wait_lines(12);
    let lease = lease_in(&r.drive_words("get l4 --prefix --keys-only").stdout);
    r.drive_words(&format!("lease revoke {lease:x}"));
    r.record(
        "holding the lock when its lease is revoked",
        expiring.finish(),
    );
}

#[test]
fn locks_match_etcdctl() {
    compare_runs(lock_scenario);
}
