//! Range options, put/delete/txn/compact semantics and errors, batches,
//! hashes and counters, checked against what etcd 3.4 answers.
#![allow(clippy::unwrap_used)]

mod common;

use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use api::pb::etcdserverpb::range_request::{SortOrder, SortTarget};
use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{CompactionRequest, PutRequest, RangeRequest, TxnRequest};
use common::*;
use mvcc::Error;

fn api_err(e: Error) -> api::Error {
    match e {
        Error::Api(e) => e,
        other => panic!("not a request error: {other:?}"),
    }
}

/// a=1@2 b=2@3 c=3@4 a=11@5 d=4@6 del c@7
fn sample() -> TestStore {
    let t = TestStore::new();
    assert_eq!(t.put("a", "1"), 2);
    assert_eq!(t.put("b", "2"), 3);
    assert_eq!(t.put("c", "3"), 4);
    assert_eq!(t.put("a", "11"), 5);
    assert_eq!(t.put("d", "4"), 6);
    assert_eq!(t.delete("c", ""), 1);
    assert_eq!(t.store.current_revision(), 7);
    t
}

fn all() -> RangeRequest {
    range("\0", "\0")
}

#[test]
fn fresh_store_starts_at_revision_one() {
    let t = TestStore::new();
    assert_eq!(t.store.current_revision(), 1);
    assert_eq!(t.store.compact_revision(), -1);
    assert_eq!(t.store.consistent_index(), 0);
    let resp = t.store.range(&range("a", "")).unwrap();
    assert_eq!((resp.count, resp.kvs.len(), resp.more), (0, 0, false));
    assert_eq!(resp.header.unwrap().revision, 1);
}

#[test]
fn range_single_prefix_from_key_and_all() {
    let t = sample();
    let a = t.get("a").unwrap();
    assert_eq!(
        (
            a.value.as_slice(),
            a.create_revision,
            a.mod_revision,
            a.version
        ),
        (&b"11"[..], 2, 5, 2)
    );
    assert!(t.get("c").is_none());
    assert_eq!(keys(&t.store.range(&range("a", "d")).unwrap()), ["a", "b"]);
    assert_eq!(keys(&t.store.range(&range("b", "\0")).unwrap()), ["b", "d"]);
    assert_eq!(keys(&t.store.range(&all()).unwrap()), ["a", "b", "d"]);
    assert_eq!(
        keys(&t.store.range(&range("", "\0")).unwrap()),
        ["a", "b", "d"]
    );
    assert!(
        t.store.range(&range("d", "a")).unwrap().kvs.is_empty(),
        "inverted range"
    );
    assert!(t.store.range(&range("", "")).unwrap().kvs.is_empty());
}

#[test]
fn range_at_past_revision_reports_current_header() {
    let t = sample();
    let resp = t
        .store
        .range(&RangeRequest {
            revision: 4,
            ..all()
        })
        .unwrap();
    assert_eq!(keys(&resp), ["a", "b", "c"]);
    assert_eq!(resp.kvs[0].value, b"1");
    assert_eq!(resp.count, 3);
    assert_eq!(resp.header.unwrap().revision, 7);
    let at1 = t
        .store
        .range(&RangeRequest {
            revision: 1,
            ..all()
        })
        .unwrap();
    assert!(at1.kvs.is_empty());
}

#[test]
fn range_limit_count_and_keys_only() {
    let t = sample();
    let limited = t.store.range(&RangeRequest { limit: 1, ..all() }).unwrap();
    assert_eq!(
        (keys(&limited), limited.more, limited.count),
        (vec!["a".to_string()], true, 3)
    );
    let exact = t.store.range(&RangeRequest { limit: 3, ..all() }).unwrap();
    assert_eq!((exact.kvs.len(), exact.more), (3, false));
    let counted = t
        .store
        .range(&RangeRequest {
            count_only: true,
            ..all()
        })
        .unwrap();
    assert_eq!(
        (counted.kvs.len(), counted.count, counted.more),
        (0, 3, false)
    );
    let bare = t
        .store
        .range(&RangeRequest {
            keys_only: true,
            ..all()
        })
        .unwrap();
    assert_eq!(keys(&bare), ["a", "b", "d"]);
    assert!(
        bare.kvs
            .iter()
            .all(|kv| kv.value.is_empty() && kv.mod_revision > 0)
    );
}

