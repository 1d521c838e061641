//! The cluster's membership as the store keeps it: reading the `members`,
//! `members_removed` and `cluster` tables, and checking them when a file is
//! loaded. The store does not interpret a member: the server encodes it and
//! writes it through a [`crate::WriteBatch`], in the same transaction as
//! the consistent index of the conf change that made it.

use redb::{ReadTransaction, ReadableTable};

use crate::Error;
use crate::store::Store;
use crate::tables::{
    CLUSTER, CLUSTER_VERSION, MEMBERS, MEMBERS_REMOVED, decode_cluster_version, decode_member_id,
};

impl Store {
    /// Every member, by id, with the bytes the server stored for it.
    pub fn members(&self) -> Result<Vec<(u64, Vec<u8>)>, Error> {
        self.core.check()?;
        let txn = self.core.read_shared().begin_read()?;
        members(&txn)
    }

    /// The ids of removed members, in order.
    pub fn removed_members(&self) -> Result<Vec<u64>, Error> {
        self.core.check()?;
        let txn = self.core.read_shared().begin_read()?;
        removed_members(&txn)
    }

    /// The cluster version last set, if any.
    pub fn cluster_version(&self) -> Result<Option<String>, Error> {
        self.core.check()?;
        let txn = self.core.read_shared().begin_read()?;
        cluster_version(&txn)
    }
}

fn members(txn: &ReadTransaction) -> Result<Vec<(u64, Vec<u8>)>, Error> {
    let table = txn.open_table(MEMBERS).map_err(Error::storage)?;
    let mut found = Vec::new();
    for entry in table.iter().map_err(Error::storage)? {
        let (k, v) = entry.map_err(Error::storage)?;
        found.push((decode_member_id(k.value())?, v.value().to_vec()));
    }
    Ok(found)
}

fn removed_members(txn: &ReadTransaction) -> Result<Vec<u64>, Error> {
    let table = txn.open_table(MEMBERS_REMOVED).map_err(Error::storage)?;
    let mut found = Vec::new();
    for entry in table.iter().map_err(Error::storage)? {
        let (k, _) = entry.map_err(Error::storage)?;
        found.push(decode_member_id(k.value())?);
    }
    Ok(found)
}

fn cluster_version(txn: &ReadTransaction) -> Result<Option<String>, Error> {
    let table = txn.open_table(CLUSTER).map_err(Error::storage)?;
    let found = table.get(CLUSTER_VERSION).map_err(Error::storage)?;
    found.map(|v| decode_cluster_version(v.value())).transpose()
}

/// Refuses membership tables no write makes, so a damaged file is found
/// when it is opened rather than when the server asks for its members.
pub(crate) fn check(txn: &ReadTransaction) -> Result<(), Error> {
    members(txn)?;
    removed_members(txn)?;
    cluster_version(txn)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use redb::{ReadableDatabase, TableDefinition};

    use super::*;
    use crate::restore::open_database;
    use crate::tables::Bytes;

    /// `check` on a database holding one raw row in `table`.
    fn check_with(table: TableDefinition<Bytes, Bytes>, key: &[u8], value: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let db = open_database(&dir.path().join("db"), 1 << 20).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(table).unwrap().insert(key, value).unwrap();
        txn.commit().unwrap();
        match check(&db.begin_read().unwrap()) {
            Err(Error::Corrupt(reason)) => reason,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn rows_no_write_makes_are_corrupt() {
        assert!(check_with(MEMBERS, b"abc", b"m").contains("member id has 3 bytes"));
        assert!(check_with(MEMBERS_REMOVED, &[0; 9], b"").contains("member id has 9 bytes"));
        assert!(check_with(CLUSTER, CLUSTER_VERSION, &[0xc3]).contains("not UTF-8"));
        assert_eq!(check_with(MEMBERS, &7u64.to_be_bytes(), b"any"), "Ok(())");
    }
}
