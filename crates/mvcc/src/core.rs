//! The state a store shares between its handle, its write batches and its
//! watch syncer: the database, the index, the leases and the published
//! revisions, the write gate, health and counters.
//!
//! Visibility rule: `Shared::current_rev` is the newest revision readers may
//! see. A write batch adds its revisions to the index and the database
//! before they are published; readers never ask about revisions above
//! `current_rev`, and the database keeps every revision a reader may ask
//! about until a compaction is published. A batch that compacts therefore
//! commits to disk while holding the `shared` write lock, so no reader can
//! pair the old compact revision with the new file contents.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use redb::Database;

use crate::Error;
use crate::counters::CounterCells;
use crate::index::TreeIndex;
use crate::lease::Leases;

/// What readers see; changed only when a batch commits.
#[derive(Debug)]
pub(crate) struct Shared {
    pub index: TreeIndex,
    pub current_rev: i64,
    pub compact_rev: i64,
    /// Published with `current_rev`: attachments as of that revision.
    pub leases: Leases,
}

/// Lets one write batch exist at a time, from its start until its changes
/// are published.
#[derive(Debug, Default)]
pub(crate) struct WriteGate {
    busy: Mutex<bool>,
    freed: Condvar,
}

/// Holding the gate; dropping it lets the next batch in.
#[derive(Debug)]
pub(crate) struct GatePass<'a>(&'a WriteGate);

impl WriteGate {
    pub fn enter(&self) -> GatePass<'_> {
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        while *busy {
            busy = self
                .freed
                .wait(busy)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *busy = true;
        GatePass(self)
    }

    pub fn try_enter(&self) -> Option<GatePass<'_>> {
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        if *busy {
            return None;
        }
        *busy = true;
        Some(GatePass(self))
    }
}

impl Drop for GatePass<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.0.freed.notify_one();
    }
}

/// The cached answer to "how much of the file is in use", refreshed at most
/// once per `IN_USE_REFRESH` because redb computes it by walking the trees.
#[derive(Debug)]
pub(crate) struct InUse {
    bytes: AtomicU64,
    refreshed: Mutex<Option<Instant>>,
}

const IN_USE_REFRESH: Duration = Duration::from_secs(1);

pub(crate) struct Core {
    pub db: Database,
    pub path: PathBuf,
    pub shared: RwLock<Shared>,
    pub gate: WriteGate,
    pub consistent_index: AtomicU64,
    pub counters: CounterCells,
    poisoned: OnceLock<String>,
    closed: AtomicBool,
    in_use: InUse,
}

impl Core {
    pub fn new(db: Database, path: PathBuf, shared: Shared, consistent_index: u64) -> Core {
        let live = shared.index.live_keys();
        let core = Core {
            db,
            path,
            shared: RwLock::new(shared),
            gate: WriteGate::default(),
            consistent_index: AtomicU64::new(consistent_index),
            counters: CounterCells::new(live),
            poisoned: OnceLock::new(),
            closed: AtomicBool::new(false),
            in_use: InUse {
                bytes: AtomicU64::new(0),
                refreshed: Mutex::new(None),
            },
        };
        core.refresh_in_use();
        core
    }

    pub fn read_shared(&self) -> RwLockReadGuard<'_, Shared> {
        self.shared.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn write_shared(&self) -> RwLockWriteGuard<'_, Shared> {
        self.shared.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ok while the store may be used.
    pub fn check(&self) -> Result<(), Error> {
        if let Some(reason) = self.poisoned.get() {
            return Err(Error::Poisoned(reason.clone()));
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Marks the store unusable; the first reason is kept.
    pub fn poison(&self, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::error!(path = %self.path.display(), %reason, "mvcc store poisoned");
        let _ = self.poisoned.set(reason);
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub fn size_in_use(&self) -> u64 {
        let stale = self
            .in_use
            .refreshed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none_or(|at| at.elapsed() >= IN_USE_REFRESH);
        if stale {
            self.refresh_in_use();
        }
        self.in_use.bytes.load(Ordering::Relaxed)
    }

    /// Asks redb for its allocated pages, unless a batch holds the writer.
    fn refresh_in_use(&self) {
        let Some(_pass) = self.gate.try_enter() else {
            return;
        };
        let Ok(txn) = self.db.begin_write() else {
            return;
        };
        if let Ok(stats) = txn.stats() {
            let bytes = stats.allocated_pages() * stats.page_size() as u64;
            self.in_use.bytes.store(bytes, Ordering::Relaxed);
        }
        let _ = txn.abort();
        *self
            .in_use
            .refreshed
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
