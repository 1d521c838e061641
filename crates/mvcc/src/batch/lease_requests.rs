//! The lease requests of a write batch, as etcd's applier hands them to its
//! lessor: grant, revoke and checkpoint. Their rows go into the `lease`
//! table of the batch's transaction, so a lease and the keys it deletes or
//! carries always reach the disk together. A refused request changes
//! nothing; a failed table write poisons the store like any failed write.

use prost::Message;

use super::WriteBatch;
use crate::Error;
use crate::counters::Unit;
use crate::lease::{LeaseRecord, LeaseRevoked};
use crate::tables::{LEASE, encode_lease_id};

impl WriteBatch<'_> {
    /// A lease as the batch sees it (its own grants, revokes and
    /// checkpoints included).
    pub fn lease(&self, id: i64) -> Option<LeaseRecord> {
        let shared = self.core.read_shared();
        self.state.leases.record(&shared.leases, id)
    }

    /// etcd's lessor Grant as applied: stores lease `id` with `ttl` (already
    /// clamped by the caller) and no checkpoint. `LeaseExist` if the id is
    /// taken; `LeaseNotFound` for id 0, which names no lease.
    pub fn lease_grant(&mut self, id: i64, ttl: i64) -> Result<(), Error> {
        self.core.check()?;
        if id == 0 {
            return Err(api::Error::LeaseNotFound.into());
        }
        if self.lease(id).is_some() {
            return Err(api::Error::LeaseExist.into());
        }
        self.store_lease(
            id,
            Some(LeaseRecord {
                id,
                ttl,
                remaining_ttl: 0,
            }),
        )
    }

    /// etcd's lessor Revoke as applied: deletes every key attached to the
    /// lease, in key order, as one request (one revision, increasing sub
    /// revisions, DELETE events for watchers), then the lease. With no key
    /// attached no revision is made. `LeaseNotFound` if there is no such
    /// lease.
    pub fn lease_revoke(&mut self, id: i64) -> Result<LeaseRevoked, Error> {
        self.core.check()?;
        if self.lease(id).is_none() {
            return Err(api::Error::LeaseNotFound.into());
        }
        let keys = {
            let shared = self.core.read_shared();
            self.state.leases.keys(&shared.leases, id)
        };
        let deleted = self.run(|apply, op| {
            let deleted = apply.delete_keys(op, &keys);
            // etcd meters the revoke as one write txn of single-key deletes
            apply.state.tally.close(Unit {
                deletes: keys.len() as u64,
                ..Unit::default()
            });
            deleted
        })?;
        self.store_lease(id, None)?;
        Ok(LeaseRevoked {
            deleted,
            revision: self.state.rev,
        })
    }

    /// etcd's lease checkpoint as applied: stores the remaining TTL of a
    /// lease; an unknown id is ignored, as etcd ignores it.
    pub fn lease_checkpoint(&mut self, id: i64, remaining_ttl: i64) -> Result<(), Error> {
        self.core.check()?;
        match self.lease(id) {
            Some(record) => self.store_lease(
                id,
                Some(LeaseRecord {
                    remaining_ttl,
                    ..record
                }),
            ),
            None => Ok(()),
        }
    }

    /// Writes (Some) or removes (None) the row of lease `id` and records
    /// the change for later requests and for publishing.
    fn store_lease(&mut self, id: i64, record: Option<LeaseRecord>) -> Result<(), Error> {
        let written = self.write_lease_row(id, record.as_ref());
        if let Err(err) = &written {
            self.core
                .poison(format!("writing lease {id} failed: {err}"));
        }
        written?;
        self.state.leases.set_record(id, record);
        Ok(())
    }

    fn write_lease_row(&self, id: i64, record: Option<&LeaseRecord>) -> Result<(), Error> {
        let txn = self
            .txn
            .as_ref()
            .ok_or_else(|| Error::Poisoned("the batch has already ended".into()))?;
        let mut table = txn.open_table(LEASE).map_err(Error::storage)?;
        let key = encode_lease_id(id);
        match record {
            Some(record) => table
                .insert(key.as_slice(), record.encode_to_vec().as_slice())
                .map(|_| ()),
            None => table.remove(key.as_slice()).map(|_| ()),
        }
        .map_err(Error::storage)
    }
}
