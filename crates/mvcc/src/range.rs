//! Range requests, in two steps so the index lock is held only for the
//! first: `plan` checks the revision and asks the index which revisions to
//! read; `execute` reads them from a table (a reader's snapshot or the open
//! write batch) and applies etcd's options: limit and `more`, count_only,
//! keys_only, min/max mod and create revision, sort.

use std::cmp::Ordering;

use api::pb::etcdserverpb::range_request::{SortOrder, SortTarget};
use api::pb::etcdserverpb::{RangeRequest, RangeResponse, ResponseHeader};
use api::pb::mvccpb::KeyValue;
use prost::Message;
use redb::ReadableTable;

use crate::Error;
use crate::index::{KeySpan, TreeIndex};
use crate::revision::Revision;
use crate::tables::Bytes;

/// The revisions a range must read, found in the index.
#[derive(Debug)]
pub(crate) struct RangePlan {
    revs: Vec<Revision>,
    /// The revision the response header reports.
    header_rev: i64,
}

/// Checks `req.revision` against the readable window (compact_rev,
/// cur_rev] and looks up the revisions to read.
pub(crate) fn plan(
    index: &TreeIndex,
    req: &RangeRequest,
    cur_rev: i64,
    compact_rev: i64,
) -> Result<RangePlan, Error> {
    let at_rev = read_revision(req.revision, cur_rev, compact_rev)?;
    let span = KeySpan::from_request(&req.key, &req.range_end);
    Ok(RangePlan {
        revs: index.revisions(span, at_rev),
        header_rev: cur_rev,
    })
}

/// The revision a read at `requested` (0 = newest) happens at, or etcd's
/// error when it is outside the readable window.
pub(crate) fn read_revision(requested: i64, cur_rev: i64, compact_rev: i64) -> Result<i64, Error> {
    if requested > cur_rev {
        return Err(api::Error::FutureRev.into());
    }
    let at_rev = if requested <= 0 { cur_rev } else { requested };
    if at_rev < compact_rev {
        return Err(api::Error::Compacted.into());
    }
    Ok(at_rev)
}

/// Reads the key-value written at `rev`.
pub(crate) fn read_kv<T: ReadableTable<Bytes, Bytes>>(
    table: &T,
    rev: Revision,
) -> Result<KeyValue, Error> {
    let bytes = rev.to_bytes();
    let guard = table
        .get(bytes.as_slice())
        .map_err(Error::storage)?
        .ok_or_else(|| Error::Corrupt(format!("revision {rev} is indexed but missing on disk")))?;
    KeyValue::decode(guard.value())
        .map_err(|e| Error::Corrupt(format!("undecodable key-value at revision {rev}: {e}")))
}

pub(crate) fn execute<T: ReadableTable<Bytes, Bytes>>(
    table: &T,
    req: &RangeRequest,
    plan: RangePlan,
) -> Result<RangeResponse, Error> {
    let order = SortOrder::try_from(req.sort_order).ok();
    let target = SortTarget::try_from(req.sort_target).unwrap_or(SortTarget::Key);
    let filtered = req.min_mod_revision != 0
        || req.max_mod_revision != 0
        || req.min_create_revision != 0
        || req.max_create_revision != 0;
    // sorting or filtering needs every match; otherwise one more than the
    // limit tells whether there is more
    let fetch_limit = if order != Some(SortOrder::None) || filtered {
        0
    } else if req.limit > 0 {
        req.limit.saturating_add(1)
    } else {
        0
    };

    let count = plan.revs.len() as i64;
    let header = Some(ResponseHeader {
        revision: plan.header_rev,
        ..ResponseHeader::default()
    });
    if req.count_only || plan.revs.is_empty() {
        return Ok(RangeResponse {
            header,
            kvs: Vec::new(),
            more: false,
            count,
        });
    }

    let n = usize::try_from(fetch_limit)
        .ok()
        .filter(|&l| l > 0 && l < plan.revs.len())
        .unwrap_or(plan.revs.len());
    let mut kvs = plan.revs[..n]
        .iter()
        .map(|&rev| read_kv(table, rev))
        .collect::<Result<Vec<_>, _>>()?;

    kvs.retain(|kv| {
        (req.max_mod_revision == 0 || kv.mod_revision <= req.max_mod_revision)
            && (req.min_mod_revision == 0 || kv.mod_revision >= req.min_mod_revision)
            && (req.max_create_revision == 0 || kv.create_revision <= req.max_create_revision)
            && (req.min_create_revision == 0 || kv.create_revision >= req.min_create_revision)
    });

    // results come in key order; any other target sorts ascending unless
    // told otherwise
    let order = match order {
        Some(SortOrder::None) if target != SortTarget::Key => Some(SortOrder::Ascend),
        other => other,
    };
    match order {
        Some(SortOrder::Ascend) => kvs.sort_by(|a, b| compare_by(target, a, b)),
        Some(SortOrder::Descend) => kvs.sort_by(|a, b| compare_by(target, b, a)),
        _ => {}
    }

    let mut more = false;
    if let Ok(limit) = usize::try_from(req.limit)
        && limit > 0
        && kvs.len() > limit
    {
        kvs.truncate(limit);
        more = true;
    }
    if req.keys_only {
        for kv in &mut kvs {
            kv.value.clear();
        }
    }
    Ok(RangeResponse {
        header,
        kvs,
        more,
        count,
    })
}

fn compare_by(target: SortTarget, a: &KeyValue, b: &KeyValue) -> Ordering {
    match target {
        SortTarget::Key => a.key.cmp(&b.key),
        SortTarget::Version => a.version.cmp(&b.version),
        SortTarget::Create => a.create_revision.cmp(&b.create_revision),
        SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
        SortTarget::Value => a.value.cmp(&b.value),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn readable_window() {
        assert_eq!(read_revision(0, 10, 4).unwrap(), 10);
        assert_eq!(read_revision(-3, 10, 4).unwrap(), 10);
        assert_eq!(
            read_revision(4, 10, 4).unwrap(),
            4,
            "the compact revision itself is readable"
        );
        assert_eq!(read_revision(10, 10, -1).unwrap(), 10);
        assert_eq!(read_revision(11, 10, 4), Err(api::Error::FutureRev.into()));
        assert_eq!(read_revision(3, 10, 4), Err(api::Error::Compacted.into()));
    }
}
