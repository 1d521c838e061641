//! The Kv, Watch and Lease services the election and lock services need,
//! in process over an `mvcc::Store`, so the tests run without a server.
//! Leases are the store's lease records: grant and revoke are applied as
//! etcd's applier does (revoke deletes the lease's keys in one revision);
//! nothing expires.
#![allow(clippy::unwrap_used, dead_code)]

mod kv;
mod lease;
mod watch;

pub use watch::LostWatch;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use api::pb::etcdserverpb::{RangeRequest, ResponseHeader};
use api::pb::mvccpb::KeyValue;
use concurrency::{ElectionService, LockService};
use mvcc::{Store, StoreOptions};
use tempfile::TempDir;

pub struct Backend {
    store: Arc<Store>,
    next_lease: AtomicI64,
    _dir: TempDir,
}

impl Backend {
    pub fn new() -> Arc<Backend> {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions {
            watch_sync_interval: Duration::from_millis(5),
            ..StoreOptions::default()
        };
        let store = Arc::new(Store::open(&dir.path().join("db"), opts).unwrap());
        Arc::new(Backend {
            store,
            next_lease: AtomicI64::new(0x694d_0000_0000_0001),
            _dir: dir,
        })
    }

    pub fn election(self: &Arc<Self>) -> ElectionService {
        ElectionService::new(self.clone(), self.clone(), self.clone())
    }

    pub fn lock(self: &Arc<Self>) -> LockService {
        LockService::new(self.clone(), self.clone(), self.clone())
    }

    fn header(&self) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            revision: self.store.current_revision(),
            ..ResponseHeader::default()
        })
    }

    pub fn revision(&self) -> i64 {
        self.store.current_revision()
    }

    /// Every live key under `prefix`, in key order.
    pub fn keys(&self, prefix: &str) -> Vec<KeyValue> {
        let mut end = prefix.as_bytes().to_vec();
        *end.last_mut().unwrap() += 1;
        let req = RangeRequest {
            key: prefix.into(),
            range_end: end,
            ..RangeRequest::default()
        };
        self.store.range(&req).unwrap().kvs
    }

    /// Watchers open on the store right now.
    pub fn watchers(&self) -> u64 {
        self.store.counters().watcher_total
    }

    /// Every lease as (id, TTL), by id.
    pub fn lease_ids(&self) -> Vec<(i64, i64)> {
        let mut ids: Vec<_> = self
            .store
            .leases()
            .unwrap()
            .iter()
            .map(|lease| (lease.id, lease.ttl))
            .collect();
        ids.sort();
        ids
    }
}
