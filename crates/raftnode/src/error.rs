use std::path::PathBuf;

/// Everything raftnode can fail with: refusals of a request by the running
/// node, and reasons the node cannot start from its files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No leader is known, so a proposal or read cannot be routed.
    #[error("raftnode: no leader")]
    NoLeader,
    /// Raft refused the proposal (leadership transfer in progress, too many
    /// uncommitted entries, or this node is not a voter).
    #[error("raftnode: proposal dropped")]
    Dropped,
    /// Only the leader can do this (a leadership transfer).
    #[error("raftnode: not the leader")]
    NotLeader,
    /// The member is not in the current configuration.
    #[error("raftnode: member {0:x} is not in the cluster configuration")]
    UnknownPeer(u64),
    /// The member is a learner, which cannot lead.
    #[error("raftnode: member {0:x} is a learner, not a voter")]
    NotVoter(u64),
    /// The transferee did not take over within about two election
    /// timeouts (raft abandons a transfer after one).
    #[error("raftnode: leadership transfer to {0:x} did not complete")]
    LeaderTransferTimeout(u64),
    /// The node has stopped (or its Ready loop died on a storage failure).
    #[error("raftnode: stopped")]
    Stopped,
    /// A ReadIndex round was not confirmed by a quorum in time.
    #[error("raftnode: read index timed out")]
    Timeout,
    /// A peer message of a type that only the local node may generate.
    #[error("raftnode: message type {0} cannot come from a peer")]
    LocalMessage(String),
    #[error("raftnode: invalid config: {0}")]
    InvalidConfig(String),
    #[error("raftnode: i/o on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Damage in the log that is not a torn final write; starting would lose
    /// or invent data.
    #[error("raftnode: WAL corrupt in {path} at offset {offset}: {reason}")]
    CorruptWal {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("raftnode: snapshot {path} unreadable: {reason}")]
    CorruptSnapshot { path: PathBuf, reason: String },
    #[error("raftnode: WAL at {0} already exists")]
    WalExists(PathBuf),
    #[error(
        "raftnode: WAL belongs to cluster {found:#x}, but the configured cluster is {expected:#x}"
    )]
    ClusterIdMismatch { expected: u64, found: u64 },
    #[error(
        "raftnode: WAL belongs to member {found:#x}, but the configured member is {expected:#x}"
    )]
    NodeIdMismatch { expected: u64, found: u64 },
    /// A snapshot was asked for at or below the newest one already saved, or
    /// at an index the log no longer holds.
    #[error("raftnode: snapshot at index {index} is out of date (latest snapshot is at {latest})")]
    SnapshotOutOfDate { index: u64, latest: u64 },
    #[error("raftnode: snapshot index {index} is beyond the applied index {applied}")]
    SnapshotBeyondApplied { index: u64, applied: u64 },
    #[error("raftnode: raft: {0}")]
    Raft(#[from] raft::Error),
    #[error("raftnode: encoding {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: protobuf::ProtobufError,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
