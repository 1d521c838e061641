//! A cluster of server processes bootstrapped together on loopback ports,
//! and the faults a test inflicts on them: kill -9, SIGTERM, pausing a
//! process (SIGSTOP), restarting it on its data, adding a member.
//!
//! All methods block; they talk gRPC on a runtime of their own, so they
//! must be called from a test's thread, never from async code.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use api::pb::etcdserverpb::cluster_client::ClusterClient;
use api::pb::etcdserverpb::kv_client::KvClient;
use api::pb::etcdserverpb::maintenance_client::MaintenanceClient;
use api::pb::etcdserverpb::{
    HashKvRequest, MemberAddRequest, RangeRequest, StatusRequest, StatusResponse,
};
use tokio::runtime::Runtime;

use crate::client::{channel, within};
use crate::member::{Spec, spawn};

/// How long one status or health probe may take.
const PROBE_LIMIT: Duration = Duration::from_millis(1000);
/// How long a (re)started member may take to serve.
const READY_LIMIT: Duration = Duration::from_secs(20);
/// How long a member may take to exit after SIGTERM before it is killed.
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// How to start a cluster: its size, raft timing and further server flags.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub size: usize,
    pub heartbeat_ms: u64,
    pub election_ms: u64,
    pub token: String,
    /// Further flags given to every member, e.g. `--snapshot-count=100`.
    pub flags: Vec<String>,
}

impl ClusterSpec {
    /// `size` members with short raft timing (50 ms heartbeat, 500 ms
    /// election timeout) so faults heal within a test's patience.
    pub fn new(size: usize) -> ClusterSpec {
        ClusterSpec {
            size,
            heartbeat_ms: 50,
            election_ms: 500,
            token: "testkit-cluster".to_string(),
            flags: Vec::new(),
        }
    }

    pub fn timing(mut self, heartbeat_ms: u64, election_ms: u64) -> ClusterSpec {
        self.heartbeat_ms = heartbeat_ms;
        self.election_ms = election_ms;
        self
    }

    pub fn flag(mut self, flag: &str) -> ClusterSpec {
        self.flags.push(flag.to_string());
        self
    }

    /// The flags every member gets after its own, for joining `state`
    /// (`new` or `existing`).
    fn member_flags(&self, state: &str) -> Vec<String> {
        let mut flags = vec![
            format!("--heartbeat-interval={}", self.heartbeat_ms),
            format!("--election-timeout={}", self.election_ms),
            format!("--initial-cluster-state={state}"),
        ];
        flags.extend(self.flags.iter().cloned());
        flags
    }

    /// Starts the cluster with `binary` and waits until it is healthy.
    pub fn start(&self, binary: &Path) -> Cluster {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let specs: Vec<Spec> = (0..self.size)
            .map(|i| {
                Spec::on_free_ports()
                    .name(&format!("m{i}"))
                    .token(&self.token)
            })
            .collect();
        let initial_cluster = specs
            .iter()
            .map(|s| format!("{}={}", s.name, s.peer_url()))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            binary: binary.to_path_buf(),
            spec: self.clone(),
            nodes: Vec::new(),
            runtime: runtime(),
            dir,
        };
        for spec in specs {
            let mut spec = spec.initial_cluster(&initial_cluster);
            spec.flags = self.member_flags("new");
            cluster.launch(spec);
        }
        cluster.wait_healthy(READY_LIMIT);
        cluster
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"))
}

/// One member: how it is started, where its data lives, its process if
/// it runs.
struct Node {
    spec: Spec,
    dir: PathBuf,
    child: Option<Child>,
    paused: bool,
}

/// Running members of one cluster, each with its data and log in a
/// subdirectory of one temporary directory. Members are numbered from 0 in
/// the order they were started (named `m0`, `m1`, ...). Every process is
/// killed when the cluster is dropped.
pub struct Cluster {
    binary: PathBuf,
    spec: ClusterSpec,
    nodes: Vec<Node>,
    runtime: Runtime,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// `n` members of `binary` with [`ClusterSpec::new`]'s settings.
    pub fn start(binary: &Path, n: usize) -> Cluster {
        ClusterSpec::new(n).start(binary)
    }

