//! The acceptance of issue 2: the real etcdctl 3.4 gives the same results
//! against this server as against etcd, for every command in scope, and so
//! does our ctl. Each step list runs three times, each time on an empty
//! member started with the same flags and ports (so the member and cluster
//! ids are the same): etcdctl against etcd (the reference), etcdctl against
//! this server, ctl against this server. stdout, stderr and exit codes must
//! match byte for byte, after masking only what legitimately differs:
//!
//! - log timestamps and clientv3's random client ids (testkit always masks
//!   them): they vary between any two runs, even of etcd against itself;
//! - `took` durations of endpoint health: measured time;
//! - DB size and DB size in use of endpoint status: a different storage
//!   engine lays out its file differently.
//!
//! Everything else (revisions, raft terms and indexes, member and cluster
//! ids, versions, hashkv hashes, error texts, exit codes) must match.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use testkit::{Mask, Member, Outcome, Spec, Step, etcd_binary, etcdctl_binary, mismatches, record};

const FORMATS: [&str; 5] = ["simple", "json", "fields", "table", "protobuf"];

fn server_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_server"))
}

/// Our ctl, built next to the server binary. cargo only builds the binaries
/// of the package under test, so build ctl here: a no-op when it is
/// current, and never a stale ctl from an older build.
fn ctl_binary() -> PathBuf {
    static CTL: OnceLock<PathBuf> = OnceLock::new();
    CTL.get_or_init(|| {
        let server = server_binary();
        let profile_dir = server.parent().unwrap();
        let ctl = profile_dir.join(format!("ctl{}", std::env::consts::EXE_SUFFIX));
        let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
            "debug" => "dev",
            other => other,
        };
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--quiet", "-p", "ctl", "--profile", profile])
            .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        // What cargo set for this test process only: build scripts that
        // watch these (ring's does) would otherwise be rebuilt here and
        // again by the next `cargo test`.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let per_test = ["CARGO_PKG_", "CARGO_BIN_", "CARGO_MANIFEST_", "CARGO_CRATE_"]
                .iter()
                .any(|p| name.starts_with(p))
                || ["CARGO_TARGET_TMPDIR", "CARGO_PRIMARY_PACKAGE"].contains(&&*name);
            if per_test {
                cargo.env_remove(&*name);
            }
        }
        let out = cargo.output().unwrap();
        assert!(
            out.status.success() && ctl.exists(),
            "building ctl into {} failed (run `cargo build -p ctl` with the same target dir and profile): {}",
            profile_dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        ctl
    })
    .clone()
}

/// `line` once per output format.
fn in_every_format(line: &str) -> Vec<Step> {
    FORMATS
        .iter()
        .map(|f| Step::words(&format!("{line} -w {f}")))
        .collect()
}

fn status_steps() -> Vec<Step> {
    let mut steps: Vec<Step> = in_every_format("endpoint status")
        .into_iter()
        .map(|s| s.masked(Mask::DbSize))
        .collect();
    steps.push(Step::words("endpoint status --cluster -w json").masked(Mask::DbSize));
    steps.extend(in_every_format("endpoint hashkv"));
    steps.push(Step::words("endpoint hashkv --cluster"));
    steps.extend(
        in_every_format("endpoint health")
            .into_iter()
            .map(Step::timed),
    );
    steps.push(Step::words("endpoint health --cluster -w table").timed());
    steps
}

/// The three recordings of a step list.
struct Runs {
    /// etcdctl against etcd: the reference.
    etcd: Vec<Outcome>,
    by_etcdctl: Vec<Outcome>,
    by_ctl: Vec<Outcome>,
}

/// Runs `steps` with etcdctl against etcd, then with etcdctl and with ctl
/// against this server, each time on an empty member of `spec`.
fn record_runs(spec: &Spec, steps: &[Step]) -> Runs {
    let etcdctl = etcdctl_binary();
    let etcd = Member::start(&etcd_binary(), spec, &etcdctl);
    let reference = record(&etcdctl, &etcd.endpoint(), steps);
    let ours = etcd.fresh_as(&server_binary());
    let by_etcdctl = record(&etcdctl, &ours.endpoint(), steps);
    let ours = ours.fresh();
    let by_ctl = record(&ctl_binary(), &ours.endpoint(), steps);
    Runs {
        etcd: reference,
        by_etcdctl,
        by_ctl,
    }
}

