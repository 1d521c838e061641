//! The store handle: opening, reads (key space and leases), hashes, sizes,
//! counters, and the entry points to write batches and watch streams.
//! Membership reads are in membership.rs, snapshots in snapshot.rs.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use api::pb::etcdserverpb::{RangeRequest, RangeResponse};

use crate::Error;
use crate::batch::WriteBatch;
use crate::core::Core;
use crate::counters::Counters;
use crate::lease::LeaseRecord;
use crate::range;
use crate::restore;
use crate::snapshot;
use crate::tables::KV;
use crate::watch::{Limits, WatchHub, WatchOptions, WatchStream, run_syncer};

/// Tuning knobs; `Default` gives etcd's values.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Batches buffered per watch stream before its watchers fall back to
    /// catching up from history (etcd's chanBufLen: 128).
    pub watch_channel_capacity: usize,
    /// Distinct revisions one catch-up step reads (etcd's
    /// watchBatchMaxRevs: 1000).
    pub watch_sync_max_revisions: usize,
    /// Bytes of history one catch-up step reads at most (a revision is never
    /// split, so a larger single revision still goes through).
    pub watch_sync_max_bytes: usize,
    /// Unsynced watchers served per catch-up step (etcd's
    /// maxWatchersPerSync: 512).
    pub watch_sync_max_watchers: usize,
    /// How often the syncer looks for work when nobody wakes it (etcd: 100ms).
    pub watch_sync_interval: Duration,
    /// Memory redb may use to cache pages.
    pub cache_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            watch_channel_capacity: 128,
            watch_sync_max_revisions: 1000,
            watch_sync_max_bytes: 4 << 20,
            watch_sync_max_watchers: 512,
            watch_sync_interval: Duration::from_millis(100),
            cache_bytes: 256 << 20,
        }
    }
}

/// etcd's MVCC key-value store on a redb file. Reads and watches go through
/// `&self` from any thread; changes go through one [`WriteBatch`] at a time.
/// Callers share it in an `Arc`.
#[derive(Debug)]
pub struct Store {
    pub(crate) core: Arc<Core>,
    pub(crate) hub: Arc<WatchHub>,
    syncer: Mutex<Option<JoinHandle<()>>>,
}

impl Store {
    /// Opens or creates the database at `path` and rebuilds the key index
    /// from it. Every page checksum is verified first: a damaged or foreign
    /// file is an error, never an empty store. What an interrupted restore
    /// left beside the file is removed.
    pub fn open(path: &Path, opts: StoreOptions) -> Result<Store, Error> {
        snapshot::remove_staging(path)?;
        let db = restore::open_database(path, opts.cache_bytes)?;
        let restored = restore::load(Arc::new(db)).map_err(|e| match e {
            Error::Corrupt(reason) => Error::Corrupt(format!("{}: {reason}", path.display())),
            other => other,
        })?;
        let current_rev = restored.shared.current_rev;
        tracing::info!(
            path = %path.display(),
            current_rev,
            compact_rev = restored.shared.compact_rev,
            consistent_index = restored.consistent_index,
            "mvcc store opened"
        );
        let core = Arc::new(Core::new(
            path.to_path_buf(),
            opts.cache_bytes,
            restored.shared,
            restored.consistent_index,
        ));
        let hub = Arc::new(WatchHub::new(
            current_rev,
            WatchOptions {
                channel_capacity: opts.watch_channel_capacity,
                sync_max_watchers: opts.watch_sync_max_watchers,
                sync_limits: Limits {
                    max_revisions: opts.watch_sync_max_revisions.max(1),
                    max_bytes: opts.watch_sync_max_bytes,
                },
                sync_interval: opts.watch_sync_interval,
            },
        ));
        let syncer = {
            let (core, hub) = (Arc::clone(&core), Arc::clone(&hub));
            std::thread::Builder::new()
                .name("mvcc-watch-sync".into())
                .spawn(move || run_syncer(core, hub))
                .map_err(|e| Error::Storage(format!("starting the watch syncer: {e}")))?
        };
        Ok(Store {
            core,
            hub,
            syncer: Mutex::new(Some(syncer)),
        })
    }

