//! Opening the database file and rebuilding the in-memory state from it:
//! the key index from the `key` table (in revision order, as etcd's restore
//! does), the compact revision and the consistent index from `meta`. Any
//! inconsistency is reported as corruption; a damaged file never turns into
//! an empty store.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use api::pb::mvccpb::KeyValue;
use prost::Message;
use redb::{Database, ReadableDatabase, ReadableTable};

use crate::Error;
use crate::core::Shared;
use crate::index::TreeIndex;
use crate::revision::Revision;
use crate::tables::{
    CONSISTENT_INDEX, FINISHED_COMPACT, KV, META, decode_compact_rev, decode_index,
};

/// The state found on disk.
#[derive(Debug)]
pub(crate) struct Restored {
    pub shared: Shared,
    pub consistent_index: u64,
}

/// Opens (or creates) the file, verifying every page checksum, and makes
/// sure both tables exist.
pub(crate) fn open_database(path: &Path, cache_bytes: usize) -> Result<Database, Error> {
    let context = |err: Error| match err {
        Error::Corrupt(reason) => Error::Corrupt(format!("{}: {reason}", path.display())),
        Error::Storage(reason) => Error::Storage(format!("{}: {reason}", path.display())),
        other => other,
    };
    // redb documents that a damaged file may make it panic; a panic here
    // must still end as an error, not as a crash or an empty store.
    let opened = catch_unwind(AssertUnwindSafe(|| -> Result<Database, Error> {
        let db = redb::Builder::new()
            .set_check_integrity_on_open(true)
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(Error::storage)?;
        let txn = db.begin_write().map_err(Error::storage)?;
        txn.open_table(KV).map_err(Error::storage)?;
        txn.open_table(META).map_err(Error::storage)?;
        txn.commit().map_err(Error::storage)?;
        Ok(db)
    }));
    match opened {
        Ok(result) => result.map_err(context),
        Err(_) => Err(context(Error::Corrupt(
            "the storage engine failed while opening the file".into(),
        ))),
    }
}

/// Rebuilds the index and revisions from the database.
pub(crate) fn load(db: &Database) -> Result<Restored, Error> {
    let txn = db.begin_read().map_err(Error::storage)?;
    let meta = txn.open_table(META).map_err(Error::storage)?;
    let consistent_index = match meta.get(CONSISTENT_INDEX).map_err(Error::storage)? {
        Some(v) => decode_index(v.value())?,
        None => 0,
    };
    let compact_rev = match meta.get(FINISHED_COMPACT).map_err(Error::storage)? {
        Some(v) => decode_compact_rev(v.value())?,
        None => -1,
    };

    let kv = txn.open_table(KV).map_err(Error::storage)?;
    let mut index = TreeIndex::default();
    let mut current_rev = 1;
    for entry in kv.iter().map_err(Error::storage)? {
        let (k, v) = entry.map_err(Error::storage)?;
        let (rev, tombstone) = Revision::from_key(k.value())?;
        let value = KeyValue::decode(v.value())
            .map_err(|e| Error::Corrupt(format!("undecodable key-value at revision {rev}: {e}")))?;
        index
            .restore(
                &value.key,
                rev,
                tombstone,
                value.create_revision,
                value.version,
            )
            .map_err(|e| {
                Error::Corrupt(format!(
                    "revision {} of key {:?} follows {}",
                    e.given,
                    String::from_utf8_lossy(&value.key),
                    e.last
                ))
            })?;
        current_rev = rev.main;
    }
    // a compaction may have removed the newest revisions (tombstones)
    let current_rev = current_rev.max(compact_rev);
    Ok(Restored {
        shared: Shared {
            index,
            current_rev,
            compact_rev,
        },
        consistent_index,
    })
}
