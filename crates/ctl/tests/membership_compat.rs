//! ctl against the real etcdctl 3.4 for the commands that need a cluster
//! of several members: `member`, `move-leader` and `endpoint --cluster`,
//! on a real three-member etcd. Member ids the cluster makes up from the
//! clock (added members) are masked; everything else must match.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api::pb::etcdserverpb::MemberAddResponse;
use prost::Message;
use testkit::{Mask, Outcome, Step, compare_each, etcd_binary, etcdctl_binary, free_port, run};

const FORMATS: [&str; 5] = ["simple", "json", "fields", "table", "protobuf"];
const PATIENCE: Duration = Duration::from_secs(30);

fn ctl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ctl"))
}

/// One real etcd process of a [`RealCluster`].
struct Node {
    client_port: u16,
    peer_port: u16,
    child: Child,
}

/// Real etcd members on free loopback ports, killed when dropped.
struct RealCluster {
    dir: tempfile::TempDir,
    nodes: Vec<Node>,
}

fn peer_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

impl RealCluster {
    /// Three voting members `m0`..`m2`, ready to serve.
    fn start() -> RealCluster {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let initial: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{i}={}", peer_url(*peer)))
            .collect();
        let mut cluster = RealCluster {
            dir,
            nodes: Vec::new(),
        };
        for (i, (client, peer)) in ports.into_iter().enumerate() {
            cluster.spawn(&format!("m{i}"), client, peer, &initial.join(","), "new");
        }
        cluster.wait_healthy();
        cluster
    }

    fn spawn(&mut self, name: &str, client_port: u16, peer_port: u16, initial: &str, state: &str) {
        let client = peer_url(client_port);
        let peer = peer_url(peer_port);
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        let child = Command::new(etcd_binary())
            .arg(format!("--name={name}"))
            .arg(format!(
                "--data-dir={}",
                self.dir.path().join(name).display()
            ))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster={initial}"))
            .arg(format!("--initial-cluster-state={state}"))
            .arg("--initial-cluster-token=ctl-membership")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.nodes.push(Node {
            client_port,
            peer_port,
            child,
        });
    }

    /// Starts the member etcdctl's `member add` output describes (as a
    /// learner it serves no reads, so readiness is the caller's to see).
    fn join(&mut self, name: &str, peer_port: u16, initial: &str) {
        self.spawn(name, free_port(), peer_port, initial, "existing");
    }

    fn endpoint(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[i].client_port)
    }

    fn endpoints(&self) -> String {
        (0..self.nodes.len())
            .map(|i| self.endpoint(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn wait_healthy(&self) {
        let started = Instant::now();
        let step = Step::new(&[
            &format!("--endpoints={}", self.endpoints()),
            "endpoint",
            "health",
        ])
        .no_endpoint();
        loop {
            let out = run(&etcdctl_binary(), "", &step);
            if out.code == Some(0) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "cluster never became healthy: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `(hex id, name)` of every member, as `member list` shows them.
    fn members(&self) -> Vec<(String, String)> {
        let out = run(
            &etcdctl_binary(),
            &self.endpoint(0),
            &Step::words("member list"),
        );
        assert_eq!(out.code, Some(0));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let fields: Vec<&str> = l.split(", ").collect();
                (fields[0].to_string(), fields[2].to_string())
            })
            .collect()
    }

    fn id_of(&self, name: &str) -> String {
        self.members()
            .into_iter()
            .find(|(_, n)| n == name)
            .map(|(id, _)| id)
            .unwrap_or_else(|| panic!("no member named {name:?}"))
    }

    /// The hex ids of the leader and of one follower, from `endpoint status`.
    fn leader_and_follower(&self) -> ((String, String), (String, String)) {
        let step = Step::new(&[
            &format!("--endpoints={}", self.endpoints()),
            "endpoint",
            "status",
        ])
        .no_endpoint();
        let out = run(&etcdctl_binary(), "", &step);
        let text = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(", ").collect()).collect();
        let leader = rows.iter().find(|r| r[4] == "true").unwrap();
        let follower = rows.iter().find(|r| r[4] == "false").unwrap();
        (
            (leader[0].to_string(), leader[1].to_string()),
            (follower[0].to_string(), follower[1].to_string()),
        )
    }
}

impl Drop for RealCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
    }
}

fn in_every_format(line: &str) -> Vec<Step> {
    FORMATS
        .iter()
        .map(|f| Step::words(&format!("{line} -w {f}")))
        .collect()
}

fn on_all(c: &RealCluster, line: &str) -> Step {
    let eps = format!("--endpoints={}", c.endpoints());
    let mut args = vec![eps.as_str()];
    args.extend(line.split_whitespace());
    Step::new(&args).no_endpoint()
}

