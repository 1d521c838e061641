//! Leases: grant/revoke/checkpoint and their errors, the applier's lease
//! checks on puts and on the taken branch of txns, attachment following the
//! newest version of each key, revokes as one revision of deletes that
//! watchers see, batches that are dropped, and leases across a restart.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use api::pb::etcdserverpb::request_op::Request;
use api::pb::etcdserverpb::{PutRequest, RequestOp, TxnRequest};
use api::pb::mvccpb::event::EventType;
use common::*;
use mvcc::{Error, LeaseRecord, LeaseRevoked, Store, StoreOptions, WatchStream};

fn api_err(e: Error) -> api::Error {
    match e {
        Error::Api(e) => e,
        other => panic!("not a request error: {other:?}"),
    }
}

fn leased(key: &str, value: &str, lease: i64) -> PutRequest {
    PutRequest {
        lease,
        ..put(key, value)
    }
}

fn op_leased(key: &str, value: &str, lease: i64) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestPut(leased(key, value, lease))),
    }
}

fn record(id: i64, ttl: i64, remaining_ttl: i64) -> LeaseRecord {
    LeaseRecord {
        id,
        ttl,
        remaining_ttl,
    }
}

fn names(keys: &[Vec<u8>]) -> Vec<String> {
    keys.iter()
        .map(|k| String::from_utf8(k.clone()).unwrap())
        .collect()
}

/// Grants `ids` (ttl 60) in one committed batch.
fn grant(t: &TestStore, ids: &[i64]) {
    let mut b = t.store.write_batch().unwrap();
    for id in ids {
        b.lease_grant(*id, 60).unwrap();
    }
    b.commit(false).unwrap();
}

fn put_leased(t: &TestStore, key: &str, lease: i64) -> i64 {
    let mut b = t.store.write_batch().unwrap();
    let rev = b
        .put(&leased(key, "v", lease))
        .unwrap()
        .header
        .unwrap()
        .revision;
    b.commit(false).unwrap();
    rev
}

fn revoke(t: &TestStore, id: i64) -> Result<LeaseRevoked, Error> {
    let mut b = t.store.write_batch().unwrap();
    let revoked = b.lease_revoke(id)?;
    b.commit(false).unwrap();
    Ok(revoked)
}

#[test]
fn grant_and_revoke_errors() {
    let t = TestStore::new();
    let mut b = t.store.write_batch().unwrap();
    assert_eq!(
        api_err(b.lease_grant(0, 10).unwrap_err()),
        api::Error::LeaseNotFound
    );
    b.lease_grant(5, 10).unwrap();
    assert_eq!(
        api_err(b.lease_grant(5, 99).unwrap_err()),
        api::Error::LeaseExist
    );
    assert_eq!(b.lease(5), Some(record(5, 10, 0)));
    assert_eq!(t.store.lease(5), None, "unpublished");
    assert_eq!(
        api_err(b.lease_revoke(6).unwrap_err()),
        api::Error::LeaseNotFound
    );
    b.commit(false).unwrap();
    assert_eq!(t.store.lease(5), Some(record(5, 10, 0)));

    let mut b = t.store.write_batch().unwrap();
    assert_eq!(
        api_err(b.lease_grant(5, 10).unwrap_err()),
        api::Error::LeaseExist
    );
    b.lease_revoke(5).unwrap();
    assert_eq!(
        api_err(b.lease_revoke(5).unwrap_err()),
        api::Error::LeaseNotFound
    );
    assert_eq!(b.lease(5), None);
    assert_eq!(t.store.lease(5), Some(record(5, 10, 0)), "unpublished");
    // the id is free again once revoked
    b.lease_grant(5, 30).unwrap();
    b.commit(false).unwrap();
    assert_eq!(t.store.lease(5), Some(record(5, 30, 0)));
    assert_eq!(
        t.store.current_revision(),
        1,
        "leases alone make no revision"
    );
}