#[test]
fn range_sorting() {
    let t = sample();
    let sorted = |target: SortTarget, order: SortOrder| {
        keys(
            &t.store
                .range(&RangeRequest {
                    sort_target: target as i32,
                    sort_order: order as i32,
                    ..all()
                })
                .unwrap(),
        )
    };
    assert_eq!(
        sorted(SortTarget::Value, SortOrder::Descend),
        ["d", "b", "a"]
    );
    assert_eq!(
        sorted(SortTarget::Value, SortOrder::Ascend),
        ["a", "b", "d"]
    );
    // any target but key sorts ascending when no order is given
    assert_eq!(sorted(SortTarget::Mod, SortOrder::None), ["b", "a", "d"]);
    assert_eq!(sorted(SortTarget::Create, SortOrder::None), ["a", "b", "d"]);
    assert_eq!(sorted(SortTarget::Mod, SortOrder::Descend), ["d", "a", "b"]);
    assert_eq!(
        sorted(SortTarget::Version, SortOrder::Ascend),
        ["b", "d", "a"]
    );
    assert_eq!(sorted(SortTarget::Key, SortOrder::Descend), ["d", "b", "a"]);
    assert_eq!(sorted(SortTarget::Key, SortOrder::None), ["a", "b", "d"]);

    let top = t
        .store
        .range(&RangeRequest {
            limit: 2,
            sort_target: SortTarget::Key as i32,
            sort_order: SortOrder::Descend as i32,
            ..all()
        })
        .unwrap();
    assert_eq!(
        (keys(&top), top.more),
        (vec!["d".to_string(), "b".to_string()], true)
    );
}

#[test]
fn range_revision_filters_keep_count_unfiltered() {
    let t = sample();
    let filtered = |req: RangeRequest| {
        let resp = t.store.range(&req).unwrap();
        assert_eq!(resp.count, 3, "etcd counts before filtering");
        keys(&resp)
    };
    assert_eq!(
        filtered(RangeRequest {
            min_mod_revision: 5,
            ..all()
        }),
        ["a", "d"]
    );
    assert_eq!(
        filtered(RangeRequest {
            max_mod_revision: 3,
            ..all()
        }),
        ["b"]
    );
    assert_eq!(
        filtered(RangeRequest {
            min_create_revision: 3,
            ..all()
        }),
        ["b", "d"]
    );
    assert_eq!(
        filtered(RangeRequest {
            max_create_revision: 2,
            ..all()
        }),
        ["a"]
    );
    let limited = t
        .store
        .range(&RangeRequest {
            min_mod_revision: 5,
            limit: 1,
            ..all()
        })
        .unwrap();
    assert_eq!(
        (keys(&limited), limited.more),
        (vec!["a".to_string()], true)
    );
}

#[test]
fn range_revision_errors() {
    let t = sample();
    let err = t
        .store
        .range(&RangeRequest {
            revision: 8,
            ..all()
        })
        .unwrap_err();
    assert_eq!(api_err(err), api::Error::FutureRev);
    t.compact(4);
    assert_eq!(t.store.compact_revision(), 4);
    let err = t
        .store
        .range(&RangeRequest {
            revision: 3,
            ..all()
        })
        .unwrap_err();
    assert_eq!(api_err(err), api::Error::Compacted);
    let at4 = t
        .store
        .range(&RangeRequest {
            revision: 4,
            ..all()
        })
        .unwrap();
    assert_eq!(keys(&at4), ["a", "b", "c"]);
    assert_eq!(at4.kvs[0].value, b"1");
}