    /// How many members were started, running or not.
    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    /// `http://127.0.0.1:<client port>` of member `i`.
    pub fn client_url(&self, i: usize) -> String {
        self.nodes[i].spec.client_url()
    }

    /// Every member's client URL, running or not.
    pub fn client_urls(&self) -> Vec<String> {
        (0..self.size()).map(|i| self.client_url(i)).collect()
    }

    /// Member `i`'s start flags.
    pub fn spec(&self, i: usize) -> &Spec {
        &self.nodes[i].spec
    }

    /// Whether member `i` has a process (paused or not).
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// Members with a process that is not paused.
    fn responsive(&self) -> Vec<usize> {
        (0..self.size())
            .filter(|&i| self.is_running(i) && !self.nodes[i].paused)
            .collect()
    }

    fn launch(&mut self, spec: Spec) -> usize {
        let dir = self.dir.path().join(&spec.name);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let child = spawn(&self.binary, &spec, &dir);
        self.nodes.push(Node {
            spec,
            dir,
            child: Some(child),
            paused: false,
        });
        self.nodes.len() - 1
    }

    fn pid(&self, i: usize) -> u32 {
        match &self.nodes[i].child {
            Some(child) => child.id(),
            None => panic!("member {i} is not running"),
        }
    }

    fn signal(&self, i: usize, signal: &str) {
        let pid = self.pid(i).to_string();
        let status = Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .unwrap_or_else(|e| panic!("kill -s {signal} {pid}: {e}"));
        assert!(status.success(), "kill -s {signal} {pid}: {status}");
    }

    /// SIGKILLs member `i` and reaps it.
    pub fn kill(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(mut child) = node.child.take() else {
            panic!("member {i} is not running");
        };
        let _ = child.kill();
        let _ = child.wait();
        node.paused = false;
    }

    /// SIGKILLs every running member.
    pub fn kill_all(&mut self) {
        for i in 0..self.size() {
            if self.is_running(i) {
                self.kill(i);
            }
        }
    }

