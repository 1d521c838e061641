use raft::eraftpb::{ConfState, Entry, Snapshot};

/// One batch of committed work for the application, in log order. Batches
/// arrive in order and each committed entry is handed over exactly once per
/// process lifetime; after a restart, everything after the boot snapshot is
/// handed over again, so the application skips what it already applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Apply {
    /// Committed entries, including raft's empty entries (a new leader's
    /// first entry) and conf changes; the application reports progress with
    /// `RaftNode::advance_applied` using their indexes.
    pub entries: Vec<Entry>,
    /// A snapshot to restore the application from: sent by the leader to a
    /// lagging follower, or the one this node booted from (first batch after
    /// a restart). Entries of later batches continue after its index.
    pub snapshot: Option<Snapshot>,
    /// The membership after the conf changes among `entries` (or the
    /// snapshot's), already applied to raft; `None` when it did not change.
    pub conf_state: Option<ConfState>,
}
