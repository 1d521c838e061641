//! Leases as the store keeps them (etcd's `lease` bucket and the item sets
//! of its lessor): the durable record of each granted lease, and which live
//! keys are attached to it. Attachment is never stored on its own: a live
//! key is attached to the lease its newest KeyValue names, so the
//! attachment maps are an index over the key space, rebuilt from it at
//! open. Time (TTL countdown, expiry, keepalive) belongs to the server's
//! lessor, which calls the write batch to grant, revoke and checkpoint.
//!
//! Committed state lives in [`Leases`], under the same lock as the
//! published revision, so a reader never sees a key's lease attachment
//! from a different revision than the key itself. A write batch collects
//! its lease changes in [`PendingLeases`], which later requests of the
//! batch consult and which is merged into [`Leases`] when the batch is
//! published; a dropped batch simply discards it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One granted lease, stored as etcd's `leasepb.Lease` (ID = 1, TTL = 2,
/// RemainingTTL = 3) in the `lease` table under its id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct LeaseRecord {
    #[prost(int64, tag = "1")]
    pub id: i64,
    /// The TTL granted, in seconds.
    #[prost(int64, tag = "2")]
    pub ttl: i64,
    /// The remaining TTL of the last checkpoint, in seconds; 0 when never
    /// checkpointed (etcd then counts from the full TTL).
    #[prost(int64, tag = "3")]
    pub remaining_ttl: i64,
}

/// What a lease revoke did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRevoked {
    /// Keys deleted with the lease.
    pub deleted: i64,
    /// The revision after the revoke: the revision of its deletes, or the
    /// unchanged current one when no key was attached.
    pub revision: i64,
}

/// The published leases and their attached keys.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    records: BTreeMap<i64, LeaseRecord>,
    attached: BTreeMap<i64, BTreeSet<Vec<u8>>>,
    /// The lease of every live key that has one.
    lease_of: HashMap<Vec<u8>, i64>,
}

impl Leases {
    /// The state found on disk: lease records and the lease of every live
    /// key that names one.
    pub fn restored(
        records: BTreeMap<i64, LeaseRecord>,
        lease_of: HashMap<Vec<u8>, i64>,
    ) -> Leases {
        let mut attached: BTreeMap<i64, BTreeSet<Vec<u8>>> = BTreeMap::new();
        for (key, lease) in &lease_of {
            attached.entry(*lease).or_default().insert(key.clone());
        }
        Leases {
            records,
            attached,
            lease_of,
        }
    }

    pub fn record(&self, id: i64) -> Option<LeaseRecord> {
        self.records.get(&id).copied()
    }

    /// Every lease, by id.
    pub fn records(&self) -> Vec<LeaseRecord> {
        self.records.values().copied().collect()
    }

    /// Keys attached to `id`, in key order.
    pub fn keys(&self, id: i64) -> Vec<Vec<u8>> {
        self.attached
            .get(&id)
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The lease of a live key; 0 for none.
    pub fn lease_of(&self, key: &[u8]) -> i64 {
        self.lease_of.get(key).copied().unwrap_or(0)
    }

    /// Keys attached to a lease whose record is missing; only a damaged or
    /// hand-made file holds them, since puts name existing leases only.
    pub fn orphans(&self) -> usize {
        self.attached
            .iter()
            .filter(|(id, _)| !self.records.contains_key(id))
            .map(|(_, keys)| keys.len())
            .sum()
    }

    fn attach(&mut self, key: &[u8], lease: i64) {
        let old = if lease == 0 {
            self.lease_of.remove(key)
        } else {
            self.lease_of.insert(key.to_vec(), lease)
        };
        if let Some(old) = old
            && let Some(keys) = self.attached.get_mut(&old)
        {
            keys.remove(key);
            if keys.is_empty() {
                self.attached.remove(&old);
            }
        }
        if lease != 0 {
            self.attached.entry(lease).or_default().insert(key.to_vec());
        }
    }

    /// Makes a batch's lease changes visible.
    pub fn publish(&mut self, pending: PendingLeases) {
        for (id, record) in pending.records {
            match record {
                Some(record) => self.records.insert(id, record),
                None => self.records.remove(&id),
            };
        }
        for (key, lease) in pending.lease_of {
            self.attach(&key, lease);
        }
    }
}

/// The lease changes of an unpublished write batch, over [`Leases`].
#[derive(Debug, Default)]
pub(crate) struct PendingLeases {
    /// None: revoked by the batch.
    records: BTreeMap<i64, Option<LeaseRecord>>,
    /// The lease of each key the batch wrote; 0 for none or deleted.
    lease_of: BTreeMap<Vec<u8>, i64>,
}

impl PendingLeases {
    pub fn record(&self, committed: &Leases, id: i64) -> Option<LeaseRecord> {
        match self.records.get(&id) {
            Some(record) => *record,
            None => committed.record(id),
        }
    }