    /// SIGTERMs member `i` and waits for it to exit (SIGKILL after 10 s).
    pub fn stop(&mut self, i: usize) {
        if self.nodes[i].paused {
            self.resume(i);
        }
        self.signal(i, "TERM");
        let started = Instant::now();
        if let Some(child) = self.nodes[i].child.as_mut() {
            while matches!(child.try_wait(), Ok(None)) && started.elapsed() < STOP_LIMIT {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill(i);
    }

    /// SIGSTOPs member `i`: it stays in the cluster but neither sends nor
    /// answers anything, like a member cut off from the others.
    pub fn pause(&mut self, i: usize) {
        self.signal(i, "STOP");
        self.nodes[i].paused = true;
    }

    /// SIGCONTs a paused member `i`.
    pub fn resume(&mut self, i: usize) {
        self.signal(i, "CONT");
        self.nodes[i].paused = false;
    }

    /// Member `i`'s data dir (what `--data-dir` names).
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.nodes[i].dir.join("data")
    }

    fn respawn(&mut self, i: usize) {
        assert!(!self.is_running(i), "member {i} is still running");
        let node = &mut self.nodes[i];
        // The same flags: with a data dir in place, the server ignores the
        // initial-cluster ones and recovers from its WAL and snapshots.
        node.child = Some(spawn(&self.binary, &node.spec, &node.dir));
    }

    /// Starts stopped member `i` again on its data and waits until it
    /// serves linearizable reads (a quorum must be up for that).
    pub fn restart(&mut self, i: usize) {
        self.respawn(i);
        self.wait_member(i, READY_LIMIT);
    }

    /// Starts every stopped member at once, then waits until the cluster
    /// is healthy.
    pub fn restart_all(&mut self) {
        for i in 0..self.size() {
            if !self.is_running(i) {
                self.respawn(i);
            }
        }
        self.wait_healthy(READY_LIMIT);
    }

    /// Member `i`'s maintenance status, if it answers in time.
    pub fn status(&self, i: usize) -> Option<StatusResponse> {
        let url = self.client_url(i);
        self.runtime.block_on(async {
            let mut client = MaintenanceClient::new(channel(&url));
            within(PROBE_LIMIT, client.status(StatusRequest {})).await
        })
    }

    /// Member `i`'s id, if it answers.
    pub fn member_id(&self, i: usize) -> Option<u64> {
        self.status(i).and_then(|s| s.header).map(|h| h.member_id)
    }

    /// Whether member `i` says it is a learner; panics if it does not
    /// answer.
    pub fn is_learner(&self, i: usize) -> bool {
        match self.status(i) {
            Some(status) => status.is_learner,
            None => panic!("member {i} does not answer Status\n{}", self.log_tails()),
        }
    }

    /// Whether member `i` serves a linearizable read in time (what etcd's
    /// own health check does).
    pub fn is_healthy(&self, i: usize) -> bool {
        let url = self.client_url(i);
        self.runtime.block_on(async {
            let mut kv = KvClient::new(channel(&url));
            let probe = RangeRequest {
                key: b"testkit-health".to_vec(),
                ..Default::default()
            };
            within(PROBE_LIMIT, kv.range(probe)).await.is_some()
        })
    }

    /// The member that considers itself leader, asking every running
    /// member that is not paused; of several (a deposed leader that has
    /// not heard yet), the one with the highest term.
    pub fn leader(&self) -> Option<usize> {
        self.responsive()
            .into_iter()
            .filter_map(|i| {
                let status = self.status(i)?;
                let id = status.header.as_ref()?.member_id;
                (status.leader == id && id != 0).then_some((status.raft_term, i))
            })
            .max()
            .map(|(_, i)| i)
    }

    /// Waits for a leader (see [`Cluster::leader`]); panics with the
    /// members' logs after `limit`.
    pub fn wait_leader(&self, limit: Duration) -> usize {
        let started = Instant::now();
        loop {
            if let Some(leader) = self.leader() {
                return leader;
            }
            self.assert_alive();
            assert!(
                started.elapsed() < limit,
                "no leader after {limit:?}\n{}",
                self.log_tails()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_member(&self, i: usize, limit: Duration) {
        let started = Instant::now();
        while !self.is_healthy(i) {
            self.assert_alive();
            assert!(
                started.elapsed() < limit,
                "member {i} not healthy after {limit:?}\n{}",
                self.log_tails()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every running, unpaused member serves linearizable
    /// reads and one of them is leader; panics with the logs after
    /// `limit`.
    pub fn wait_healthy(&self, limit: Duration) {
        let started = Instant::now();
        for i in self.responsive() {
            self.wait_member(i, limit.saturating_sub(started.elapsed()));
        }
        self.wait_leader(limit.saturating_sub(started.elapsed()));
    }

    /// Waits until every running, unpaused member reports the same
    /// revision and applied index twice in a row, and returns that
    /// revision.
    pub fn wait_converged(&self, limit: Duration) -> i64 {
        let started = Instant::now();
        let mut previous = None;
        loop {
            let views: Option<Vec<(i64, u64)>> = self
                .responsive()
                .into_iter()
                .map(|i| {
                    let s = self.status(i)?;
                    Some((s.header?.revision, s.raft_applied_index))
                })
                .collect();
            if let Some(views) = views.filter(|v| v.windows(2).all(|w| w[0] == w[1])) {
                let view = views.first().copied();
                if view.is_some() && view == previous {
                    return view.map_or(0, |(revision, _)| revision);
                }
                previous = view;
            } else {
                previous = None;
            }
            assert!(
                started.elapsed() < limit,
                "members never agreed on a revision within {limit:?}\n{}",
                self.log_tails()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Member `i`'s HashKV at `revision` (0: its latest); panics if it
    /// does not answer.
    pub fn hash_kv(&self, i: usize, revision: i64) -> u32 {
        let url = self.client_url(i);
        let reply = self.runtime.block_on(async {
            let mut client = MaintenanceClient::new(channel(&url));
            client.hash_kv(HashKvRequest { revision }).await
        });
        match reply {
            Ok(r) => r.into_inner().hash,
            Err(e) => panic!("HashKV({revision}) on member {i}: {e}"),
        }
    }

    /// Adds a member (a learner if `learner`) through MemberAdd, starts it
    /// with `--initial-cluster-state existing`, waits until it serves
    /// (linearizable reads for a voter, status with a known leader for a
    /// learner, which serves nothing linearizable) and returns its index.
    pub fn add_member(&mut self, learner: bool) -> usize {
        let index = self.size();
        let spec = Spec::on_free_ports()
            .name(&format!("m{index}"))
            .token(&self.spec.token);
        let added = self.member_add(&spec.peer_url(), learner);
        let initial_cluster = added
            .members
            .iter()
            .flat_map(|m| {
                let name = if added.member.as_ref().is_some_and(|a| a.id == m.id) {
                    spec.name.clone()
                } else {
                    m.name.clone()
                };
                m.peer_ur_ls.iter().map(move |u| format!("{name}={u}"))
            })
            .collect::<Vec<_>>()
            .join(",");
        let mut spec = spec.initial_cluster(&initial_cluster);
        spec.flags = self.spec.member_flags("existing");
        let i = self.launch(spec);
        if learner {
            self.wait_status_with_leader(i, READY_LIMIT);
        } else {
            self.wait_member(i, READY_LIMIT);
        }
        i
    }

    /// MemberAdd through any responsive member, retried while the
    /// cluster refuses it as not ready.
    fn member_add(
        &self,
        peer_url: &str,
        learner: bool,
    ) -> api::pb::etcdserverpb::MemberAddResponse {
        let started = Instant::now();
        loop {
            let mut last = String::new();
            for i in self.responsive() {
                let url = self.client_url(i);
                let request = MemberAddRequest {
                    peer_ur_ls: vec![peer_url.to_string()],
                    is_learner: learner,
                };
                let reply = self.runtime.block_on(async {
                    let mut client = ClusterClient::new(channel(&url));
                    tokio::time::timeout(READY_LIMIT, client.member_add(request)).await
                });
                match reply {
                    Ok(Ok(r)) => return r.into_inner(),
                    Ok(Err(e)) => last = format!("member {i}: {e}"),
                    Err(_) => last = format!("member {i}: timed out"),
                }
            }
            assert!(
                started.elapsed() < READY_LIMIT,
                "MemberAdd {peer_url} failed: {last}\n{}",
                self.log_tails()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_status_with_leader(&self, i: usize, limit: Duration) {
        let started = Instant::now();
        while self.status(i).is_none_or(|s| s.leader == 0) {
            self.assert_alive();
            assert!(
                started.elapsed() < limit,
                "member {i} never saw a leader within {limit:?}\n{}",
                self.log_tails()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Panics with its log if a member's process exited on its own.
    fn assert_alive(&self) {
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(child) = &node.child {
                // try_wait needs &mut; /proc tells whether the pid is gone
                // or a zombie without reaping it.
                let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id()))
                    .unwrap_or_default();
                let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
                assert!(
                    !matches!(state, None | Some('Z') | Some('X')),
                    "member {i} exited on its own\n{}",
                    self.log(i)
                );
            }
        }
    }

    /// Everything member `i` printed, over all its restarts.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.nodes[i].dir.join("server.log")).unwrap_or_default()
    }

    /// The last lines of every member's log, for a failure message.
    pub fn log_tails(&self) -> String {
        (0..self.size())
            .map(|i| {
                let log = self.log(i);
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(30)..].join("\n");
                format!(
                    "--- member {i} ({}) log tail:\n{tail}\n",
                    self.nodes[i].spec.name
                )
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_get_timing_state_and_extra_flags() {
        let spec = ClusterSpec::new(3)
            .timing(10, 100)
            .flag("--snapshot-count=5");
        assert_eq!(
            spec.member_flags("existing"),
            [
                "--heartbeat-interval=10",
                "--election-timeout=100",
                "--initial-cluster-state=existing",
                "--snapshot-count=5"
            ]
        );
    }
}
