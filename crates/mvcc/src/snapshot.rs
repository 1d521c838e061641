//! Whole-store snapshots: a consistent dump of every table (the format is
//! in dump.rs) and the restore that replaces the store's contents with
//! one, as a member does with the snapshot its leader sends.
//!
//! A restore never writes the live file. It builds a new database in a
//! staging file beside it (`<file>.restore`), makes it durable, checks it
//! like a file being opened, then renames it over the live path and syncs
//! the directory. A rename is atomic, so a process crash at any point
//! leaves at the live path either the whole old database or the whole new
//! one, never a mix or a partial file; a leftover staging file is removed
//! by the next restore or [`Store::open`]. Only then is the new database
//! swapped in for readers, with everything derived from it (key index,
//! leases, revisions, consistent index), in one step under the `shared`
//! write lock while the watch hub is locked: a reader sees either the old
//! state or the new one, and one that began on the old database keeps
//! reading it. Watchers move to the new contents: every watcher that has
//! not yet seen the new current revision catches up from the new history
//! (and is canceled with the compact revision if that history no longer
//! reaches back to it); one that is ahead of it waits for the next revision
//! of the new contents.

use std::fs::{self, File};
use std::io::{BufReader, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Error;
use crate::dump;
use crate::restore::{self, Restored};
use crate::store::Store;

/// Where a restore builds the new database for the live file `path`.
pub(crate) fn staging_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".restore");
    path.with_file_name(name)
}

/// Removes what an interrupted restore left behind.
pub(crate) fn remove_staging(path: &Path) -> Result<(), Error> {
    let staging = staging_path(path);
    match fs::remove_file(&staging) {
        Ok(()) => {
            tracing::warn!(path = %staging.display(), "removed an unfinished restore");
            Ok(())
        }
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::Storage(format!(
            "removing {}: {err}",
            staging.display()
        ))),
    }
}

impl Store {
    /// Writes a consistent dump of every table, from one read transaction,
    /// to `out`; returns the consistent index it reflects. Writers go on
    /// meanwhile; the dump shows none of their later commits.
    pub fn write_snapshot(&self, out: &mut dyn Write) -> Result<u64, Error> {
        self.core.check()?;
        let txn = self.core.read_shared().begin_read()?;
        dump::write(&txn, out)
    }

    /// Replaces the whole contents with a dump written by
    /// [`Store::write_snapshot`], atomically on disk and for readers (see
    /// the module doc). On a damaged or truncated dump, or a failure before
    /// the rename, the old contents stay and an error is returned. Waits
    /// for an open write batch of another thread; refused while the calling
    /// thread holds one. A failure to sync the directory after the rename
    /// leaves the new contents in use and the store poisoned, since the
    /// file a restart finds is then unknown.
    pub fn restore_snapshot(&self, dump: &mut dyn Read) -> Result<(), Error> {
        let core = &self.core;
        core.check()?;
        let pass = core.gate.enter_for_restore().ok_or_else(|| {
            Error::Storage("a restore cannot wait for the write batch of its own thread".into())
        })?;
        core.check()?;
        remove_staging(&core.path)?;
        let staging = staging_path(&core.path);
        let restored = match build(&staging, core.cache_bytes, dump) {
            Ok(restored) => restored,
            Err(err) => {
                let _ = fs::remove_file(&staging);
                return Err(err);
            }
        };
        if let Err(err) = fs::rename(&staging, &core.path) {
            drop(restored);
            let _ = fs::remove_file(&staging);
            return Err(Error::Storage(format!(
                "renaming {} over {}: {err}",
                staging.display(),
                core.path.display()
            )));
        }
        let synced = sync_parent(&core.path);
        let consistent_index = restored.consistent_index;
        let old = self
            .hub
            .restore(|| core.install(restored.shared, consistent_index));
        drop(pass);
        // the old database closes here unless a reader still holds it
        drop(old);
        core.refresh_in_use();
        if let Err(err) = synced {
            core.poison(format!("restore: {err}"));
            return Err(err);
        }
        let shared = core.read_shared();
        tracing::info!(
            path = %core.path.display(),
            current_rev = shared.current_rev,
            compact_rev = shared.compact_rev,
            consistent_index,
            "mvcc store restored from a snapshot"
        );
        Ok(())
    }

    /// [`Store::restore_snapshot`] from a dump file.
    pub fn restore_snapshot_file(&self, path: &Path) -> Result<(), Error> {
        let file = File::open(path)
            .map_err(|e| Error::Storage(format!("opening {}: {e}", path.display())))?;
        self.restore_snapshot(&mut BufReader::new(file))
    }
}

/// Builds the database of `dump` at `staging`, durable and loaded.
fn build(staging: &Path, cache_bytes: usize, dump: &mut dyn Read) -> Result<Restored, Error> {
    let db = restore::create_database(staging, cache_bytes)?;
    dump::read(dump, &db)?;
    // one durable commit makes every interim commit of the dump durable
    let mut txn = db.begin_write().map_err(Error::storage)?;
    txn.set_durability(redb::Durability::Immediate)
        .map_err(|e| Error::Storage(e.to_string()))?;
    txn.commit().map_err(Error::storage)?;
    restore::load(Arc::new(db))
}

/// Makes a rename in the directory of `path` durable.
fn sync_parent(path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::Storage(format!("syncing directory {}: {e}", dir.display())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::StoreOptions;

    #[test]
    fn staging_sits_beside_the_live_file() {
        assert_eq!(
            staging_path(Path::new("/data/member/db")),
            Path::new("/data/member/db.restore")
        );
        assert_eq!(staging_path(Path::new("db")), Path::new("db.restore"));
    }

    /// A crash during a restore leaves the old file and a staging file:
    /// opening the store keeps the old contents and drops the leftover.
    #[test]
    fn opening_after_an_interrupted_restore_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let store = Store::open(&path, StoreOptions::default()).unwrap();
            let mut b = store.write_batch().unwrap();
            b.put(&api::pb::etcdserverpb::PutRequest {
                key: b"kept".to_vec(),
                ..Default::default()
            })
            .unwrap();
            b.set_consistent_index(4);
            b.commit(true).unwrap();
        }
        std::fs::write(staging_path(&path), b"half a database").unwrap();
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        assert!(!staging_path(&path).exists());
        assert_eq!(store.consistent_index(), 4);
        assert_eq!(store.current_revision(), 2);
    }
}