#[test]
fn put_semantics() {
    let t = TestStore::new();
    let mut b = t.store.write_batch().unwrap();
    b.lease_grant(7, 60).unwrap();
    let first = b
        .put(&PutRequest {
            lease: 7,
            ..put("k", "v1")
        })
        .unwrap();
    assert_eq!(first.header.unwrap().revision, 2);
    assert!(first.prev_kv.is_none());
    let second = b
        .put(&PutRequest {
            prev_kv: true,
            ..put("k", "v2")
        })
        .unwrap();
    assert_eq!(second.header.unwrap().revision, 3);
    let prev = second.prev_kv.unwrap();
    assert_eq!(
        (prev.value.as_slice(), prev.lease, prev.version),
        (&b"v1"[..], 7, 1)
    );
    // later requests of the batch see earlier ones; readers do not yet
    assert_eq!(b.range(&range("k", "")).unwrap().kvs[0].value, b"v2");
    assert!(t.get("k").is_none());
    assert_eq!(t.store.current_revision(), 1);
    b.commit(true).unwrap();

    let kv = t.get("k").unwrap();
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version, kv.lease),
        (2, 3, 2, 0)
    );
    assert_eq!(t.store.current_revision(), 3);
}

#[test]
fn put_ignore_value_and_lease() {
    let t = TestStore::new();
    let mut b = t.store.write_batch().unwrap();
    b.lease_grant(5, 60).unwrap();
    b.lease_grant(9, 60).unwrap();
    b.put(&PutRequest {
        lease: 5,
        ..put("k", "keep")
    })
    .unwrap();
    b.put(&PutRequest {
        ignore_value: true,
        lease: 9,
        ..put("k", "")
    })
    .unwrap();
    b.put(&PutRequest {
        ignore_lease: true,
        ..put("k", "new")
    })
    .unwrap();
    b.commit(false).unwrap();
    let kv = t.get("k").unwrap();
    assert_eq!(
        (kv.value.as_slice(), kv.lease, kv.version),
        (&b"new"[..], 9, 3)
    );
}

#[test]
fn put_errors_leave_no_trace() {
    let t = TestStore::new();
    t.put("x", "1");
    let mut b = t.store.write_batch().unwrap();
    let missing = PutRequest {
        ignore_value: true,
        ..put("nope", "")
    };
    assert_eq!(
        api_err(b.put(&missing).unwrap_err()),
        api::Error::KeyNotFound
    );
    let missing = PutRequest {
        ignore_lease: true,
        ..put("nope", "v")
    };
    assert_eq!(
        api_err(b.put(&missing).unwrap_err()),
        api::Error::KeyNotFound
    );
    let both = PutRequest {
        ignore_value: true,
        ..put("x", "v")
    };
    assert_eq!(
        api_err(b.put(&both).unwrap_err()),
        api::Error::ValueProvided
    );
    let lease = PutRequest {
        ignore_lease: true,
        lease: 3,
        ..put("x", "v")
    };
    assert_eq!(
        api_err(b.put(&lease).unwrap_err()),
        api::Error::LeaseProvided
    );
    assert_eq!(
        api_err(b.put(&put("", "v")).unwrap_err()),
        api::Error::EmptyKey
    );
    assert_eq!(b.revision(), 2, "no revision consumed");
    let ok = b.put(&put("y", "1")).unwrap();
    assert_eq!(ok.header.unwrap().revision, 3);
    b.commit(false).unwrap();
    assert!(t.get("nope").is_none());
    assert_eq!(t.store.current_revision(), 3);
}