    /// The newest revision readers see; 1 for a new store, like etcd.
    pub fn current_revision(&self) -> i64 {
        self.core.read_shared().current_rev
    }

    /// The revision of the last compaction; -1 if the store was never
    /// compacted (etcd's initial compactMainRev). Reads below it fail with
    /// `Compacted`; reads at it still work.
    pub fn compact_revision(&self) -> i64 {
        self.core.read_shared().compact_rev
    }

    /// The raft index of the last entry whose effects were committed, as
    /// stored with the data (0 for a new store).
    pub fn consistent_index(&self) -> u64 {
        self.core.consistent_index.load(Ordering::Acquire)
    }

    /// etcd's Range at `req.revision` (0 = current) with all its options;
    /// `serializable` means nothing here. The header carries only the
    /// store's current revision.
    pub fn range(&self, req: &RangeRequest) -> Result<RangeResponse, Error> {
        self.core.check()?;
        self.core.counters.count_range();
        let (plan, txn) = {
            let shared = self.core.read_shared();
            let plan = range::plan(&shared.index, req, shared.current_rev, shared.compact_rev)?;
            // taken under the lock, so it holds every revision the plan names
            (plan, shared.begin_read()?)
        };
        let table = txn.open_table(KV).map_err(Error::storage)?;
        range::execute(&table, req, plan)
    }

    /// Opens the write batch; waits while another one is open.
    pub fn write_batch(&self) -> Result<WriteBatch<'_>, Error> {
        WriteBatch::begin(&self.core, &self.hub)
    }

    /// etcd's Maintenance.Hash: CRC-32C of every table (key space, leases,
    /// membership, meta) except the consistent index.
    pub fn hash(&self) -> Result<u32, Error> {
        self.core.check()?;
        crate::hash::hash(&self.core)
    }

    /// etcd's HashKV at `rev` (0 = current): (hash, compact revision,
    /// current revision), over the key table only, as etcd's covers only
    /// its key bucket. Compacted when `rev` <= the compact revision,
    /// FutureRev beyond the current one.
    pub fn hash_kv(&self, rev: i64) -> Result<(u32, i64, i64), Error> {
        self.core.check()?;
        crate::hash::hash_kv(&self.core, rev)
    }

    /// Size of the database file in bytes.
    pub fn db_size(&self) -> u64 {
        std::fs::metadata(&self.core.path).map_or(0, |m| m.len())
    }

    /// Bytes of the file holding live pages (refreshed at most once a
    /// second).
    pub fn db_size_in_use(&self) -> u64 {
        self.core.size_in_use()
    }

    pub fn counters(&self) -> Counters {
        let (streams, watchers, slow, events) = self.hub.gauges();
        Counters {
            watch_stream_total: streams,
            watcher_total: watchers,
            slow_watcher_total: slow,
            events_total: events,
            ..self.core.counters.snapshot()
        }
    }

    /// Every lease, by id, as of the current revision (for the server's
    /// lessor to rebuild its timers after a restart).
    pub fn leases(&self) -> Result<Vec<LeaseRecord>, Error> {
        self.core.check()?;
        Ok(self.core.read_shared().leases.records())
    }

    /// One lease as of the current revision.
    pub fn lease(&self, id: i64) -> Option<LeaseRecord> {
        self.core.read_shared().leases.record(id)
    }

    /// The keys attached to lease `id` at the current revision (live keys
    /// whose newest version names it), in key order.
    pub fn lease_keys(&self, id: i64) -> Vec<Vec<u8>> {
        self.core.read_shared().leases.keys(id)
    }

    /// A new stream of watchers.
    pub fn watch_stream(&self) -> WatchStream {
        WatchStream::new(Arc::clone(&self.hub))
    }

    /// Stops the store: watch streams end, later calls fail with `Closed`.
    /// Also done on drop.
    pub fn close(&self) {
        self.core.close();
        self.hub.close();
        let handle = self
            .syncer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}