/// Fails listing every step where a run against our server differs from
/// the reference.
fn assert_parity(steps: &[Step], runs: &Runs) {
    let mut found = Vec::new();
    for (who, got) in [
        ("etcdctl against our server", &runs.by_etcdctl),
        ("ctl against our server", &runs.by_ctl),
    ] {
        for m in mismatches(steps, &runs.etcd, got) {
            found.push(format!("{who} (want: etcdctl against etcd)\n{m}"));
        }
    }
    assert!(
        found.is_empty(),
        "{} differences from etcd\n{}",
        found.len(),
        found.join("\n")
    );
}

/// Steps `a` and `b` (two hashkv calls with no write between them) printed
/// the same in every run.
fn assert_stable(runs: &Runs, a: usize, b: usize) {
    for run in [&runs.etcd, &runs.by_etcdctl, &runs.by_ctl] {
        assert_eq!(
            run[a].code,
            Some(0),
            "{}",
            String::from_utf8_lossy(&run[a].stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&run[a].stdout),
            String::from_utf8_lossy(&run[b].stdout),
            "hashkv changed without a write"
        );
    }
}

fn seed() -> Vec<Step> {
    let mut steps: Vec<Step> = [
        "put foo bar",
        "put foo baz --prev-kv",
        "put foo --ignore-value --prev-kv -w json",
        "put foo qux --ignore-lease",
        "put foo --ignore-value --ignore-lease -w fields",
        "put missing --ignore-value",
        "put a 1 -w json",
        "put b 22 -w fields",
        "put c 3 -w table",
        "put k1 v1 -w protobuf",
        "put k2 v2 --prev-kv -w protobuf",
        "put k2 v3 --prev-kv -w fields",
        "put k3 v3 --prev-kv -w json",
        "put k1 v4 --prev-kv -w table",
        "put b 2 --prev-kv",
    ]
    .iter()
    .map(|l| Step::words(l))
    .collect();
    steps.push(Step::new(&["put", "key with space", "v a l"]));
    steps.push(Step::new(&["put", "ключ", "значение"]));
    steps.push(Step::new(&["put", "html", "<a&b>\t\"q\""]));
    steps.push(Step::words("put nl").stdin(b"line1\nline2\n"));
    steps.push(Step::new(&["put", "--", "dash", "-value"]));
    steps
}

#[test]
fn puts_and_gets_match_etcd() {
    // The raft index of an empty member: its first entries (the member,
    // its attributes, the cluster version) must be the same as etcd's.
    let mut steps = vec![Step::words("endpoint status -w json").masked(Mask::DbSize)];
    steps.extend(seed());
    for line in [
        "get foo",
        "get foo --rev=2",
        "get foo --rev=3",
        "get --prefix k",
        "get a c",
        "get b a",
        "get a --from-key",
        "get a --from-key --limit=2",
        "get a --from-key --sort-by=VALUE --order=DESCEND",
        "get a --from-key --sort-by=CREATE",
        "get a --from-key --sort-by=MODIFY --order=ASCEND",
        "get a --from-key --sort-by=VERSION --order=DESCEND",
        "get a --from-key --sort-by=KEY --order=DESCEND --limit=3",
        "get k --prefix --keys-only",
        "get missing",
        "get html",
        "get nl",
        "get --prefix k --rev=12",
    ] {
        steps.extend(in_every_format(line));
    }
    for line in [
        "get foo --print-value-only",
        "get --prefix k --print-value-only",
        "get --prefix k --keys-only --print-value-only",
        "get foo --consistency=s -w json",
        "get foo --consistency=l -w json",
        "get --from-key a --hex",
        "get foo --rev=1000",
        "get foo --rev=1000 -w json",
        "get foo --rev=-1",
        "get a --prefix --limit=-1",
    ] {
        steps.push(Step::words(line));
    }
    steps.push(Step::new(&["get", "", "--from-key"]));
    steps.push(Step::new(&["get", ""]));
    steps.push(Step::new(&["get", "", "--prefix"]));
    steps.push(Step::new(&["put", "", "v"]));
    steps.push(Step::new(&["put", "k", ""]));
    steps.push(Step::new(&["get", "k", "-w", "json"]));
    // Above etcd's default 1.5 MiB --max-request-bytes, below the client's
    // 2 MiB send limit: the server must refuse it.
    steps.push(Step::words("put big").stdin(&vec![b'x'; 1_600_000]));
    let spec = Spec::on_free_ports();
    // An endpoint with its scheme, as `--cluster` uses the advertised URLs.
    let url = format!("--endpoints=http://{}", spec.endpoint());
    for line in ["get foo -w json", "endpoint hashkv"] {
        let step = Step::words(line).with_flags(std::slice::from_ref(&url));
        steps.push(step.no_endpoint());
    }
    let status = Step::words("endpoint status").with_flags(std::slice::from_ref(&url));
    steps.push(status.no_endpoint().masked(Mask::DbSize));
    steps.extend(status_steps());
    steps.push(Step::words("version"));
    let runs = record_runs(&spec, &steps);
    assert_parity(&steps, &runs);
}