    pub fn set_record(&mut self, id: i64, record: Option<LeaseRecord>) {
        self.records.insert(id, record);
    }

    /// Records that `key` now carries `lease` (0: none, or deleted).
    pub fn set_lease(&mut self, committed: &Leases, key: &[u8], lease: i64) {
        // the common write (no lease before or after) leaves nothing to
        // publish, so it costs no copy of the key
        if lease == 0 && !self.lease_of.contains_key(key) && committed.lease_of(key) == 0 {
            return;
        }
        self.lease_of.insert(key.to_vec(), lease);
    }

    /// Keys attached to `id` as the batch sees them, in key order.
    pub fn keys(&self, committed: &Leases, id: i64) -> Vec<Vec<u8>> {
        let mut keys: BTreeSet<Vec<u8>> = committed
            .attached
            .get(&id)
            .into_iter()
            .flatten()
            .filter(|key| self.lease_of.get(*key).is_none_or(|lease| *lease == id))
            .cloned()
            .collect();
        keys.extend(
            self.lease_of
                .iter()
                .filter(|(_, lease)| **lease == id)
                .map(|(key, _)| key.clone()),
        );
        keys.into_iter().collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use prost::Message;

    use super::*;

    fn record(id: i64) -> LeaseRecord {
        LeaseRecord {
            id,
            ttl: 10,
            remaining_ttl: 0,
        }
    }

    fn keys(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|k| k.as_bytes().to_vec()).collect()
    }

    #[test]
    fn record_encodes_as_etcd_lease_message() {
        let r = LeaseRecord {
            id: 1,
            ttl: 2,
            remaining_ttl: 3,
        };
        // leasepb.Lease{ID: 1, TTL: 2, RemainingTTL: 3} as etcd marshals it
        assert_eq!(r.encode_to_vec(), vec![0x08, 1, 0x10, 2, 0x18, 3]);
        assert_eq!(
            LeaseRecord::decode(&[0x08, 1, 0x10, 2, 0x18, 3][..]).unwrap(),
            r
        );
    }

    #[test]
    fn pending_changes_overlay_then_publish() {
        let mut committed = Leases::restored(
            BTreeMap::from([(1, record(1)), (2, record(2))]),
            HashMap::from([(b"a".to_vec(), 1), (b"b".to_vec(), 1), (b"c".to_vec(), 2)]),
        );
        let mut pending = PendingLeases::default();
        pending.set_lease(&committed, b"a", 2);
        pending.set_lease(&committed, b"b", 0);
        pending.set_lease(&committed, b"d", 1);
        pending.set_lease(&committed, b"plain", 0);
        pending.set_record(2, None);
        pending.set_record(3, Some(record(3)));
        assert_eq!(
            pending.lease_of.len(),
            3,
            "a lease-less write leaves nothing"
        );
        assert_eq!(pending.keys(&committed, 1), keys(&["d"]));
        assert_eq!(pending.keys(&committed, 2), keys(&["a", "c"]));
        assert_eq!(pending.record(&committed, 2), None);
        assert_eq!(pending.record(&committed, 3), Some(record(3)));
        assert_eq!(committed.keys(1), keys(&["a", "b"]), "unpublished");

        committed.publish(pending);
        assert_eq!(committed.keys(1), keys(&["d"]));
        assert_eq!(committed.keys(2), keys(&["a", "c"]));
        assert_eq!(committed.lease_of(b"b"), 0);
        assert_eq!(committed.records(), vec![record(1), record(3)]);
        assert_eq!(committed.orphans(), 2, "a and c name revoked lease 2");
    }

    #[test]
    fn last_detach_forgets_the_lease() {
        let mut committed = Leases::restored(
            BTreeMap::from([(1, record(1))]),
            HashMap::from([(b"a".to_vec(), 1)]),
        );
        let mut pending = PendingLeases::default();
        pending.set_lease(&committed, b"a", 0);
        committed.publish(pending);
        assert!(committed.attached.is_empty());
        assert!(committed.lease_of.is_empty());
        assert!(committed.keys(1).is_empty());
    }
}
