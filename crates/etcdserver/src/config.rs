//! What a member needs to know to start, already validated by the binary.

use std::path::PathBuf;
use std::time::Duration;

/// `--initial-cluster-state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterState {
    New,
    Existing,
}

/// What the peers told a member joining an existing cluster.
#[derive(Clone, Debug)]
pub struct Join {
    pub cluster_id: u64,
    pub members: Vec<crate::Member>,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub name: String,
    pub data_dir: PathBuf,
    /// `--initial-cluster`: every member's name and peer URLs.
    pub initial_cluster: Vec<(String, Vec<String>)>,
    pub initial_cluster_state: ClusterState,
    pub initial_cluster_token: String,
    /// Set when `initial_cluster_state` is `Existing` and the data dir is
    /// new: the cluster as the peers reported it.
    pub join: Option<Join>,
    /// `--strict-reconfig-check`: refuse membership changes that could cost
    /// the cluster its quorum.
    pub strict_reconfig_check: bool,
    pub advertise_client_urls: Vec<String>,
    pub advertise_peer_urls: Vec<String>,
    /// Applied entries between two raft snapshots (`--snapshot-count`).
    pub snapshot_count: u64,
    /// Entries kept behind a snapshot so that slightly lagging followers get
    /// entries rather than the whole store.
    pub snapshot_catch_up_entries: u64,
    pub heartbeat_interval: Duration,
    pub election_timeout: Duration,
    /// `--max-request-bytes`: the largest encoded request accepted.
    pub max_request_bytes: usize,
    pub quota_backend_bytes: i64,
    pub pre_vote: bool,
    /// `--experimental-watch-progress-notify-interval`: how often watches
    /// that asked for it get an empty response carrying the revision.
    pub watch_progress_notify_interval: Duration,
}

impl ServerConfig {
    /// etcd's request timeout: 5s plus two election timeouts.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(5) + 2 * self.election_timeout
    }

    pub fn member_dir(&self) -> PathBuf {
        self.data_dir.join("member")
    }

    /// The MVCC database file, where etcd keeps its backend.
    pub fn db_path(&self) -> PathBuf {
        self.member_dir().join("snap").join("db")
    }

    /// The shortest lease TTL in seconds: etcd's 1.5 election timeouts
    /// (counted in whole heartbeats), rounded up.
    pub fn min_lease_ttl(&self) -> i64 {
        let ticks = u32::try_from((3 * self.election_ticks()) / 2).unwrap_or(u32::MAX);
        let min = self.heartbeat_interval * ticks;
        i64::try_from(min.as_millis().div_ceil(1000)).unwrap_or(i64::MAX)
    }

    pub fn election_ticks(&self) -> usize {
        let ticks = self.election_timeout.as_millis() / self.heartbeat_interval.as_millis().max(1);
        usize::try_from(ticks).unwrap_or(usize::MAX).max(2)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            name: "default".into(),
            data_dir: PathBuf::from("default.etcd"),
            initial_cluster: vec![("default".into(), vec!["http://localhost:2380".into()])],
            initial_cluster_state: ClusterState::New,
            initial_cluster_token: "etcd-cluster".into(),
            join: None,
            strict_reconfig_check: true,
            advertise_client_urls: vec!["http://localhost:2379".into()],
            advertise_peer_urls: vec!["http://localhost:2380".into()],
            snapshot_count: 100_000,
            snapshot_catch_up_entries: 5000,
            heartbeat_interval: Duration::from_millis(100),
            election_timeout: Duration::from_millis(1000),
            max_request_bytes: 1536 * 1024,
            quota_backend_bytes: 2 * 1024 * 1024 * 1024,
            pre_vote: false,
            watch_progress_notify_interval: Duration::from_secs(600),
        }
    }
}
