//! Consistency hashes for etcd's Maintenance.Hash and HashKV: CRC-32C
//! (Castagnoli) over table contents, so members with the same applied
//! history produce the same number. Hash covers every table (leases and
//! their checkpoints, membership included); HashKV covers only the key
//! space.

use std::collections::HashSet;

use crc::{CRC_32_ISCSI, Crc};
use redb::{ReadableTable, TableHandle};

use crate::Error;
use crate::core::Core;
use crate::revision::Revision;
use crate::tables::{ALL, CONSISTENT_INDEX, KV, META};

pub(crate) static CASTAGNOLI: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// Hash of the whole store like etcd's backend hash: each table's name,
/// then its keys and values in order, tables in name order (cluster, key,
/// lease, members, members_removed, meta) as bolt walks its buckets. The
/// consistent index is left out (it differs between members that applied
/// the same data), and so are revisions not yet published.
pub(crate) fn hash(core: &Core) -> Result<u32, Error> {
    let (cur_rev, txn) = {
        let shared = core.read_shared();
        (shared.current_rev, shared.begin_read()?)
    };
    let mut digest = CASTAGNOLI.digest();
    let unpublished = Revision::new(cur_rev.saturating_add(1), 0).to_bytes();
    for definition in ALL {
        digest.update(definition.name().as_bytes());
        let table = txn.open_table(definition).map_err(Error::storage)?;
        let rows = if definition.name() == KV.name() {
            table.range(..unpublished.as_slice())
        } else {
            table.iter()
        };
        for entry in rows.map_err(Error::storage)? {
            let (k, v) = entry.map_err(Error::storage)?;
            if definition.name() == META.name() && k.value() == CONSISTENT_INDEX {
                continue;
            }
            digest.update(k.value());
            digest.update(v.value());
        }
    }
    Ok(digest.finalize())
}

/// etcd's HashByRev: the key table (never the leases) up to `rev` (0 =
/// current), counting revisions at or below the compact revision only if a
/// compaction at `rev` would keep them. Returns (hash, compact revision,
/// current revision).
pub(crate) fn hash_kv(core: &Core, rev: i64) -> Result<(u32, i64, i64), Error> {
    let (cur_rev, compact_rev, at, keep, txn) = {
        let shared = core.read_shared();
        let (cur, compact) = (shared.current_rev, shared.compact_rev);
        if rev > 0 && rev <= compact {
            return Err(api::Error::Compacted.into());
        }
        if rev > 0 && rev > cur {
            return Err(api::Error::FutureRev.into());
        }
        let at = if rev == 0 { cur } else { rev };
        let keep = shared.index.keep(at);
        let txn = shared.begin_read()?;
        (cur, compact, at, keep, txn)
    };
    let mut digest = CASTAGNOLI.digest();
    digest.update(b"key");
    let kv = txn.open_table(KV).map_err(Error::storage)?;
    let upper = Revision::new(at.saturating_add(1), 0).to_bytes();
    for entry in kv.range(..upper.as_slice()).map_err(Error::storage)? {
        let (k, v) = entry.map_err(Error::storage)?;
        let (kr, _) = Revision::from_key(k.value())?;
        if skipped_by_compaction(kr, compact_rev, &keep) {
            continue;
        }
        digest.update(k.value());
        digest.update(v.value());
    }
    Ok((digest.finalize(), compact_rev, cur_rev))
}

fn skipped_by_compaction(rev: Revision, compact_rev: i64, keep: &HashSet<Revision>) -> bool {
    rev.main <= compact_rev && !keep.is_empty() && !keep.contains(&rev)
}
