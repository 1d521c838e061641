use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;

/// etcd's SnapshotCatchUpEntries: entries kept in memory behind a snapshot
/// so that a slightly lagging follower gets entries instead of a snapshot.
pub const DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES: u64 = 5000;

/// WAL segments are cut once they reach this size (etcd's SegmentSizeBytes).
pub const DEFAULT_WAL_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;

/// How a member's raft node is set up. Field defaults (see [`RaftConfig::new`])
/// are etcd 3.4's.
#[derive(Debug, Clone)]
pub struct RaftConfig {
    /// This member's raft id; never 0.
    pub id: u64,
    /// `<data-dir>/member`; raftnode owns its `wal/` and the `*.snap` files in
    /// its `snap/`.
    pub member_dir: PathBuf,
    /// Voters of a brand-new cluster (etcd's --initial-cluster). Read only
    /// when no WAL exists; empty means "joining an existing cluster": the node
    /// waits to be sent a snapshot by the leader.
    pub initial_voters: Vec<u64>,
    /// One raft tick (etcd's --heartbeat-interval).
    pub tick_interval: Duration,
    pub election_tick: usize,
    pub heartbeat_tick: usize,
    pub max_size_per_msg: u64,
    pub max_inflight_msgs: usize,
    pub pre_vote: bool,
    pub check_quorum: bool,
    /// Written into the WAL metadata of a new member; a restart with another
    /// value is refused.
    pub cluster_id: u64,
    pub snapshot_catch_up_entries: u64,
    pub wal_segment_size: u64,
}

/// `<member_dir>/wal`.
pub(crate) fn wal_dir(member_dir: &Path) -> PathBuf {
    member_dir.join("wal")
}

impl RaftConfig {
    pub fn new(id: u64, member_dir: impl Into<PathBuf>, initial_voters: Vec<u64>) -> Self {
        Self {
            id,
            member_dir: member_dir.into(),
            initial_voters,
            tick_interval: Duration::from_millis(100),
            election_tick: 10,
            heartbeat_tick: 1,
            max_size_per_msg: 1024 * 1024,
            max_inflight_msgs: 4096 / 8,
            pre_vote: false,
            check_quorum: true,
            cluster_id: 0,
            snapshot_catch_up_entries: DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
            wal_segment_size: DEFAULT_WAL_SEGMENT_SIZE,
        }
    }

    pub(crate) fn wal_dir(&self) -> PathBuf {
        wal_dir(&self.member_dir)
    }

    /// `<member_dir>/snap`: raftnode's snapshot files, the received
    /// snapshot databases ([`crate::snapshot_db_path`]) and the MVCC file.
    pub fn snap_dir(&self) -> PathBuf {
        self.member_dir.join("snap")
    }

    pub(crate) fn raft_config(&self) -> Result<raft::Config, Error> {
        if self.tick_interval.is_zero() {
            return Err(Error::InvalidConfig(
                "tick interval must be positive".into(),
            ));
        }
        if self.wal_segment_size == 0 {
            return Err(Error::InvalidConfig(
                "WAL segment size must be positive".into(),
            ));
        }
        let config = raft::Config {
            id: self.id,
            election_tick: self.election_tick,
            heartbeat_tick: self.heartbeat_tick,
            max_size_per_msg: self.max_size_per_msg,
            max_inflight_msgs: self.max_inflight_msgs,
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            // etcd's MaxUncommittedEntriesSize: beyond this a leader drops
            // proposals instead of growing its unstable log without bound.
            max_uncommitted_size: 1 << 30,
            ..raft::Config::default()
        };
        config
            .validate()
            .map_err(|e| Error::InvalidConfig(e.to_string()))?;
        Ok(config)
    }
}