#[test]
fn leases_are_listed_by_id() {
    let t = TestStore::new();
    grant(&t, &[300, -2, 7]);
    let ids: Vec<i64> = t.store.leases().unwrap().iter().map(|l| l.id).collect();
    assert_eq!(ids, [-2, 7, 300]);
}

#[test]
fn revoke_deletes_the_attached_keys_in_one_revision() {
    let t = TestStore::new();
    grant(&t, &[1, 2]);
    put_leased(&t, "b", 1); // 2
    put_leased(&t, "a", 1); // 3
    put_leased(&t, "c", 1); // 4
    t.put("c", "detached"); // 5
    put_leased(&t, "d", 2); // 6
    t.put("e", "plain"); // 7
    assert_eq!(names(&t.store.lease_keys(1)), ["a", "b"]);
    let before = t.store.counters();

    let revoked = revoke(&t, 1).unwrap();
    assert_eq!(
        revoked,
        LeaseRevoked {
            deleted: 2,
            revision: 8
        }
    );
    assert_eq!(t.store.current_revision(), 8);
    assert_eq!(
        keys(&t.store.range(&range("\0", "\0")).unwrap()),
        ["c", "d", "e"]
    );
    assert_eq!(t.store.lease(1), None);
    assert!(t.store.lease_keys(1).is_empty());
    assert_eq!(names(&t.store.lease_keys(2)), ["d"]);
    let after = t.store.counters();
    assert_eq!(after.delete_total - before.delete_total, 2);
    assert_eq!(after.txn_total - before.txn_total, 1);
    assert_eq!(after.keys_total, 3);
}

#[test]
fn revoke_without_keys_makes_no_revision() {
    let t = TestStore::new();
    grant(&t, &[1]);
    t.put("x", "1");
    let before = t.store.counters();
    assert_eq!(
        revoke(&t, 1).unwrap(),
        LeaseRevoked {
            deleted: 0,
            revision: 2
        }
    );
    assert_eq!(t.store.current_revision(), 2);
    assert_eq!(t.store.lease(1), None);
    assert_eq!(t.store.counters(), before);
}

async fn next_events(ws: &mut WatchStream) -> Vec<(i32, String, i64)> {
    let batch = tokio::time::timeout(Duration::from_secs(10), ws.recv())
        .await
        .unwrap()
        .unwrap();
    batch
        .events
        .iter()
        .map(|ev| {
            let kv = ev.kv.as_ref().unwrap();
            (
                ev.r#type,
                String::from_utf8(kv.key.clone()).unwrap(),
                kv.mod_revision,
            )
        })
        .collect()
}

#[tokio::test]
async fn watchers_see_a_revoke_as_deletes_of_one_revision() {
    let t = TestStore::new();
    grant(&t, &[9]);
    for key in ["k3", "k1", "k2"] {
        put_leased(&t, key, 9); // 2, 3, 4
    }
    let mut live = t.store.watch_stream();
    live.watch(0, b"k".to_vec(), b"l".to_vec(), 0, true, false, false)
        .unwrap();
    let revoked = revoke(&t, 9).unwrap();
    assert_eq!(revoked.revision, 5);
    let del = EventType::Delete as i32;
    let want = vec![
        (del, "k1".to_string(), 5),
        (del, "k2".to_string(), 5),
        (del, "k3".to_string(), 5),
    ];
    assert_eq!(next_events(&mut live).await, want);
    // a watcher reading the revision back from disk gets the same order,
    // so the sub revisions follow the key order
    let mut history = t.store.watch_stream();
    history
        .watch(0, b"k".to_vec(), b"l".to_vec(), 5, false, false, false)
        .unwrap();
    assert_eq!(next_events(&mut history).await, want);
}

