//! The raftnode crate is the consensus layer under `etcdserver` (etcd's
//! `raftNode` plus its `wal` and `snap` packages). It owns a raft-rs
//! `RawNode`, drives it on a dedicated thread, and owns the member's durable
//! raft state: the write-ahead log in `<member>/wal/` and the snapshot files
//! `<member>/snap/*.snap`. It exposes [`RaftNode`] (propose, membership
//! changes, leadership transfer, read index, step, snapshot, status,
//! replication progress), [`read_identity`] for a restarting member, the
//! [`Apply`] stream of committed work, and the
//! [`Transport`] trait through which the server's peer layer carries
//! messages. It never interprets entry data, never touches `snap/db` (the
//! MVCC file) or any other file it did not create, and never starts from
//! damaged files: only a torn final WAL write is repaired, everything else
//! refuses the start with the file and offset.

mod apply;
mod boot;
mod command;
mod config;
mod durable;
mod error;
mod identity;
mod log_store;
mod logger;
mod node;
mod payload;
mod read_index;
mod ready_loop;
mod record;
mod replay;
mod segment;
mod snap;
mod status;
mod transport;
pub mod wal;

pub use apply::Apply;
pub use config::{DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES, DEFAULT_WAL_SEGMENT_SIZE, RaftConfig};
pub use error::Error;
pub use identity::read_identity;
pub use node::RaftNode;
pub use raft::SnapshotStatus;
pub use raft::eraftpb;
pub use snap::snapshot_db_path;
pub use status::{LeaderInfo, NodeMetrics, NodeStatus};
pub use transport::{NoPeers, Transport};
