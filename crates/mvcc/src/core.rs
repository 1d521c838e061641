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
//!
//! The database itself is part of `Shared`: a snapshot restore swaps it
//! (with everything derived from it) in one step under the write lock, so a
//! reader that takes the index and a read transaction under one lock always
//! gets a matching pair. Read transactions hold their database open
//! ([`ReadView`]), so one begun before a swap keeps reading the old file.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{
    Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard,
    RwLockWriteGuard,
};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use redb::{Database, ReadTransaction, ReadableDatabase};

use crate::Error;
use crate::counters::CounterCells;
use crate::index::TreeIndex;
use crate::lease::Leases;

/// What readers see; changed only when a batch commits or a restore
/// installs a new database.
#[derive(Debug)]
pub(crate) struct Shared {
    pub db: Arc<Database>,
    /// Counts the restores: a reader that consults the index more than once
    /// for one read transaction checks it stayed the same.
    pub generation: u64,
    pub index: TreeIndex,
    pub current_rev: i64,
    pub compact_rev: i64,
    /// Published with `current_rev`: attachments as of that revision.
    pub leases: Leases,
}

impl Shared {
    /// A read transaction on the current database.
    pub fn begin_read(&self) -> Result<ReadView, Error> {
        Ok(ReadView {
            txn: self.db.begin_read().map_err(Error::storage)?,
            _db: Arc::clone(&self.db),
        })
    }
}

/// A read transaction and the database it reads: closing a database ends
/// its transactions, so this one keeps its own open across a restore.
pub(crate) struct ReadView {
    // dropped first: the transaction ends before its database may close
    txn: ReadTransaction,
    _db: Arc<Database>,
}

impl Deref for ReadView {
    type Target = ReadTransaction;

    fn deref(&self) -> &ReadTransaction {
        &self.txn
    }
}

/// Who holds the write gate.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Holder {
    #[default]
    Nobody,
    /// A write batch, from its start until its changes are published,
    /// opened on this thread.
    Batch(ThreadId),
    /// A restore, or a short look at the database's allocation.
    Other,
}

/// Lets one writer at a time at the database: a write batch, a restore, or
/// the allocation statistics (which need redb's writer).
#[derive(Debug, Default)]
pub(crate) struct WriteGate {
    holder: Mutex<Holder>,
    freed: Condvar,
}

/// Holding the gate; dropping it lets the next writer in.
#[derive(Debug)]
pub(crate) struct GatePass<'a>(&'a WriteGate);

impl WriteGate {
    fn wait<'g>(&'g self, held: MutexGuard<'g, Holder>) -> MutexGuard<'g, Holder> {
        self.freed
            .wait(held)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// For a write batch: waits for the gate.
    pub fn enter(&self) -> GatePass<'_> {
        let mut held = self.holder.lock().unwrap_or_else(PoisonError::into_inner);
        while *held != Holder::Nobody {
            held = self.wait(held);
        }
        *held = Holder::Batch(thread::current().id());
        GatePass(self)
    }

    /// For a restore: waits for the gate, but None when this thread holds
    /// an open write batch, which could never end while it waits.
    pub fn enter_for_restore(&self) -> Option<GatePass<'_>> {
        let me = Holder::Batch(thread::current().id());
        let mut held = self.holder.lock().unwrap_or_else(PoisonError::into_inner);
        while *held != Holder::Nobody {
            if *held == me {
                return None;
            }
            held = self.wait(held);
        }
        *held = Holder::Other;
        Some(GatePass(self))
    }

    /// For a short job that can be skipped: None when the gate is taken.
    pub fn try_enter(&self) -> Option<GatePass<'_>> {
        let mut held = self.holder.lock().unwrap_or_else(PoisonError::into_inner);
        if *held != Holder::Nobody {
            return None;
        }
        *held = Holder::Other;
        Some(GatePass(self))
    }
}

impl Drop for GatePass<'_> {
    fn drop(&mut self) {
        *self.0.holder.lock().unwrap_or_else(PoisonError::into_inner) = Holder::Nobody;
        // batches and restores wait alike; any of them may go next
        self.0.freed.notify_all();
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
    pub path: PathBuf,
    /// Memory redb may use to cache pages, for the databases a restore
    /// creates.
    pub cache_bytes: usize,
    pub shared: RwLock<Shared>,
    pub gate: WriteGate,
    pub consistent_index: AtomicU64,
    pub counters: CounterCells,
    poisoned: OnceLock<String>,
    closed: AtomicBool,
    in_use: InUse,
}

impl Core {
    pub fn new(path: PathBuf, cache_bytes: usize, shared: Shared, consistent_index: u64) -> Core {
        let live = shared.index.live_keys();
        let core = Core {
            path,
            cache_bytes,
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

    /// Publishes `next`, built from a restored database, in place of
    /// everything readers saw; returns its current revision and generation,
    /// and the replaced state (to drop outside the lock: closing a database
    /// may write).
    pub fn install(&self, mut next: Shared, consistent_index: u64) -> (i64, u64, Shared) {
        let live = next.index.live_keys();
        let mut shared = self.write_shared();
        next.generation = shared.generation + 1;
        let (current_rev, generation) = (next.current_rev, next.generation);
        let old = std::mem::replace(&mut *shared, next);
        self.consistent_index
            .store(consistent_index, Ordering::Release);
        self.counters.set_live_keys(live);
        (current_rev, generation, old)
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
    pub fn refresh_in_use(&self) {
        let Some(_pass) = self.gate.try_enter() else {
            return;
        };
        let db = Arc::clone(&self.read_shared().db);
        let Ok(txn) = db.begin_write() else {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_never_waits_for_its_own_threads_batch() {
        let gate = WriteGate::default();
        let batch = gate.enter();
        assert!(gate.enter_for_restore().is_none());
        assert!(gate.try_enter().is_none());
        drop(batch);
        let restore = gate.enter_for_restore().unwrap();
        assert!(gate.try_enter().is_none());
        drop(restore);
        assert!(gate.try_enter().is_some());
    }

    #[test]
    fn a_restore_waits_for_another_threads_batch() {
        let gate = Arc::new(WriteGate::default());
        let (entered, batch_open) = std::sync::mpsc::channel();
        let (release, may_end) = std::sync::mpsc::channel::<()>();
        let holder = {
            let gate = Arc::clone(&gate);
            thread::spawn(move || {
                let _batch = gate.enter();
                entered.send(()).unwrap();
                may_end.recv().unwrap();
            })
        };
        batch_open.recv().unwrap();
        let restorer = {
            let gate = Arc::clone(&gate);
            thread::spawn(move || gate.enter_for_restore().is_some())
        };
        thread::sleep(Duration::from_millis(50));
        assert!(!restorer.is_finished());
        release.send(()).unwrap();
        holder.join().unwrap();
        assert!(restorer.join().unwrap());
    }
}