#[test]
fn put_with_an_unknown_lease_leaves_no_trace() {
    let t = TestStore::new();
    t.put("a", "1");
    let before = (t.store.counters(), t.store.hash().unwrap());
    let mut b = t.store.write_batch().unwrap();
    assert_eq!(
        api_err(b.put(&leased("k", "v", 4)).unwrap_err()),
        api::Error::LeaseNotFound
    );
    assert_eq!(b.revision(), 2);
    // a grant earlier in the batch counts, a revoke earlier in it too
    b.lease_grant(4, 10).unwrap();
    assert_eq!(
        b.put(&leased("k", "v", 4))
            .unwrap()
            .header
            .unwrap()
            .revision,
        3
    );
    b.lease_revoke(4).unwrap();
    assert_eq!(
        api_err(b.put(&leased("k", "v", 4)).unwrap_err()),
        api::Error::LeaseNotFound
    );
    drop(b);
    assert_eq!((t.store.counters(), t.store.hash().unwrap()), before);
    assert_eq!(t.store.current_revision(), 2);
    assert!(t.get("k").is_none());
}

fn version_is(key: &str, v: i64) -> api::pb::etcdserverpb::Compare {
    cmp(
        key,
        CompareTarget::Version,
        CompareResult::Equal,
        TargetUnion::Version(v),
    )
}

#[test]
fn txns_check_leases_on_the_taken_branch_only() {
    let t = TestStore::new();
    grant(&t, &[1]);
    t.put("a", "1"); // 2: a has version 1
    let unknown = op_leased("x", "v", 77);

    // the unknown lease sits on the branch not taken
    let mut b = t.store.write_batch().unwrap();
    let resp = b
        .txn(&TxnRequest {
            compare: vec![version_is("a", 1)],
            success: vec![op_leased("s", "v", 1)],
            failure: vec![unknown.clone()],
        })
        .unwrap();
    assert!(resp.succeeded);
    assert_eq!(resp.header.unwrap().revision, 3);
    b.commit(false).unwrap();
    assert_eq!(names(&t.store.lease_keys(1)), ["s"]);

    // on the taken branch it refuses the whole txn
    let mut b = t.store.write_batch().unwrap();
    let refused = b.txn(&TxnRequest {
        compare: vec![version_is("a", 1)],
        success: vec![op_put("y", "v"), unknown.clone()],
        failure: vec![],
    });
    assert_eq!(api_err(refused.unwrap_err()), api::Error::LeaseNotFound);
    assert_eq!(b.revision(), 3);

    // inside a nested txn: only the nested branch taken counts
    let nested = |nested_ok: bool| TxnRequest {
        compare: vec![],
        success: vec![
            op_put("y", "v"),
            op_txn(TxnRequest {
                compare: vec![version_is("a", if nested_ok { 1 } else { 5 })],
                success: vec![op_leased("z", "v", 1)],
                failure: vec![unknown.clone()],
            }),
        ],
        failure: vec![],
    };
    assert_eq!(
        api_err(b.txn(&nested(false)).unwrap_err()),
        api::Error::LeaseNotFound
    );
    assert_eq!(b.revision(), 3);
    b.txn(&nested(true)).unwrap();
    assert_eq!(b.revision(), 4);
    b.commit(false).unwrap();
    assert_eq!(
        keys(&t.store.range(&range("\0", "\0")).unwrap()),
        ["a", "s", "y", "z"]
    );
    assert_eq!(names(&t.store.lease_keys(1)), ["s", "z"]);
}

