use raft::SnapshotStatus;
use raft::eraftpb::{ConfChange, ConfChangeV2, Message};
use tokio::sync::oneshot;

use crate::Error;

/// Requests from `RaftNode` handles to the Ready loop thread.
pub(crate) enum Command {
    Propose {
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    ProposeConfChange {
        change: ConfChange,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    ProposeConfChangeV2 {
        change: ConfChangeV2,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    TransferLeader {
        to: u64,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    ReadIndex {
        reply: oneshot::Sender<Result<u64, Error>>,
    },
    Step(Message),
    Applied(u64),
    Snapshot {
        index: u64,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    ReportUnreachable(u64),
    ReportSnapshot(u64, SnapshotStatus),
    Stop,
}
