//! Opening the database file and rebuilding the in-memory state from it:
//! the key index from the `key` table (in revision order, as etcd's restore
//! does), the leases from the `lease` table with their attached keys taken
//! from the newest KeyValue of each live key, the compact revision and the
//! consistent index from `meta`; the membership tables are checked. Any
//! inconsistency is reported as corruption; a damaged file never turns
//! into an empty store.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use api::pb::mvccpb::KeyValue;
use prost::Message;
use redb::{Database, ReadableDatabase, ReadableTable};

use crate::Error;
use crate::core::Shared;
use crate::index::TreeIndex;
use crate::lease::{LeaseRecord, Leases};
use crate::membership;
use crate::revision::Revision;
use crate::tables::{
    ALL, CONSISTENT_INDEX, FINISHED_COMPACT, KV, LEASE, META, decode_compact_rev, decode_index,
    decode_lease_id,
};

/// The state found on disk.
#[derive(Debug)]
pub(crate) struct Restored {
    pub shared: Shared,
    pub consistent_index: u64,
}

/// Opens (or creates) the file, verifying every page checksum, and makes
/// sure every table exists.
pub(crate) fn open_database(path: &Path, cache_bytes: usize) -> Result<Database, Error> {
    open_with(path, cache_bytes, true)
}

/// Creates an empty database for a restore, with every table; `path` must
/// not exist.
pub(crate) fn create_database(path: &Path, cache_bytes: usize) -> Result<Database, Error> {
    open_with(path, cache_bytes, false)
}

