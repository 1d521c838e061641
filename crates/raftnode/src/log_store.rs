//! The raft `Storage` the RawNode reads: raft-rs's `MemStorage` holds the
//! log, hard state and conf state (like etcd's raft.MemoryStorage), fed from
//! the WAL at start. Only `snapshot()` is answered differently: MemStorage
//! fabricates a data-less snapshot at its commit index, while a lagging
//! follower must be sent the last snapshot actually saved, data included.

use std::sync::{Arc, PoisonError, RwLock};

use raft::eraftpb::{Entry, Snapshot};
use raft::storage::MemStorage;
use raft::{GetEntriesContext, RaftState, Storage, StorageError};

#[derive(Clone, Default)]
pub(crate) struct LogStore {
    pub(crate) mem: MemStorage,
    latest: Arc<RwLock<Snapshot>>,
}

impl LogStore {
    pub(crate) fn set_latest_snapshot(&self, snapshot: Snapshot) {
        *self.latest.write().unwrap_or_else(PoisonError::into_inner) = snapshot;
    }

    pub(crate) fn latest_snapshot_index(&self) -> u64 {
        self.latest
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get_metadata()
            .index
    }
}

impl Storage for LogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        self.mem.initial_state()
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        self.mem.entries(low, high, max_size, context)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.mem.term(idx)
    }

    fn first_index(&self) -> raft::Result<u64> {
        self.mem.first_index()
    }

    fn last_index(&self) -> raft::Result<u64> {
        self.mem.last_index()
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let latest = self.latest.read().unwrap_or_else(PoisonError::into_inner);
        if latest.is_empty() || latest.get_metadata().index < request_index {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(latest.clone())
    }
}