#[test]
fn ignore_lease_keeps_the_attachment_and_a_new_lease_moves_it() {
    let t = TestStore::new();
    grant(&t, &[1, 2]);
    put_leased(&t, "k", 1);
    let mut b = t.store.write_batch().unwrap();
    b.put(&PutRequest {
        ignore_lease: true,
        ..put("k", "again")
    })
    .unwrap();
    b.commit(false).unwrap();
    assert_eq!(t.get("k").unwrap().lease, 1);
    assert_eq!(names(&t.store.lease_keys(1)), ["k"]);

    let mut b = t.store.write_batch().unwrap();
    b.put(&PutRequest {
        ignore_value: true,
        lease: 2,
        ..put("k", "")
    })
    .unwrap();
    b.commit(false).unwrap();
    assert!(t.store.lease_keys(1).is_empty());
    assert_eq!(names(&t.store.lease_keys(2)), ["k"]);
    assert_eq!(revoke(&t, 1).unwrap().deleted, 0);
    assert_eq!(t.get("k").unwrap().value, b"again");
    assert_eq!(revoke(&t, 2).unwrap().deleted, 1);
    assert!(t.get("k").is_none());
}

#[test]
fn a_put_without_lease_or_a_delete_detaches() {
    let t = TestStore::new();
    grant(&t, &[1]);
    put_leased(&t, "reput", 1);
    put_leased(&t, "deleted", 1);
    put_leased(&t, "kept", 1);
    t.put("reput", "plain");
    t.delete("deleted", "");
    assert_eq!(names(&t.store.lease_keys(1)), ["kept"]);
    // a deleted key re-created without lease stays detached
    t.put("deleted", "back");
    assert_eq!(revoke(&t, 1).unwrap().deleted, 1);
    assert_eq!(
        keys(&t.store.range(&range("\0", "\0")).unwrap()),
        ["deleted", "reput"]
    );
}

#[test]
fn a_range_delete_in_a_txn_detaches_every_key() {
    let t = TestStore::new();
    grant(&t, &[1]);
    for key in ["p1", "p2", "q"] {
        put_leased(&t, key, 1);
    }
    let mut b = t.store.write_batch().unwrap();
    b.txn(&TxnRequest {
        compare: vec![],
        success: vec![op_delete("p", "q"), op_leased("p2", "new", 1)],
        failure: vec![],
    })
    .unwrap();
    b.commit(false).unwrap();
    assert_eq!(names(&t.store.lease_keys(1)), ["p2", "q"]);
}

#[test]
fn revoke_sees_the_batch_and_readers_see_only_published_leases() {
    let t = TestStore::new();
    grant(&t, &[1]);
    put_leased(&t, "old", 1); // 2
    let mut b = t.store.write_batch().unwrap();
    b.put(&leased("new", "v", 1)).unwrap(); // 3
    assert_eq!(names(&t.store.lease_keys(1)), ["old"], "unpublished");
    let revoked = b.lease_revoke(1).unwrap();
    assert_eq!(
        revoked,
        LeaseRevoked {
            deleted: 2,
            revision: 4
        }
    );
    assert_eq!(names(&t.store.lease_keys(1)), ["old"], "unpublished");
    b.commit(false).unwrap();
    assert!(t.store.lease_keys(1).is_empty());
    assert!(t.store.range(&range("\0", "\0")).unwrap().kvs.is_empty());
}

#[test]
fn a_dropped_batch_takes_its_leases_back() {
    let t = TestStore::new();
    grant(&t, &[1]);
    put_leased(&t, "k", 1);
    let mut b = t.store.write_batch().unwrap();
    b.lease_grant(2, 5).unwrap();
    b.put(&leased("k", "v", 2)).unwrap();
    b.lease_revoke(1).unwrap();
    b.lease_checkpoint(2, 3).unwrap();
    drop(b);
    assert_eq!(t.store.leases().unwrap(), vec![record(1, 60, 0)]);
    assert_eq!(names(&t.store.lease_keys(1)), ["k"]);
    assert!(t.store.lease_keys(2).is_empty());
    let mut b = t.store.write_batch().unwrap();
    assert_eq!(
        api_err(b.put(&leased("k", "v", 2)).unwrap_err()),
        api::Error::LeaseNotFound
    );
}

