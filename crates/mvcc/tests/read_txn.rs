//! Read-only txns served beside the write path give the answers the write
//! path gives, at one revision, and consume no revision.
#![allow(clippy::unwrap_used)]

mod common;

use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use api::pb::etcdserverpb::{RangeRequest, RequestOp, TxnRequest, request_op::Request};
use common::*;
use mvcc::Error;

fn sample() -> TestStore {
    let t = TestStore::new();
    t.put("a", "1");
    t.put("b", "2");
    t.put("a", "3");
    t.put("c", "4");
    t
}

fn reads(compare: Vec<api::pb::etcdserverpb::Compare>) -> TxnRequest {
    TxnRequest {
        compare,
        success: vec![op_range("a", ""), op_range("a", "c")],
        failure: vec![op_range("\0", "\0")],
    }
}

/// The same txn through a write batch, which is dropped afterwards.
fn through_batch(t: &TestStore, req: &TxnRequest) -> api::pb::etcdserverpb::TxnResponse {
    let mut batch = t.store.write_batch().unwrap();
    batch.txn(req).unwrap()
}

#[test]
fn answers_like_the_write_path_and_takes_no_revision() {
    let t = sample();
    let before = t.store.current_revision();
    let cases = [
        reads(vec![cmp(
            "a",
            CompareTarget::Value,
            CompareResult::Equal,
            TargetUnion::Value(b"3".to_vec()),
        )]),
        reads(vec![cmp(
            "a",
            CompareTarget::Version,
            CompareResult::Greater,
            TargetUnion::Version(5),
        )]),
        reads(vec![cmp(
            "zz",
            CompareTarget::Value,
            CompareResult::Equal,
            TargetUnion::Value(vec![]),
        )]),
        reads(vec![cmp(
            "zz",
            CompareTarget::Create,
            CompareResult::Equal,
            TargetUnion::CreateRevision(0),
        )]),
        reads(vec![]),
        TxnRequest::default(),
    ];
    for req in &cases {
        let want = through_batch(&t, req);
        let got = t.store.read_txn(req).unwrap();
        assert_eq!(got, want, "{req:?}");
        assert_eq!(got.header.unwrap().revision, before);
    }
    assert_eq!(t.store.current_revision(), before);
}

#[test]
fn ranges_at_old_compacted_and_future_revisions() {
    let t = sample();
    let at = |rev: i64| TxnRequest {
        success: vec![RequestOp {
            request: Some(Request::RequestRange(RangeRequest {
                revision: rev,
                ..range("a", "")
            })),
        }],
        ..TxnRequest::default()
    };
    let old = t.store.read_txn(&at(2)).unwrap();
    assert_eq!(old, through_batch(&t, &at(2)));
    let err = t.store.read_txn(&at(99)).unwrap_err();
    assert_eq!(err, Error::Api(api::Error::FutureRev));
    t.compact(4);
    let err = t.store.read_txn(&at(2)).unwrap_err();
    assert_eq!(err, Error::Api(api::Error::Compacted));
}

#[test]
fn refuses_a_txn_that_writes() {
    let t = sample();
    let writes = TxnRequest {
        success: vec![op_put("x", "1")],
        ..TxnRequest::default()
    };
    assert!(matches!(
        t.store.read_txn(&writes),
        Err(Error::Api(api::Error::InvalidArgument(_)))
    ));
    let nested = TxnRequest {
        success: vec![op_txn(TxnRequest::default())],
        ..TxnRequest::default()
    };
    assert!(
        t.store.read_txn(&nested).is_err(),
        "nested txns are not reads for etcd"
    );
    assert!(t.get("x").is_none());
}
