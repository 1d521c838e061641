//! `make-mirror` against real etcd 3.4 servers: etcd's own e2e scenarios
//! (TestCtlV3MakeMirror, ...ModifyDestPrefix, ...NoDestPrefix) run with
//! ctl, then ctl and the real etcdctl mirror the same source side by side
//! into destinations of their own and must leave them byte-identical
//! (keys, values, versions and revisions, so one txn per source revision
//! too), print the same count after 30 seconds and die the same way.

#![allow(clippy::unwrap_used)]

// Shared with streams_compat, which uses the parts this file does not.
#[allow(dead_code)]
mod live;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use live::{Live, ctl_binary, etcd, wait_watchers};
use testkit::{Member, Outcome, Pki, Spec, Step, etcd_binary, etcdctl_binary, run};

const PATIENCE: Duration = Duration::from_secs(20);

/// Makes something happen with the real etcdctl.
fn drive(endpoint: &str, step: Step) {
    let out = run(&etcdctl_binary(), endpoint, &step);
    assert_eq!(
        out.code,
        Some(0),
        "driving {:?}: {}",
        step.args,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn drive_words(endpoint: &str, line: &str) {
    drive(endpoint, Step::words(line));
}

/// What `get <args>` prints on `endpoint` (with its TLS `flags`). Run
/// here rather than by testkit's `run`, which waits for the exit before
/// reading and so stalls on outputs larger than a pipe holds.
fn get(endpoint: &str, flags: &[String], args: &[&str]) -> String {
    let out = Command::new(etcdctl_binary())
        .env_clear()
        .arg(format!("--endpoints={endpoint}"))
        .args(flags)
        .arg("get")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Polls until `probe` returns what `want` accepts, or fails with the last
/// value.
fn wait_for(what: &str, mut probe: impl FnMut() -> String, want: impl Fn(&str) -> bool) {
    let started = Instant::now();
    loop {
        let got = probe();
        if want(&got) {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "timed out waiting for {what}; last saw:\n{got}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// etcd's testMirrorCommand with ctl: start the mirror, put `source` keys,
/// then the destination must hold `dest` under `dest_prefix`.
fn e2e_scenario(flags: &[&str], source: &[(&str, &str)], dest: &[(&str, &str)], dest_prefix: &str) {
    let src = etcd();
    let dst = etcd();
    let target = format!("localhost:{}", dst.spec().client_port);
    let args = [&["make-mirror"], flags, &[target.as_str()]].concat();
    let mirror = Live::start(&ctl_binary(), &src.endpoint(), &args, &[]);
    wait_watchers(&src.endpoint(), 1);
    for (k, v) in source {
        drive_words(&src.endpoint(), &format!("put {k} {v}"));
    }
    let want: String = dest.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect();
    wait_for(
        "the destination",
        || get(&dst.endpoint(), &[], &[dest_prefix, "--prefix"]),
        |got| got == want,
    );
    let out = mirror.stop("INT");
    assert_eq!(out.code, None, "killed by SIGINT");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
}

#[test]
fn e2e_make_mirror() {
    e2e_scenario(
        &[],
        &[("key1", "val1"), ("key2", "val2"), ("key3", "val3")],
        &[("key1", "val1"), ("key2", "val2"), ("key3", "val3")],
        "key",
    );
}

#[test]
fn e2e_make_mirror_modify_dest_prefix() {
    e2e_scenario(
        &["--prefix", "o_", "--dest-prefix", "d_"],
        &[("o_key1", "val1"), ("o_key2", "val2"), ("o_key3", "val3")],
        &[("d_key1", "val1"), ("d_key2", "val2"), ("d_key3", "val3")],
        "d_",
    );
}

#[test]
fn e2e_make_mirror_no_dest_prefix() {
    e2e_scenario(
        &["--prefix", "o_", "--no-dest-prefix"],
        &[("o_key1", "val1"), ("o_key2", "val2"), ("o_key3", "val3")],
        &[("key1", "val1"), ("key2", "val2"), ("key3", "val3")],
        "key",
    );
}

#[test]
fn argument_and_flag_errors_match_etcdctl() {
    let src = etcd();
    let dest = format!("127.0.0.1:{}", testkit::free_port());
    let steps: Vec<Step> = [
        "make-mirror --help".to_string(),
        "make-mirror".to_string(),
        format!("make-mirror {dest} {dest}"),
        format!("make-mirror --dest-prefix=x --no-dest-prefix {dest}"),
        format!("make-mirror --dest-cert=/nonexistent {dest}"),
        format!("make-mirror --dest-cert=/nonexistent --dest-key=/nonexistent {dest}"),
        format!("make-mirror --dest-cacert=/nonexistent {dest}"),
        format!("make-mirror --dest-insecure-transport=maybe {dest}"),
        format!("make-mirror -w bogus {dest}"),
    ]
    .iter()
    .map(|l| Step::words(l))
    .collect();
    testkit::compare_each(&etcdctl_binary(), &ctl_binary(), &src.endpoint(), &steps);
}

/// One way of mirroring, done once by each CLI into its own destination.
struct Pair {
    label: &'static str,
    flags: Vec<String>,
    /// The destination key the last source event becomes.
    sentinel: &'static str,
    /// TLS flags for reading the destinations.
    read_flags: Vec<String>,
    dests: [Member; 2],
    mirrors: Vec<Live>,
}

impl Pair {
    fn new(label: &'static str, flags: &[&str], sentinel: &'static str, pki: Option<&Pki>) -> Pair {
        let spec = || match pki {
            Some(p) => Spec::on_free_ports().tls(p),
            None => Spec::on_free_ports(),
        };
        let start = || Member::start(&etcd_binary(), &spec(), &etcdctl_binary());
        let mut flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let read_flags = pki.map(Pki::client_flags).unwrap_or_default();
        flags.extend(read_flags.iter().map(|f| f.replacen("--", "--dest-", 1)));
        Pair {
            label,
            flags,
            sentinel,
            read_flags,
            dests: [start(), start()],
            mirrors: Vec::new(),
        }
    }

    fn start(&mut self, source: &str) {
        for (cli, dest) in [etcdctl_binary(), ctl_binary()].iter().zip(&self.dests) {
            let mut args: Vec<&str> = vec!["make-mirror"];
            args.extend(self.flags.iter().map(String::as_str));
            let target = dest.endpoint();
            args.push(&target);
            self.mirrors.push(Live::start(cli, source, &args, &[]));
        }
    }

    /// Everything a destination holds, less the ids that differ between
    /// two servers.
    fn dump(&self, i: usize) -> String {
        let all = get(
            &self.dests[i].endpoint(),
            &self.read_flags,
            &["--from-key", "", "-w", "fields"],
        );
        all.lines()
            .filter(|l| !l.starts_with("\"ClusterID\"") && !l.starts_with("\"MemberID\""))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    fn check_destinations(&self) {
        let sentinel = format!("\"Key\" : \"{}\"", self.sentinel);
        wait_for(
            &format!("{}: etcdctl's mirror", self.label),
            || self.dump(0),
            |got| got.contains(&sentinel),
        );
        let want = self.dump(0);
        wait_for(
            &format!("{}: ctl's mirror to match etcdctl's\n{want}", self.label),
            || self.dump(1),
            |got| got == want,
        );
    }
}

fn shown(o: &Outcome) -> String {
    format!(
        "exit {:?}\nstdout: {:?}\nstderr: {:?}",
        o.code,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// 1024 keys `b/0000`.. in txns of 128 (etcd's limit), for the paged copy.
fn bulk(source: &str) {
    for chunk in 0..8 {
        let mut input = String::from("\n");
        for i in chunk * 128..(chunk + 1) * 128 {
            input.push_str(&format!("put b/{i:04} v{i}\n"));
        }
        input.push_str("\n\n");
        drive(source, Step::words("txn").stdin(input.as_bytes()));
    }
}

#[test]
fn mirrors_match_etcdctl() {
    let src = etcd();
    let source = src.endpoint();
    bulk(&source);
    for line in [
        "put p/a 1",
        "put p/b 2",
        "put p/c 3",
        "put p/d1 4",
        "put p/d2 5",
        "put other/x 0",
    ] {
        drive_words(&source, line);
    }
    let pki = Pki::generate();
    let mut pairs = [
        Pair::new("everything", &[], "p/zz-end", None),
        Pair::new(
            "--dest-prefix",
            &["--prefix=p/", "--dest-prefix=q/"],
            "q/zz-end",
            None,
        ),
        Pair::new(
            "--no-dest-prefix",
            &["--prefix", "p/", "--no-dest-prefix"],
            "zz-end",
            None,
        ),
        Pair::new("TLS destination", &["--prefix=p/"], "p/zz-end", Some(&pki)),
    ];
    let started = Instant::now();
    for pair in &mut pairs {
        pair.start(&source);
    }
    wait_watchers(&source, 2 * pairs.len());

    for line in [
        "put p/new v1",
        "put other/y 1",
        "put p/a changed",
        "del p/b",
        "del --prefix b/01",
        "put p/p/nested v",
        "del --prefix p/d",
    ] {
        drive_words(&source, line);
    }
    drive(
        &source,
        Step::words("txn").stdin(b"\nput p/t1 1\nput p/t2 2\ndel p/c\n\n\n"),
    );
    drive_words(&source, "put p/zz-end done");
    for pair in &pairs {
        pair.check_destinations();
    }

    // The count comes 30 seconds after each mirror started.
    let first_count = Duration::from_secs(31);
    std::thread::sleep(first_count.saturating_sub(started.elapsed()));
    let mut differences = Vec::new();
    for (n, pair) in pairs.iter_mut().enumerate() {
        for m in &pair.mirrors {
            m.wait_lines(1);
        }
        let signal = if n % 2 == 0 { "INT" } else { "TERM" };
        let outs: Vec<Outcome> = pair.mirrors.drain(..).map(|m| m.stop(signal)).collect();
        let count: i64 = String::from_utf8_lossy(&outs[0].stdout)
            .trim()
            .parse()
            .unwrap();
        assert!(count > 0, "{}: {}", pair.label, shown(&outs[0]));
        if outs[0] != outs[1] {
            differences.push(format!(
                "{} (SIG{signal}) differs\n--- etcdctl: {}\n--- ctl: {}",
                pair.label,
                shown(&outs[0]),
                shown(&outs[1])
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
