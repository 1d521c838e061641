//! Request builders and a throwaway store for the integration tests.
#![allow(clippy::unwrap_used, dead_code)]

use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use api::pb::etcdserverpb::request_op::Request;
use api::pb::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RangeResponse, RequestOp, TxnRequest,
};
use mvcc::{Store, StoreOptions};
use tempfile::TempDir;

pub struct TestStore {
    pub store: Store,
    pub dir: TempDir,
}

impl TestStore {
    pub fn new() -> TestStore {
        TestStore::with(StoreOptions::default())
    }

    pub fn with(opts: StoreOptions) -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), opts).unwrap();
        TestStore { store, dir }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("db")
    }

    /// Puts each (key, value) in its own batch and commits; returns the
    /// revision of the last one.
    pub fn put(&self, key: &str, value: &str) -> i64 {
        let mut b = self.store.write_batch().unwrap();
        let resp = b.put(&put(key, value)).unwrap();
        b.commit(false).unwrap();
        resp.header.unwrap().revision
    }

    pub fn delete(&self, key: &str, end: &str) -> i64 {
        let mut b = self.store.write_batch().unwrap();
        let resp = b.delete_range(&delete(key, end)).unwrap();
        b.commit(false).unwrap();
        resp.deleted
    }

    pub fn compact(&self, rev: i64) {
        let mut b = self.store.write_batch().unwrap();
        b.compact(&api::pb::etcdserverpb::CompactionRequest {
            revision: rev,
            physical: true,
        })
        .unwrap();
        b.commit(false).unwrap();
    }

    pub fn get(&self, key: &str) -> Option<api::pb::mvccpb::KeyValue> {
        self.store.range(&range(key, "")).unwrap().kvs.pop()
    }

    pub fn keys(&self, resp: &RangeResponse) -> Vec<String> {
        keys(resp)
    }
}

pub fn put(key: &str, value: &str) -> PutRequest {
    PutRequest {
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
        ..PutRequest::default()
    }
}

pub fn delete(key: &str, end: &str) -> DeleteRangeRequest {
    DeleteRangeRequest {
        key: key.as_bytes().to_vec(),
        range_end: end.as_bytes().to_vec(),
        prev_kv: false,
    }
}

pub fn range(key: &str, end: &str) -> RangeRequest {
    RangeRequest {
        key: key.as_bytes().to_vec(),
        range_end: end.as_bytes().to_vec(),
        ..RangeRequest::default()
    }
}

pub fn keys(resp: &RangeResponse) -> Vec<String> {
    resp.kvs
        .iter()
        .map(|kv| String::from_utf8(kv.key.clone()).unwrap())
        .collect()
}

pub fn op_put(key: &str, value: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestPut(put(key, value))),
    }
}

pub fn op_range(key: &str, end: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestRange(range(key, end))),
    }
}

pub fn op_delete(key: &str, end: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestDeleteRange(delete(key, end))),
    }
}

pub fn op_txn(txn: TxnRequest) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestTxn(txn)),
    }
}

pub fn cmp(key: &str, target: CompareTarget, result: CompareResult, union: TargetUnion) -> Compare {
    Compare {
        result: result as i32,
        target: target as i32,
        key: key.as_bytes().to_vec(),
        range_end: Vec::new(),
        target_union: Some(union),
    }
}