#[test]
fn member_reads_errors_and_endpoint_cluster_match_etcdctl() {
    let c = RealCluster::start();
    let m0 = c.id_of("m0");
    let m0_peer = peer_url(c.nodes[0].peer_port);
    let mut steps = in_every_format("member list");
    steps.extend(in_every_format(&format!(
        "member update {m0} --peer-urls={m0_peer}"
    )));
    steps.extend(in_every_format("endpoint status --cluster"));
    steps.extend(in_every_format("endpoint hashkv --cluster"));
    for line in [
        "member list --hex",
        "member",
        "member --help",
        "member add --help",
        "member list --help",
        "member promote --help",
        "member update -h",
        "member remove -h",
        "move-leader --help",
        "help member add",
        "member bogus",
        "member list -w yaml",
        "member l",
        "member add",
        "member add a b http://x HTTPS://y",
        "member add a",
        "member add a --peer-urls=",
        "member add a --peer-urls=bogus",
        "member add a --peer-urls=http://127.0.0.1:1,",
        "member add a --peer-urls=http://a:1/p",
        "member add a --peer-urls=http://[::1",
        "member add a --peer-urls=http://a:1,http://a:b",
        "member remove",
        "member remove zz",
        "member remove 1 2",
        "member remove 1234",
        "member remove 10000000000000000",
        "member update",
        "member update 1234",
        "member update 1234 --peer-urls=http://127.0.0.1:1",
        "member update 1234 --peer-urls=http:foo",
        "member promote",
        "member promote -1",
        "member promote 1234",
        "move-leader",
        "move-leader zz",
        "move-leader 1 2",
    ] {
        steps.push(Step::words(line));
    }
    steps.push(Step::words(&format!("member promote {m0}")));
    steps.push(on_all(&c, "move-leader 1234"));
    compare_each(&etcdctl_binary(), &ctl(), &c.endpoint(0), &steps);

    // Health reports come in the order the checks finish.
    let health = Step::words("endpoint health --cluster").timed();
    let sorted = |o: &Outcome| {
        let text = testkit::mask(&o.stderr, &[Mask::Durations]);
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        (o.code, lines)
    };
    let want = run(&etcdctl_binary(), &c.endpoint(0), &health);
    let got = run(&ctl(), &c.endpoint(0), &health);
    assert_eq!(sorted(&want), sorted(&got));
    assert_eq!(got.stderr.iter().filter(|b| **b == b'\n').count(), 3);

    let ((leader_ep, leader), (follower_ep, follower)) = c.leader_and_follower();
    let mut steps = Vec::new();
    for f in FORMATS {
        steps.push(on_all(&c, &format!("move-leader {leader} -w {f}")));
    }
    steps.push(
        Step::new(&[
            &format!("--endpoints={follower_ep}"),
            "move-leader",
            &leader,
        ])
        .no_endpoint(),
    );
    compare_each(&etcdctl_binary(), &ctl(), &leader_ep, &steps);

    // A real transfer each way: etcdctl hands leadership to the follower,
    // ctl finds the new leader and hands it back.
    let there = run(
        &etcdctl_binary(),
        "",
        &on_all(&c, &format!("move-leader {follower}")),
    );
    assert_eq!(
        String::from_utf8(there.stdout).unwrap(),
        format!("Leadership transferred from {leader} to {follower}\n")
    );
    let back = run(&ctl(), "", &on_all(&c, &format!("move-leader {leader}")));
    assert_eq!(
        (back.code, String::from_utf8(back.stderr).unwrap()),
        (Some(0), String::new())
    );
    assert_eq!(
        String::from_utf8(back.stdout).unwrap(),
        format!("Leadership transferred from {follower} to {leader}\n")
    );
}

/// The hex id of the one member that has not started yet.
fn unstarted(c: &RealCluster) -> String {
    c.members()
        .into_iter()
        .find(|(_, name)| name.is_empty())
        .map(|(id, _)| id)
        .unwrap()
}