#[test]
fn checkpoints_store_the_remaining_ttl() {
    let t = TestStore::new();
    grant(&t, &[1]);
    let (hash, hash_kv) = (t.store.hash().unwrap(), t.store.hash_kv(0).unwrap());
    let mut b = t.store.write_batch().unwrap();
    b.lease_checkpoint(1, 42).unwrap();
    b.lease_checkpoint(99, 42).unwrap();
    assert_eq!(b.lease(1), Some(record(1, 60, 42)));
    b.commit(false).unwrap();
    assert_eq!(t.store.leases().unwrap(), vec![record(1, 60, 42)]);
    assert_eq!(t.store.lease(99), None, "an unknown id is ignored");
    // Hash covers the lease table, HashKV only the key space
    assert_ne!(t.store.hash().unwrap(), hash);
    assert_eq!(t.store.hash_kv(0).unwrap(), hash_kv);
}

/// Leases, (key, lease) of every live key, and the keys attached to ids
/// 1 to 4.
type LeaseState = (Vec<LeaseRecord>, Vec<(String, i64)>, Vec<Vec<String>>);

fn lease_state(store: &Store) -> LeaseState {
    let keys = store
        .range(&range("\0", "\0"))
        .unwrap()
        .kvs
        .iter()
        .map(|kv| (String::from_utf8(kv.key.clone()).unwrap(), kv.lease))
        .collect();
    let attached = (1..=4).map(|id| names(&store.lease_keys(id))).collect();
    (store.leases().unwrap(), keys, attached)
}

#[test]
fn leases_and_attachments_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let image = dir.path().join("crash-image");
    let open = |path: &std::path::Path| Store::open(path, StoreOptions::default()).unwrap();
    let durable = {
        let store = open(&path);
        let mut b = store.write_batch().unwrap();
        b.lease_grant(1, 10).unwrap();
        b.lease_grant(2, 20).unwrap();
        b.lease_grant(3, 30).unwrap();
        b.put(&leased("a", "v", 1)).unwrap();
        b.put(&leased("b", "v", 2)).unwrap();
        b.put(&leased("c", "v", 2)).unwrap();
        b.put(&put("c", "unleased")).unwrap();
        b.lease_checkpoint(2, 7).unwrap();
        b.lease_revoke(3).unwrap();
        b.set_consistent_index(1);
        b.commit(true).unwrap();
        let durable = lease_state(&store);
        assert_eq!(durable.0, vec![record(1, 10, 0), record(2, 20, 7)]);
        assert_eq!(durable.2, vec![vec!["a"], vec!["b"], vec![], vec![]]);

        // a later commit that is not durable: a crash loses its leases
        // together with its keys
        let mut b = store.write_batch().unwrap();
        b.lease_grant(4, 40).unwrap();
        b.put(&leased("d", "v", 4)).unwrap();
        b.lease_revoke(1).unwrap();
        b.set_consistent_index(2);
        b.commit(false).unwrap();
        std::fs::copy(&path, &image).unwrap();
        assert_eq!(names(&store.lease_keys(4)), ["d"]);
        durable
    };
    let crashed = open(&image);
    assert_eq!(crashed.consistent_index(), 1);
    assert_eq!(lease_state(&crashed), durable);
    drop(crashed);

    // a clean close keeps everything
    let store = open(&path);
    let (leases, keys, attached) = lease_state(&store);
    assert_eq!(leases, vec![record(2, 20, 7), record(4, 40, 0)]);
    assert_eq!(
        keys,
        [
            ("b".to_string(), 2),
            ("c".to_string(), 0),
            ("d".to_string(), 4)
        ]
    );
    assert_eq!(attached, vec![vec![], vec!["b"], vec![], vec!["d"]]);
    let mut b = store.write_batch().unwrap();
    assert_eq!(b.lease_revoke(2).unwrap().deleted, 1);
    assert_eq!(
        api_err(b.lease_grant(4, 5).unwrap_err()),
        api::Error::LeaseExist
    );
    b.commit(true).unwrap();
}