fn open_with(path: &Path, cache_bytes: usize, verify: bool) -> Result<Database, Error> {
    let context = |err: Error| match err {
        Error::Corrupt(reason) => Error::Corrupt(format!("{}: {reason}", path.display())),
        Error::Storage(reason) => Error::Storage(format!("{}: {reason}", path.display())),
        other => other,
    };
    // redb documents that a damaged file may make it panic; a panic here
    // must still end as an error, not as a crash or an empty store.
    let opened = catch_unwind(AssertUnwindSafe(|| -> Result<Database, Error> {
        let db = redb::Builder::new()
            .set_check_integrity_on_open(verify)
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(Error::storage)?;
        let txn = db.begin_write().map_err(Error::storage)?;
        for table in ALL {
            txn.open_table(table).map_err(Error::storage)?;
        }
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

/// Revisions and versions at or past this are damage: each write takes a
/// revision or raises a version by one, and no store makes 2^62 writes.
/// Refusing them leaves the arithmetic on revisions and versions after a
/// restore room never to overflow.
const PLAUSIBLE_LIMIT: i64 = 1 << 62;

/// Refuses a `key`-table row that no write makes: a revision outside what
/// a store reaches, or a live value not created between revision 1 and its
/// own revision, or whose version is not positive.
fn check_row(rev: Revision, tombstone: bool, value: &KeyValue) -> Result<(), String> {
    if !(1..PLAUSIBLE_LIMIT).contains(&rev.main) || !(0..PLAUSIBLE_LIMIT).contains(&rev.sub) {
        return Err("revision out of range".into());
    }
    if tombstone {
        return Ok(());
    }
    if !(1..=rev.main).contains(&value.create_revision) {
        return Err(format!("creation revision {}", value.create_revision));
    }
    if !(1..PLAUSIBLE_LIMIT).contains(&value.version) {
        return Err(format!("version {}", value.version));
    }
    Ok(())
}

/// Rebuilds the index and revisions from the database.
pub(crate) fn load(db: Arc<Database>) -> Result<Restored, Error> {
    let txn = db.begin_read().map_err(Error::storage)?;
    membership::check(&txn)?;
    let meta = txn.open_table(META).map_err(Error::storage)?;
    let consistent_index = match meta.get(CONSISTENT_INDEX).map_err(Error::storage)? {
        Some(v) => decode_index(v.value())?,
        None => 0,
    };
    let compact_rev = match meta.get(FINISHED_COMPACT).map_err(Error::storage)? {
        Some(v) => {
            let rev = decode_compact_rev(v.value())?;
            if !(0..PLAUSIBLE_LIMIT).contains(&rev) {
                return Err(Error::Corrupt(format!(
                    "compaction revision {rev} is out of range"
                )));
            }
            rev
        }
        None => -1,
    };

    let kv = txn.open_table(KV).map_err(Error::storage)?;
    let mut index = TreeIndex::default();
    let mut lease_of = HashMap::new();
    let mut current_rev = 1;
    for entry in kv.iter().map_err(Error::storage)? {
        let (k, v) = entry.map_err(Error::storage)?;
        let (rev, tombstone) = Revision::from_key(k.value())?;
        let value = KeyValue::decode(v.value())
            .map_err(|e| Error::Corrupt(format!("undecodable key-value at revision {rev}: {e}")))?;
        check_row(rev, tombstone, &value)
            .map_err(|why| Error::Corrupt(format!("key-value at revision {rev}: {why}")))?;
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
        // rows come in revision order: the last one of a key decides
        if tombstone || value.lease == 0 {
            lease_of.remove(&value.key);
        } else {
            lease_of.insert(value.key, value.lease);
        }
        current_rev = rev.main;
    }
    // a compaction may have removed the newest revisions (tombstones)
    let current_rev = current_rev.max(compact_rev);
    let leases = Leases::restored(load_leases(&txn)?, lease_of);
    let orphans = leases.orphans();
    if orphans > 0 {
        // etcd logs such keys and keeps going; they stay readable with the
        // lease they name and are deleted if that lease is granted and
        // revoked
        tracing::warn!(
            keys = orphans,
            "live keys name a lease that is not in the lease table"
        );
    }
    drop((kv, meta, txn));
    Ok(Restored {
        shared: Shared {
            db,
            generation: 0,
            index,
            current_rev,
            compact_rev,
            leases,
        },
        consistent_index,
    })
}

/// The `lease` table; a row that no grant or checkpoint writes is damage.
fn load_leases(txn: &redb::ReadTransaction) -> Result<BTreeMap<i64, LeaseRecord>, Error> {
    let table = txn.open_table(LEASE).map_err(Error::storage)?;
    let mut records = BTreeMap::new();
    for entry in table.iter().map_err(Error::storage)? {
        let (k, v) = entry.map_err(Error::storage)?;
        let id = decode_lease_id(k.value())?;
        let record = LeaseRecord::decode(v.value())
            .map_err(|e| Error::Corrupt(format!("undecodable lease {id}: {e}")))?;
        if id == 0 || record.id != id {
            return Err(Error::Corrupt(format!(
                "lease row {id} holds lease {}",
                record.id
            )));
        }
        records.insert(id, record);
    }
    Ok(records)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn live(key: &[u8], create_revision: i64, version: i64) -> KeyValue {
        KeyValue {
            key: key.to_vec(),
            create_revision,
            mod_revision: create_revision,
            version,
            ..KeyValue::default()
        }
    }

    /// Loads a database holding `rows` and, if given, a finished
    /// compaction revision.
    fn load_rows(
        rows: &[(Revision, bool, KeyValue)],
        compact: Option<i64>,
    ) -> Result<Restored, Error> {
        load_with_leases(rows, compact, &[])
    }

    /// Like `load_rows`, with raw `lease` table rows.
    fn load_with_leases(
        rows: &[(Revision, bool, KeyValue)],
        compact: Option<i64>,
        leases: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<Restored, Error> {
        let dir = tempfile::tempdir().unwrap();
        let db = open_database(&dir.path().join("db"), 1 << 20).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut kv = txn.open_table(KV).unwrap();
            for (rev, tombstone, value) in rows {
                kv.insert(
                    rev.to_key(*tombstone).as_slice(),
                    value.encode_to_vec().as_slice(),
                )
                .unwrap();
            }
            let mut lease = txn.open_table(LEASE).unwrap();
            for (id, record) in leases {
                lease.insert(id.as_slice(), record.as_slice()).unwrap();
            }
            let mut meta = txn.open_table(META).unwrap();
            if let Some(rev) = compact {
                let marker = Revision::new(rev, 0).to_bytes();
                meta.insert(FINISHED_COMPACT, marker.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
        load(Arc::new(db))
    }

    fn corrupt(result: Result<Restored, Error>) -> String {
        match result {
            Err(Error::Corrupt(reason)) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rows_as_writes_make_them_load() {
        let restored = load_rows(
            &[
                (Revision::new(2, 0), false, live(b"a", 2, 1)),
                (Revision::new(3, 0), false, live(b"a", 2, 2)),
                (Revision::new(3, 1), true, KeyValue::default()),
            ],
            Some(2),
        )
        .unwrap();
        assert_eq!(restored.shared.current_rev, 3);
        assert_eq!(restored.shared.compact_rev, 2);
    }

    /// Found by the `mvcc_store` fuzz target: a revision at the top of the
    /// range made the next write's revision overflow.
    #[test]
    fn revisions_no_store_reaches_are_corrupt() {
        let top = Revision::new(i64::MAX, 0);
        let reason = corrupt(load_rows(&[(top, false, live(b"a", 1, 1))], None));
        assert!(reason.contains("revision out of range"), "{reason}");
        let negative = Revision::new(-5, 0);
        assert!(
            corrupt(load_rows(&[(negative, true, KeyValue::default())], None))
                .contains("out of range")
        );
        let reason = corrupt(load_rows(&[], Some(i64::MAX)));
        assert!(reason.contains("compaction revision"), "{reason}");
        assert!(corrupt(load_rows(&[], Some(-3))).contains("compaction revision"));
    }

    #[test]
    fn live_values_need_a_creation_and_a_version() {
        let at = Revision::new(4, 0);
        let reason = corrupt(load_rows(&[(at, false, live(b"a", 5, 1))], None));
        assert!(reason.contains("creation revision 5"), "{reason}");
        let reason = corrupt(load_rows(&[(at, false, live(b"a", 0, 1))], None));
        assert!(reason.contains("creation revision 0"), "{reason}");
        let reason = corrupt(load_rows(&[(at, false, live(b"a", 2, i64::MAX))], None));
        assert!(reason.contains("version"), "{reason}");
        let reason = corrupt(load_rows(&[(at, false, live(b"a", 2, 0))], None));
        assert!(reason.contains("version 0"), "{reason}");
    }

    fn leased(key: &[u8], create_revision: i64, version: i64, lease: i64) -> KeyValue {
        KeyValue {
            lease,
            ..live(key, create_revision, version)
        }
    }

    fn lease_row(id: i64, ttl: i64) -> (Vec<u8>, Vec<u8>) {
        let record = LeaseRecord {
            id,
            ttl,
            remaining_ttl: 0,
        };
        (id.to_be_bytes().to_vec(), record.encode_to_vec())
    }

    #[test]
    fn leases_attach_to_the_newest_version_of_live_keys() {
        let restored = load_with_leases(
            &[
                // a: leased, then re-put without a lease
                (Revision::new(2, 0), false, leased(b"a", 2, 1, 7)),
                (Revision::new(3, 0), false, live(b"a", 2, 2)),
                // b: leased, then deleted
                (Revision::new(4, 0), false, leased(b"b", 4, 1, 7)),
                (
                    Revision::new(5, 0),
                    true,
                    KeyValue {
                        key: b"b".to_vec(),
                        ..KeyValue::default()
                    },
                ),
                // c and d: leased and alive, d moved from 7 to 9
                (Revision::new(6, 0), false, leased(b"c", 6, 1, 7)),
                (Revision::new(6, 1), false, leased(b"d", 6, 1, 7)),
                (Revision::new(7, 0), false, leased(b"d", 6, 2, 9)),
            ],
            None,
            &[lease_row(9, 60), lease_row(7, 5)],
        )
        .unwrap();
        let leases = &restored.shared.leases;
        assert_eq!(leases.keys(7), vec![b"c".to_vec()]);
        assert_eq!(leases.keys(9), vec![b"d".to_vec()]);
        assert_eq!(leases.lease_of(b"a"), 0);
        assert_eq!(leases.lease_of(b"b"), 0);
        let ids: Vec<(i64, i64)> = leases.records().iter().map(|r| (r.id, r.ttl)).collect();
        assert_eq!(ids, vec![(7, 5), (9, 60)]);
        assert_eq!(leases.orphans(), 0);
    }

    #[test]
    fn damaged_lease_rows_are_corrupt() {
        let short = (vec![0, 1], lease_row(1, 5).1);
        assert!(corrupt(load_with_leases(&[], None, &[short])).contains("lease id has 2 bytes"));
        let garbage = (lease_row(1, 5).0, vec![0xff, 0xff, 0xff]);
        assert!(corrupt(load_with_leases(&[], None, &[garbage])).contains("undecodable lease 1"));
        let mismatched = (lease_row(1, 5).0, lease_row(2, 5).1);
        assert!(corrupt(load_with_leases(&[], None, &[mismatched])).contains("holds lease 2"));
        assert!(corrupt(load_with_leases(&[], None, &[lease_row(0, 5)])).contains("row 0"));
    }

    #[test]
    fn keys_naming_a_missing_lease_load_as_orphans() {
        let restored = load_with_leases(
            &[(Revision::new(2, 0), false, leased(b"a", 2, 1, 42))],
            None,
            &[],
        )
        .unwrap();
        assert_eq!(restored.shared.leases.orphans(), 1);
        assert_eq!(restored.shared.leases.keys(42), vec![b"a".to_vec()]);
    }
}
