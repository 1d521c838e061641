//! The watchable store (etcd's watchable_store.go and watcher_group.go).
//! Every watcher belongs to a client stream ([`WatchStream`]) and is either
//! *synced*, receiving the events of each commit as it is published, or
//! *unsynced*, catching up from the history kept in the key table by the
//! background syncer in bounded steps until it reaches the current
//! revision. Deliveries never wait: each stream has a bounded channel, and a
//! synced watcher whose channel is full drops back to unsynced and later
//! re-reads what it missed from history (where etcd keeps a "victim" batch
//! in memory, this store keeps nothing and re-reads, so memory stays bounded
//! by the channel sizes).

mod group;
mod history;
mod hub;
mod stream;
mod syncer;

pub(crate) use history::Limits;
pub(crate) use hub::{WatchHub, WatchOptions};
pub use stream::WatchStream;
pub(crate) use syncer::run_syncer;

use api::pb::mvccpb::Event;

/// What one watcher receives at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchBatch {
    /// The id given to (or chosen by) [`WatchStream::watch`].
    pub watch_id: i64,
    /// Events in revision order; all events of a revision come together.
    pub events: Vec<Event>,
    /// The watcher has now seen every change up to this revision. Batches
    /// announcing a compaction carry 0, as etcd's do.
    pub revision: i64,
    /// Non-zero when the watcher's start revision has been compacted away:
    /// the watcher is canceled and this is its last batch.
    pub compact_revision: i64,
}

/// A channel message: the batch and the watcher it is for.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub serial: u64,
    pub batch: WatchBatch,
}