#[test]
fn delete_semantics() {
    let t = sample();
    let mut b = t.store.write_batch().unwrap();
    let none = b.delete_range(&delete("zzz", "")).unwrap();
    assert_eq!((none.deleted, none.header.unwrap().revision), (0, 7));
    let mut req = delete("a", "c");
    req.prev_kv = true;
    let resp = b.delete_range(&req).unwrap();
    assert_eq!(resp.deleted, 2);
    assert_eq!(resp.header.unwrap().revision, 8);
    assert_eq!(
        resp.prev_kvs
            .iter()
            .map(|kv| kv.value.clone())
            .collect::<Vec<_>>(),
        [b"11".to_vec(), b"2".to_vec()]
    );
    b.commit(false).unwrap();
    assert_eq!(t.store.current_revision(), 8);
    assert_eq!(keys(&t.store.range(&all()).unwrap()), ["d"]);

    // a re-created key starts a new life
    t.put("a", "again");
    let a = t.get("a").unwrap();
    assert_eq!((a.create_revision, a.version), (9, 1));
    // deleting only absent keys creates no revision
    assert_eq!(t.delete("q", "r"), 0);
    assert_eq!(t.store.current_revision(), 9);
}

#[test]
fn dropped_batch_is_taken_back() {
    let t = sample();
    let before = t.store.hash_kv(0).unwrap();
    {
        let mut b = t.store.write_batch().unwrap();
        b.put(&put("a", "dropped")).unwrap();
        b.put(&put("new", "dropped")).unwrap();
        b.delete_range(&delete("b", "")).unwrap();
        b.compact(&CompactionRequest {
            revision: 7,
            physical: true,
        })
        .unwrap();
    }
    assert_eq!(t.store.current_revision(), 7);
    assert_eq!(t.store.compact_revision(), -1);
    assert_eq!(t.store.hash_kv(0).unwrap(), before);
    assert_eq!(t.get("a").unwrap().value, b"11");
    assert!(t.get("new").is_none());
    // the next batch reuses the revisions
    assert_eq!(t.put("new", "kept"), 8);
    assert_eq!(t.get("new").unwrap().version, 1);
    assert_eq!(t.store.counters().keys_total, 4);
}

#[test]
fn only_one_batch_at_a_time() {
    let t = TestStore::new();
    let store = &t.store;
    let first = store.write_batch().unwrap();
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        s.spawn(move || {
            let mut second = store.write_batch().unwrap();
            second.put(&put("k", "second")).unwrap();
            second.commit(false).unwrap();
            tx.send(()).unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            rx.try_recv().is_err(),
            "second batch ran while the first was open"
        );
        drop(first);
        rx.recv().unwrap();
    });
    assert_eq!(t.get("k").unwrap().mod_revision, 2);
}

fn txn(
    compare: Vec<api::pb::etcdserverpb::Compare>,
    success: Vec<api::pb::etcdserverpb::RequestOp>,
    failure: Vec<api::pb::etcdserverpb::RequestOp>,
) -> TxnRequest {
    TxnRequest {
        compare,
        success,
        failure,
    }
}

fn run_txn(t: &TestStore, req: &TxnRequest) -> Result<api::pb::etcdserverpb::TxnResponse, Error> {
    let mut b = t.store.write_batch().unwrap();
    let resp = b.txn(req)?;
    b.commit(false).unwrap();
    Ok(resp)
}

#[test]
fn txn_compares_choose_the_branch() {
    let t = sample();
    let value_is = |v: &str| {
        cmp(
            "a",
            CompareTarget::Value,
            CompareResult::Equal,
            TargetUnion::Value(v.into()),
        )
    };
    let resp = run_txn(
        &t,
        &txn(
            vec![value_is("11")],
            vec![op_put("s", "1")],
            vec![op_put("f", "1")],
        ),
    )
    .unwrap();
    assert!(resp.succeeded);
    assert_eq!(resp.header.unwrap().revision, 8);
    let resp = run_txn(
        &t,
        &txn(
            vec![value_is("nope")],
            vec![op_put("s", "2")],
            vec![op_put("f", "2")],
        ),
    )
    .unwrap();
    assert!(!resp.succeeded);
    assert_eq!(t.get("s").unwrap().value, b"1");
    assert_eq!(t.get("f").unwrap().value, b"2");

    // a value compare on a missing key always fails; a version compare sees 0
    let missing_value = cmp(
        "zz",
        CompareTarget::Value,
        CompareResult::NotEqual,
        TargetUnion::Value(b"x".to_vec()),
    );
    assert!(
        !run_txn(&t, &txn(vec![missing_value], vec![], vec![]))
            .unwrap()
            .succeeded
    );
    let absent = cmp(
        "zz",
        CompareTarget::Version,
        CompareResult::Equal,
        TargetUnion::Version(0),
    );
    assert!(
        run_txn(&t, &txn(vec![absent], vec![], vec![]))
            .unwrap()
            .succeeded
    );
    let created = cmp(
        "a",
        CompareTarget::Create,
        CompareResult::Equal,
        TargetUnion::CreateRevision(2),
    );
    let modified = cmp(
        "a",
        CompareTarget::Mod,
        CompareResult::Greater,
        TargetUnion::ModRevision(4),
    );
    let lease = cmp(
        "a",
        CompareTarget::Lease,
        CompareResult::Equal,
        TargetUnion::Lease(0),
    );
    assert!(
        run_txn(&t, &txn(vec![created, modified, lease], vec![], vec![]))
            .unwrap()
            .succeeded
    );
}

