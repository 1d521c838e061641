//! The mvcc crate is the storage layer under the etcd server's apply loop:
//! etcd 3.4's multi-version key-value store on a redb file. It owns the
//! revisioned key space (the `key` table of encoded revisions -> KeyValue),
//! the in-memory key index with its generations, the durable leases (the
//! `lease` table of etcd's `leasepb.Lease` records, and which live keys are
//! attached to each), the cluster's durable membership (the `members`,
//! `members_removed` and `cluster` tables, opaque member bytes the server
//! encodes), the `meta` table (raft consistent index, compaction
//! revisions), etcd's Range/Put/DeleteRange/Txn/Compact semantics with the
//! applier's lease checks, lease grant/revoke/checkpoint, hashes, the
//! watchable store with synced and unsynced watcher groups, and whole-store
//! snapshots: a streamed, checksummed dump of every table and the atomic
//! restore that swaps a dump in for readers, watchers and the file on disk.
//! It exposes [`Store`] (reads, lease and membership lookups,
//! [`WriteBatch`]es that group raft entries into one transaction, hashes,
//! counters, `write_snapshot`/`restore_snapshot`) and [`WatchStream`]. It
//! speaks the `api` wire types and knows nothing of raft, time, auth or the
//! network: lease TTLs count down in the server's lessor, which calls the
//! batch to grant, revoke and checkpoint. It never checks permissions,
//! never writes a lease or a member apart from the key space it belongs
//! with, never blocks a write on a watcher, never leaves a partly written
//! file at the live path, and never starts empty from a file or a dump it
//! cannot read.

mod apply;
mod batch;
mod core;
mod counters;
mod dump;
mod error;
mod hash;
mod index;
mod key_index;
mod lease;
mod membership;
mod range;
mod read_txn;
mod restore;
pub mod revision;
mod snapshot;
mod store;
mod tables;
mod txn;
mod watch;

pub use batch::WriteBatch;
pub use counters::Counters;
pub use error::Error;
pub use lease::{LeaseRecord, LeaseRevoked};
pub use revision::Revision;
pub use store::{Store, StoreOptions};
pub use watch::{WatchBatch, WatchStream};
