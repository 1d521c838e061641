//! The membership writes of a write batch: the apply loop records a conf
//! change's effect on the members in the same transaction as the entry's
//! consistent index, so a restart never sees one without the other. A
//! failed table write poisons the store like any failed write.

use redb::TableDefinition;

use super::WriteBatch;
use crate::Error;
use crate::tables::{Bytes, CLUSTER, CLUSTER_VERSION, MEMBERS, MEMBERS_REMOVED, encode_member_id};

/// A table row to write (Some value) or remove (None).
type Row<'r> = (
    TableDefinition<'static, Bytes, Bytes>,
    &'r [u8],
    Option<&'r [u8]>,
);

impl WriteBatch<'_> {
    /// Stores member `id` as the server encoded it (added, promoted or
    /// updated: the newest bytes win).
    pub fn put_member(&mut self, id: u64, encoded: &[u8]) -> Result<(), Error> {
        self.core.check()?;
        let key = encode_member_id(id);
        self.write_rows("member", &[(MEMBERS, &key, Some(encoded))])
    }

    /// Removes member `id` and remembers it as removed, as etcd does so a
    /// removed member's messages are refused for good.
    pub fn delete_member(&mut self, id: u64) -> Result<(), Error> {
        self.core.check()?;
        let key = encode_member_id(id);
        self.write_rows(
            "member removal",
            &[(MEMBERS, &key, None), (MEMBERS_REMOVED, &key, Some(&[]))],
        )
    }

    /// Stores the cluster version (etcd's "3.4.0" form; not checked here).
    pub fn set_cluster_version(&mut self, v: &str) -> Result<(), Error> {
        self.core.check()?;
        self.write_rows(
            "cluster version",
            &[(CLUSTER, CLUSTER_VERSION, Some(v.as_bytes()))],
        )
    }

    /// Writes or removes each row; a failure poisons the store, since the
    /// transaction may hold part of the change.
    fn write_rows(&mut self, what: &str, rows: &[Row<'_>]) -> Result<(), Error> {
        let written = self.try_write_rows(rows);
        if let Err(err) = &written {
            self.core
                .poison(format!("writing the {what} failed: {err}"));
        }
        written
    }

    fn try_write_rows(&self, rows: &[Row<'_>]) -> Result<(), Error> {
        let txn = self
            .txn
            .as_ref()
            .ok_or_else(|| Error::Poisoned("the batch has already ended".into()))?;
        for (table, key, value) in rows {
            let mut table = txn.open_table(*table).map_err(Error::storage)?;
            match value {
                Some(value) => table.insert(*key, *value).map(|_| ()),
                None => table.remove(*key).map(|_| ()),
            }
            .map_err(Error::storage)?;
        }
        Ok(())
    }
}