#[test]
fn txn_range_end_compares_need_every_key() {
    let t = sample();
    let mut below = cmp(
        "a",
        CompareTarget::Mod,
        CompareResult::Less,
        TargetUnion::ModRevision(6),
    );
    below.range_end = b"e".to_vec();
    // d was modified at 6: not every key is below
    assert!(
        !run_txn(&t, &txn(vec![below.clone()], vec![], vec![]))
            .unwrap()
            .succeeded
    );
    below.range_end = b"c".to_vec();
    assert!(
        run_txn(&t, &txn(vec![below], vec![], vec![]))
            .unwrap()
            .succeeded
    );
    let mut none = cmp(
        "x",
        CompareTarget::Version,
        CompareResult::Equal,
        TargetUnion::Version(0),
    );
    none.range_end = b"\0".to_vec();
    assert!(
        run_txn(&t, &txn(vec![none], vec![], vec![]))
            .unwrap()
            .succeeded
    );
}

#[test]
fn txn_writes_share_one_revision_and_see_each_other() {
    let t = sample();
    let req = txn(
        vec![],
        vec![
            op_put("x", "1"),
            op_range("x", ""),
            op_put("y", "2"),
            op_delete("b", ""),
            op_range("\0", "\0"),
        ],
        vec![],
    );
    let resp = run_txn(&t, &req).unwrap();
    assert_eq!(resp.header.unwrap().revision, 8);
    let ranges: Vec<_> = resp
        .responses
        .iter()
        .filter_map(|r| match &r.response {
            Some(Response::ResponseRange(rr)) => Some(rr.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ranges[0].kvs[0].mod_revision, 8);
    assert_eq!(ranges[0].header.unwrap().revision, 8);
    assert_eq!(keys(&ranges[1]), ["a", "d", "x", "y"]);
    match &resp.responses[0].response {
        Some(Response::ResponsePut(p)) => assert_eq!(p.header.unwrap().revision, 8),
        other => panic!("{other:?}"),
    }
    assert_eq!(t.store.current_revision(), 8);
    assert_eq!(t.get("x").unwrap().mod_revision, 8);
    assert_eq!(t.get("y").unwrap().mod_revision, 8);
    // every change of the revision is on disk with its own sub revision
    let (hash_before, ..) = t.store.hash_kv(7).unwrap();
    let (hash_after, ..) = t.store.hash_kv(8).unwrap();
    assert_ne!(hash_before, hash_after);
}

#[test]
fn nested_txns_follow_their_own_compares() {
    let t = sample();
    let inner_ok = txn(
        vec![cmp(
            "a",
            CompareTarget::Version,
            CompareResult::Equal,
            TargetUnion::Version(2),
        )],
        vec![op_put("inner", "yes")],
        vec![op_put("inner", "no")],
    );
    let inner_fail = txn(
        vec![cmp(
            "b",
            CompareTarget::Version,
            CompareResult::Equal,
            TargetUnion::Version(9),
        )],
        vec![op_put("inner2", "yes")],
        vec![op_put("inner2", "no")],
    );
    let outer = txn(
        vec![],
        vec![op_txn(inner_ok), op_put("outer", "1"), op_txn(inner_fail)],
        vec![],
    );
    let resp = run_txn(&t, &outer).unwrap();
    assert!(resp.succeeded);
    assert_eq!(t.get("inner").unwrap().value, b"yes");
    assert_eq!(t.get("inner2").unwrap().value, b"no");
    assert_eq!(t.get("outer").unwrap().mod_revision, 8);
    assert_eq!(t.get("inner2").unwrap().mod_revision, 8);
    match &resp.responses[2].response {
        Some(Response::ResponseTxn(nested)) => {
            assert!(!nested.succeeded);
            assert_eq!(
                nested.header.unwrap().revision,
                0,
                "etcd leaves nested headers empty"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn read_only_txn_creates_no_revision() {
    let t = sample();
    let resp = run_txn(
        &t,
        &txn(vec![], vec![op_range("a", "")], vec![op_delete("a", "")]),
    )
    .unwrap();
    assert_eq!(resp.header.unwrap().revision, 7);
    assert_eq!(t.store.current_revision(), 7);
    let resp = run_txn(&t, &txn(vec![], vec![op_delete("nothing", "")], vec![])).unwrap();
    assert_eq!(resp.header.unwrap().revision, 7);
    assert_eq!(t.store.current_revision(), 7);
}

#[test]
fn failed_txn_leaves_no_trace() {
    let t = sample();
    let future = RangeRequest {
        revision: 8,
        ..range("a", "")
    };
    let req = txn(
        vec![],
        vec![
            op_put("x", "1"),
            api::pb::etcdserverpb::RequestOp {
                request: Some(api::pb::etcdserverpb::request_op::Request::RequestRange(
                    future,
                )),
            },
        ],
        vec![],
    );
    assert_eq!(
        api_err(run_txn(&t, &req).unwrap_err()),
        api::Error::FutureRev
    );
    // the check happens on the chosen branch only
    let harmless = txn(
        vec![cmp(
            "a",
            CompareTarget::Version,
            CompareResult::Equal,
            TargetUnion::Version(99),
        )],
        req.success.clone(),
        vec![],
    );
    assert!(!run_txn(&t, &harmless).unwrap().succeeded);

    let ignore = PutRequest {
        ignore_value: true,
        ..put("missing", "")
    };
    let req = txn(
        vec![],
        vec![
            op_put("x", "1"),
            api::pb::etcdserverpb::RequestOp {
                request: Some(api::pb::etcdserverpb::request_op::Request::RequestPut(
                    ignore,
                )),
            },
        ],
        vec![],
    );
    assert_eq!(
        api_err(run_txn(&t, &req).unwrap_err()),
        api::Error::KeyNotFound
    );

    // passes the check before the txn, fails while applying it: taken back
    let ignore_a = PutRequest {
        ignore_value: true,
        ..put("a", "")
    };
    let req = txn(
        vec![],
        vec![
            op_put("x", "1"),
            op_delete("a", ""),
            api::pb::etcdserverpb::RequestOp {
                request: Some(api::pb::etcdserverpb::request_op::Request::RequestPut(
                    ignore_a,
                )),
            },
        ],
        vec![],
    );
    assert_eq!(
        api_err(run_txn(&t, &req).unwrap_err()),
        api::Error::KeyNotFound
    );

    t.compact(5);
    let old = RangeRequest {
        revision: 4,
        ..range("a", "")
    };
    let req = txn(
        vec![],
        vec![
            op_put("x", "1"),
            api::pb::etcdserverpb::RequestOp {
                request: Some(api::pb::etcdserverpb::request_op::Request::RequestRange(
                    old,
                )),
            },
        ],
        vec![],
    );
    assert_eq!(
        api_err(run_txn(&t, &req).unwrap_err()),
        api::Error::Compacted
    );

    assert_eq!(t.store.current_revision(), 7);
    assert!(t.get("x").is_none());
    assert_eq!(t.get("a").unwrap().value, b"11");
    assert_eq!(t.store.hash_kv(0).unwrap().0, {
        // same data as before apart from what compaction removed
        let fresh = sample();
        fresh.compact(5);
        fresh.store.hash_kv(0).unwrap().0
    });
    assert_eq!(t.store.counters().keys_total, 3);
}

#[test]
fn compaction_semantics() {
    let t = sample();
    let mut b = t.store.write_batch().unwrap();
    let future = b
        .compact(&CompactionRequest {
            revision: 8,
            physical: false,
        })
        .unwrap_err();
    assert_eq!(api_err(future), api::Error::FutureRev);
    let resp = b
        .compact(&CompactionRequest {
            revision: 5,
            physical: false,
        })
        .unwrap();
    assert_eq!(resp.header.unwrap().revision, 7);
    let again = b
        .compact(&CompactionRequest {
            revision: 5,
            physical: false,
        })
        .unwrap_err();
    assert_eq!(api_err(again), api::Error::Compacted);
    // the batch already refuses reads below the new compact revision
    let err = b
        .range(&RangeRequest {
            revision: 4,
            ..all()
        })
        .unwrap_err();
    assert_eq!(api_err(err), api::Error::Compacted);
    // readers do not see the compaction before the commit
    assert_eq!(t.store.compact_revision(), -1);
    assert_eq!(
        keys(
            &t.store
                .range(&RangeRequest {
                    revision: 2,
                    ..all()
                })
                .unwrap()
        ),
        ["a"]
    );
    b.commit(false).unwrap();

    assert_eq!(t.store.compact_revision(), 5);
    let err = t
        .store
        .range(&RangeRequest {
            revision: 4,
            ..all()
        })
        .unwrap_err();
    assert_eq!(api_err(err), api::Error::Compacted);
    let at5 = t
        .store
        .range(&RangeRequest {
            revision: 5,
            ..all()
        })
        .unwrap();
    assert_eq!(keys(&at5), ["a", "b", "c"]);
    let a = t.get("a").unwrap();
    assert_eq!(
        (a.version, a.create_revision),
        (2, 2),
        "versions survive compaction"
    );
    // a@2 is superseded by a@5: one row removed
    assert_eq!(t.store.counters().compaction_keys_total, 1);

    t.compact(7);
    // c's put@4 and tombstone@7 go, as does nothing else
    assert_eq!(t.store.counters().compaction_keys_total, 3);
    assert_eq!(keys(&t.store.range(&all()).unwrap()), ["a", "b", "d"]);
    assert_eq!(t.store.current_revision(), 7);
}

#[test]
fn hashes_agree_between_identical_histories() {
    let one = sample();
    let two = sample();
    let mut b = two.store.write_batch().unwrap();
    b.set_consistent_index(99);
    b.commit(false).unwrap();
    assert_eq!(two.store.consistent_index(), 99);
    assert_eq!(
        one.store.hash().unwrap(),
        two.store.hash().unwrap(),
        "consistent index is not hashed"
    );
    assert_eq!(one.store.hash_kv(0).unwrap(), two.store.hash_kv(0).unwrap());
    let (h5, compact, cur) = one.store.hash_kv(5).unwrap();
    assert_eq!((compact, cur), (-1, 7));
    assert_ne!(h5, one.store.hash_kv(6).unwrap().0);

    one.put("z", "1");
    assert_ne!(one.store.hash().unwrap(), two.store.hash().unwrap());
    assert_ne!(
        one.store.hash_kv(0).unwrap().0,
        two.store.hash_kv(0).unwrap().0
    );
    assert_eq!(
        one.store.hash_kv(7).unwrap().0,
        two.store.hash_kv(7).unwrap().0
    );

    assert_eq!(
        api_err(one.store.hash_kv(9).unwrap_err()),
        api::Error::FutureRev
    );
    one.compact(4);
    two.compact(4);
    assert_eq!(
        api_err(one.store.hash_kv(4).unwrap_err()),
        api::Error::Compacted
    );
    let (h1, c1, _) = one.store.hash_kv(6).unwrap();
    let (h2, c2, _) = two.store.hash_kv(6).unwrap();
    assert_eq!((h1, c1), (h2, c2));
    assert_eq!(c1, 4);
    assert_eq!(
        one.store.hash_kv(7).unwrap().0,
        two.store.hash_kv(7).unwrap().0
    );
}

#[test]
fn counters_follow_etcd() {
    let t = TestStore::new();
    let c0 = t.store.counters();
    assert_eq!(
        (c0.put_total, c0.range_total, c0.txn_total, c0.keys_total),
        (0, 0, 0, 0)
    );
    let mut b = t.store.write_batch().unwrap();
    b.put(&put("a", "1")).unwrap();
    b.put(&PutRequest {
        prev_kv: true,
        ..put("a", "2")
    })
    .unwrap();
    b.put(&put("b", "22")).unwrap();
    b.delete_range(&delete("b", "")).unwrap();
    // two compares, then one put: the read unit counts as a txn
    let two_compares = txn(
        vec![
            cmp(
                "a",
                CompareTarget::Version,
                CompareResult::Greater,
                TargetUnion::Version(0),
            ),
            cmp(
                "b",
                CompareTarget::Version,
                CompareResult::Equal,
                TargetUnion::Version(0),
            ),
        ],
        vec![op_put("c", "3")],
        vec![],
    );
    b.txn(&two_compares).unwrap();
    // read-only: compare and range in one unit
    let read_only = txn(
        vec![cmp(
            "a",
            CompareTarget::Version,
            CompareResult::Greater,
            TargetUnion::Version(0),
        )],
        vec![op_range("a", "")],
        vec![],
    );
    b.txn(&read_only).unwrap();
    b.compact(&CompactionRequest {
        revision: 2,
        physical: true,
    })
    .unwrap();
    assert_eq!(t.store.counters().put_total, 0, "published at commit");
    b.commit(false).unwrap();
    t.store.range(&range("a", "")).unwrap();

    let c = t.store.counters();
    assert_eq!(c.put_total, 4);
    assert_eq!(c.delete_total, 1);
    // prev_kv 1 + compares 2 + read-only txn 2 + compaction 1 + range 1
    assert_eq!(c.range_total, 7);
    // put with prev_kv, the two-compare read unit, the read-only txn
    assert_eq!(c.txn_total, 3);
    assert_eq!(c.put_size_total, 2 + 2 + 3 + 2);
    assert_eq!(c.keys_total, 2);
}

#[test]
fn handles_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<mvcc::Store>();
    send::<mvcc::WriteBatch<'static>>();
    send::<mvcc::WatchStream>();
    send_sync::<mvcc::Error>();
}

#[test]
fn concurrent_readers_see_consistent_snapshots_during_compactions() {
    let t = TestStore::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || reads < 100 {
                    let at = t.store.compact_revision().max(1);
                    match t.store.range(&RangeRequest {
                        revision: at,
                        ..all()
                    }) {
                        // every key was written at every revision step, so
                        // a consistent snapshot at `at` holds all 8 keys
                        Ok(resp) => assert!(
                            at < 9 || resp.kvs.len() == 8,
                            "{} keys at {at}",
                            resp.kvs.len()
                        ),
                        Err(Error::Api(api::Error::Compacted)) => {}
                        Err(other) => panic!("reader failed: {other:?}"),
                    }
                    reads += 1;
                }
            });
        }
        for round in 0..150 {
            let mut b = t.store.write_batch().unwrap();
            for k in 0..8 {
                b.put(&put(&format!("k{k}"), &round.to_string())).unwrap();
            }
            if round % 10 == 9 {
                let rev = b.revision() - 4;
                b.compact(&CompactionRequest {
                    revision: rev,
                    physical: true,
                })
                .unwrap();
            }
            b.commit(false).unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(t.store.current_revision(), 1 + 150 * 8);
}