#[test]
fn deletes_txns_and_compactions_match_etcd() {
    let mut steps = seed();
    for line in [
        "del k1 --prev-kv -w json",
        "del k2 k3 --prev-kv -w fields",
        "del missing -w table",
        "del missing -w protobuf",
        "del foo --prev-kv -w protobuf",
        "del b a",
        "del --prefix k --prev-kv",
        "put x y",
        "put y z",
        "del --from-key x -w json",
        "del --from-key x",
    ] {
        steps.push(Step::words(line));
    }
    steps.push(Step::new(&["del", ""]));
    for f in FORMATS {
        let txn = format!(
            "value(\"a\") = \"1\"\nver(\"b\") > \"1\"\n\nput t{f} 1 --prev-kv\nput a 1 --prev-kv\ndel nothing\nget a\nget --prefix t --keys-only\n\nput never 1\n\n"
        );
        steps.push(Step::words(&format!("txn -w {f}")).stdin(txn.as_bytes()));
        let failing = format!(
            "mod(\"a\") < \"2\"\ncreate(\"c\") != \"0\"\n\nput never 1\n\nput f{f} 2\ndel t{f} --prev-kv\nget f{f}\n\n"
        );
        steps.push(Step::words(&format!("txn -i -w {f}")).stdin(failing.as_bytes()));
    }
    for input in [
        "\nput d 1\nput d 2\n\n\n",
        "\n\n\n",
        "val(\"key with space\") = \"v a l\"\n\nget \"key with space\"\n\n\n",
        "value(\"a\") = 1\n\n\n\n",
        "\nget a --rev=1000\n\n\n",
        "\nput \"\" v\n\n\n",
        "",
    ] {
        steps.push(Step::words("txn").stdin(input.as_bytes()));
    }
    let too_many: String = (0..129).map(|i| format!("put many{i} v\n")).collect();
    steps.push(Step::words("txn").stdin(format!("\n{too_many}\n\n").as_bytes()));
    let hash_before = steps.len();
    steps.push(Step::words("endpoint hashkv -w json"));
    let hash_again = steps.len();
    steps.push(Step::words("endpoint hashkv -w json"));
    for line in [
        "compaction 3",
        "compaction 3",
        "compaction 2",
        "compaction 0",
        "compaction --physical 5 -w json",
        "get a --rev=2",
        "get a --rev=5 -w json",
        "get a --rev=6 -w json",
        "compaction 1000",
        "endpoint hashkv --rev=2",
        "endpoint hashkv --rev=6 -w json",
    ] {
        steps.push(Step::words(line));
    }
    steps.push(Step::new(&["get", "", "--from-key", "-w", "json"]));
    steps.extend(status_steps());
    let runs = record_runs(&Spec::on_free_ports().name("m0").token("parity"), &steps);
    assert_stable(&runs, hash_before, hash_again);
    assert_parity(&steps, &runs);
}

#[test]
fn ctl_is_found_or_built_next_to_the_server() {
    let ctl = ctl_binary();
    assert_eq!(
        ctl.parent(),
        Path::new(env!("CARGO_BIN_EXE_server")).parent()
    );
    let version = |cli: &Path| Command::new(cli).arg("version").output().unwrap().stdout;
    assert_eq!(version(&ctl), version(&etcdctl_binary()));
}

/// `get --count-only` is in etcdctl 3.5, not 3.4; ctl offers it (only with
/// `-w fields`, as 3.5 does), so it is checked here rather than compared.
#[test]
fn ctl_counts_keys_with_count_only() {
    let ctl = ctl_binary();
    let ours = Member::start(&server_binary(), &Spec::on_free_ports(), &ctl);
    for key in ["k1", "k2", "k3", "k4", "other"] {
        let put = testkit::run(&ctl, &ours.endpoint(), &Step::new(&["put", key, "v"]));
        assert_eq!(put.code, Some(0), "{put:?}");
    }
    let out = testkit::run(
        &ctl,
        &ours.endpoint(),
        &Step::words("get k --prefix --count-only -w fields"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(stdout.contains("\"Count\" : 4\n"), "{stdout}");
    assert!(
        !stdout.contains("\"Key\""),
        "count-only must not print keys: {stdout}"
    );
    let simple = testkit::run(
        &ctl,
        &ours.endpoint(),
        &Step::words("get k --prefix --count-only"),
    );
    assert_ne!(
        simple.code,
        Some(0),
        "count-only needs -w fields, as in etcdctl 3.5"
    );
}
