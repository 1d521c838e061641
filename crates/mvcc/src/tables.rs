//! The layout of the database file, named like etcd's bolt buckets: `key`
//! maps an encoded revision to the prost-encoded `mvccpb::KeyValue` written
//! at that revision; `lease` maps a lease id (8 bytes big-endian, etcd's
//! int64ToBytes) to the prost-encoded [`crate::LeaseRecord`]; `meta` holds
//! the raft index the data corresponds to and the compaction revisions.
//! The cluster's membership lives beside the data, like etcd's buckets of
//! the same names: `members` maps a member id (8 bytes big-endian) to the
//! member as the server encodes it (opaque here), `members_removed` holds
//! the ids of removed members (empty values), and `cluster` holds the
//! cluster version under `clusterVersion`.

use redb::TableDefinition;

use crate::Error;
use crate::revision::{REVISION_BYTES_LEN, Revision};

pub(crate) type Bytes = &'static [u8];

pub(crate) const KV: TableDefinition<Bytes, Bytes> = TableDefinition::new("key");
pub(crate) const LEASE: TableDefinition<Bytes, Bytes> = TableDefinition::new("lease");
pub(crate) const META: TableDefinition<Bytes, Bytes> = TableDefinition::new("meta");
pub(crate) const MEMBERS: TableDefinition<Bytes, Bytes> = TableDefinition::new("members");
pub(crate) const MEMBERS_REMOVED: TableDefinition<Bytes, Bytes> =
    TableDefinition::new("members_removed");
pub(crate) const CLUSTER: TableDefinition<Bytes, Bytes> = TableDefinition::new("cluster");

/// Every table, in name order (the order Hash and snapshots walk them, as
/// bolt walks its buckets).
pub(crate) const ALL: [TableDefinition<Bytes, Bytes>; 6] =
    [CLUSTER, KV, LEASE, MEMBERS, MEMBERS_REMOVED, META];

/// Raft index of the last entry applied; 8 bytes big-endian.
pub(crate) const CONSISTENT_INDEX: &[u8] = b"consistent_index";
/// Compaction revision requested; an encoded revision with main only.
pub(crate) const SCHEDULED_COMPACT: &[u8] = b"scheduledCompactRev";
/// Compaction revision completed on disk; same encoding.
pub(crate) const FINISHED_COMPACT: &[u8] = b"finishedCompactRev";
/// The cluster version in the `cluster` table; UTF-8.
pub(crate) const CLUSTER_VERSION: &[u8] = b"clusterVersion";

pub(crate) fn encode_index(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

pub(crate) fn decode_index(bytes: &[u8]) -> Result<u64, Error> {
    let raw: [u8; 8] = bytes.try_into().map_err(|_| {
        Error::Corrupt(format!("consistent index has {} bytes, not 8", bytes.len()))
    })?;
    Ok(u64::from_be_bytes(raw))
}

pub(crate) fn encode_lease_id(id: i64) -> [u8; 8] {
    id.to_be_bytes()
}

pub(crate) fn decode_lease_id(bytes: &[u8]) -> Result<i64, Error> {
    let raw: [u8; 8] = bytes
        .try_into()
        .map_err(|_| Error::Corrupt(format!("lease id has {} bytes, not 8", bytes.len())))?;
    Ok(i64::from_be_bytes(raw))
}

pub(crate) fn encode_member_id(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

pub(crate) fn decode_member_id(bytes: &[u8]) -> Result<u64, Error> {
    let raw: [u8; 8] = bytes
        .try_into()
        .map_err(|_| Error::Corrupt(format!("member id has {} bytes, not 8", bytes.len())))?;
    Ok(u64::from_be_bytes(raw))
}

pub(crate) fn decode_cluster_version(bytes: &[u8]) -> Result<String, Error> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Error::Corrupt("the cluster version is not UTF-8".into()))
}

pub(crate) fn encode_compact_rev(rev: i64) -> [u8; REVISION_BYTES_LEN] {
    Revision::new(rev, 0).to_bytes()
}

pub(crate) fn decode_compact_rev(bytes: &[u8]) -> Result<i64, Error> {
    match Revision::from_key(bytes)? {
        (rev, false) => Ok(rev.main),
        (_, true) => Err(Error::Corrupt(
            "compaction revision carries a tombstone mark".into(),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn meta_values_round_trip() {
        assert_eq!(decode_index(&encode_index(42)).unwrap(), 42);
        assert!(decode_index(b"1234").is_err());
        assert_eq!(
            encode_lease_id(-2),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]
        );
        assert_eq!(decode_lease_id(&encode_lease_id(-2)).unwrap(), -2);
        assert!(decode_lease_id(b"123456789").is_err());
        assert_eq!(decode_compact_rev(&encode_compact_rev(17)).unwrap(), 17);
        assert!(decode_compact_rev(&Revision::new(3, 0).to_key(true)).is_err());
        assert_eq!(
            decode_member_id(&encode_member_id(u64::MAX)).unwrap(),
            u64::MAX
        );
        assert!(decode_member_id(b"1234").is_err());
        assert_eq!(decode_cluster_version(b"3.4.0").unwrap(), "3.4.0");
        assert!(decode_cluster_version(&[0xff, 0xfe]).is_err());
    }
}