/// `member add` output with the new member's id and URL masked and the
/// members in an order that does not depend on the new (random) id.
fn normalized_add(format: &str, out: &Outcome, id_hex: &str, url: &str) -> (Option<i32>, String) {
    let id = u64::from_str_radix(id_hex, 16).unwrap();
    let text = match format {
        "protobuf" => {
            let mut r = MemberAddResponse::decode(out.stdout.as_slice()).unwrap();
            for m in r.member.iter_mut().chain(r.members.iter_mut()) {
                if m.id == id {
                    m.id = 0;
                    m.peer_ur_ls = vec!["<url>".to_string()];
                }
            }
            r.members.sort_by_key(|m| m.id);
            format!("{r:?}")
        }
        "json" => {
            let text = String::from_utf8(out.stdout.clone())
                .unwrap()
                .replace(&id.to_string(), "<id>")
                .replace(url, "<url>");
            let entry = r#"{"ID":<id>,"peerURLs":["<url>"],"isLearner":true}"#;
            text.replace(&format!(",{entry}"), "")
                .replace(&format!("[{entry},"), "[")
        }
        _ => {
            let text = String::from_utf8(out.stdout.clone())
                .unwrap()
                .replace(&format!("{id:16x}"), "<id>")
                .replace(url, "<url>");
            text.lines()
                .map(|l| match l.strip_prefix("ETCD_INITIAL_CLUSTER=") {
                    Some(list) => {
                        let mut parts: Vec<&str> = list.trim_matches('"').split(',').collect();
                        parts.sort_unstable();
                        format!("ETCD_INITIAL_CLUSTER={}\n", parts.join(","))
                    }
                    None => format!("{l}\n"),
                })
                .collect()
        }
    };
    let err = testkit::mask(&out.stderr, &[]);
    (out.code, format!("{text}\n--stderr--\n{err}"))
}

/// Runs a `member add` step once etcd accepts members: it refuses them
/// until every voter has been connected for five seconds.
fn add_when_connected(cli: &std::path::Path, ep: &str, step: &Step) -> Outcome {
    let started = Instant::now();
    loop {
        let out = run(cli, ep, step);
        let err = String::from_utf8_lossy(&out.stderr);
        if !err.ends_with("Error: etcdserver: unhealthy cluster\n") {
            return out;
        }
        assert!(started.elapsed() < PATIENCE, "{err}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn masked(out: &Outcome, id_hex: &str) -> (Option<i32>, String, String) {
    let id = u64::from_str_radix(id_hex, 16).unwrap();
    (
        out.code,
        testkit::mask(&out.stdout, &[]).replace(&format!("{id:16x}"), "<id>"),
        testkit::mask(&out.stderr, &[]),
    )
}

#[test]
fn member_add_remove_and_promote_match_etcdctl() {
    let mut c = RealCluster::start();
    let ep = c.endpoint(0);
    for f in FORMATS {
        let mut added = Vec::new();
        for cli in [etcdctl_binary(), ctl()] {
            let url = peer_url(free_port());
            let add = Step::new(&[
                "member",
                "add",
                "newbie",
                "--learner",
                &format!("--peer-urls={url}"),
                "-w",
                f,
            ]);
            let out = add_when_connected(&cli, &ep, &add);
            let id = unstarted(&c);
            let remove = run(&cli, &ep, &Step::new(&["member", "remove", &id, "-w", f]));
            added.push((normalized_add(f, &out, &id, &url), masked(&remove, &id)));
        }
        assert_eq!(added[0], added[1], "member add/remove -w {f}");
    }

    let promote_port = free_port();
    let add = add_when_connected(
        &etcdctl_binary(),
        &ep,
        &Step::new(&[
            "member",
            "add",
            "m3",
            "--learner",
            &format!("--peer-urls={}", peer_url(promote_port)),
        ]),
    );
    let text = String::from_utf8(add.stdout).unwrap();
    let first: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    let (id, cluster) = (first[1].to_string(), first[5].to_string());
    let initial = text
        .lines()
        .find_map(|l| l.strip_prefix("ETCD_INITIAL_CLUSTER="))
        .unwrap()
        .trim_matches('"')
        .to_string();
    c.join("m3", promote_port, &initial);
    let started = Instant::now();
    let promoted = loop {
        let out = run(&ctl(), &ep, &Step::new(&["member", "promote", &id]));
        if out.code == Some(0) {
            break out;
        }
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            err.ends_with("Error: etcdserver: can only promote a learner member which is in sync with leader\n"),
            "{err}"
        );
        assert!(started.elapsed() < PATIENCE, "learner never caught up");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(c.id_of("m3"), id);
    let padded = |hex: &str| format!("{:16x}", u64::from_str_radix(hex, 16).unwrap());
    assert_eq!(
        String::from_utf8(promoted.stdout).unwrap(),
        format!(
            "Member {} promoted in cluster {}\n",
            padded(&id),
            padded(&cluster)
        )
    );
    let mut steps = vec![Step::words(&format!("member promote {id}"))];
    steps.extend(in_every_format("member list"));
    steps.extend(in_every_format("endpoint status --cluster"));
    compare_each(&etcdctl_binary(), &ctl(), &ep, &steps);
}
