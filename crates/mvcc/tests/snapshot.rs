//! Snapshots: a dump restored into a fresh store or over other contents
//! gives the same ranges at every revision, hashes, leases, members and
//! consistent index; damaged dumps are refused and leave the contents
//! alone; watchers continue on the new contents; readers running during
//! restores see one state or the other, never a mix.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use api::pb::etcdserverpb::{CompactionRequest, PutRequest, RangeRequest, TxnRequest};
use api::pb::mvccpb::KeyValue;
use api::pb::mvccpb::event::EventType;
use common::*;
use mvcc::{Error, LeaseRecord, Store, StoreOptions, WatchBatch, WatchStream};

/// Writes a history with leases, a checkpoint, deletes, a compaction, a
/// lease revoke and membership changes; raft indexes count from
/// `first_index`. Returns the compaction revision.
fn write_history(t: &TestStore, first_index: u64) -> i64 {
    let mut index = first_index;
    let mut next_index = || {
        index += 1;
        index
    };
    for i in 0..12 {
        let mut b = t.store.write_batch().unwrap();
        b.put(&put(&format!("k{}", i % 5), &format!("v{i}")))
            .unwrap();
        b.set_consistent_index(next_index());
        b.commit(false).unwrap();
    }
    let mut b = t.store.write_batch().unwrap();
    b.lease_grant(7, 60).unwrap();
    b.lease_grant(8, 30).unwrap();
    b.put(&PutRequest {
        lease: 7,
        ..put("leased/a", "x")
    })
    .unwrap();
    b.put(&PutRequest {
        lease: 8,
        ..put("leased/b", "y")
    })
    .unwrap();
    b.lease_checkpoint(7, 42).unwrap();
    b.put_member(0x10, b"member one").unwrap();
    b.put_member(0x20, b"member two").unwrap();
    b.put_member(0x30, b"member three").unwrap();
    b.set_cluster_version("3.4.0").unwrap();
    b.set_consistent_index(next_index());
    b.commit(true).unwrap();
    t.delete("k1", "");
    let compacted = t.store.current_revision() - 3;
    t.compact(compacted);
    let mut b = t.store.write_batch().unwrap();
    b.lease_revoke(8).unwrap();
    b.delete_member(0x20).unwrap();
    b.put(&put("k2", "after")).unwrap();
    b.set_consistent_index(next_index());
    b.commit(true).unwrap();
    compacted
}

fn dump(store: &Store) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let index = store.write_snapshot(&mut out).unwrap();
    (out, index)
}

fn all_at(store: &Store, revision: i64) -> Result<Vec<KeyValue>, Error> {
    store
        .range(&RangeRequest {
            revision,
            ..range("\0", "\0")
        })
        .map(|r| r.kvs)
}

/// Everything a restore must carry over.
#[derive(Debug, PartialEq)]
struct State {
    current: i64,
    compacted: i64,
    consistent_index: u64,
    hash: u32,
    hash_kv: (u32, i64, i64),
    ranges: Vec<Result<Vec<KeyValue>, Error>>,
    hash_kvs: Vec<Result<(u32, i64, i64), Error>>,
    leases: Vec<LeaseRecord>,
    lease_keys: Vec<Vec<Vec<u8>>>,
    members: Vec<(u64, Vec<u8>)>,
    removed: Vec<u64>,
    cluster_version: Option<String>,
    live_keys: u64,
}

fn state(store: &Store) -> State {
    let current = store.current_revision();
    let leases = store.leases().unwrap();
    State {
        current,
        compacted: store.compact_revision(),
        consistent_index: store.consistent_index(),
        hash: store.hash().unwrap(),
        hash_kv: store.hash_kv(0).unwrap(),
        ranges: (1..=current + 1).map(|rev| all_at(store, rev)).collect(),
        hash_kvs: (1..=current + 1).map(|rev| store.hash_kv(rev)).collect(),
        lease_keys: leases.iter().map(|l| store.lease_keys(l.id)).collect(),
        leases,
        members: store.members().unwrap(),
        removed: store.removed_members().unwrap(),
        cluster_version: store.cluster_version().unwrap(),
        live_keys: store.counters().keys_total,
    }
}

#[test]
fn a_restored_store_equals_its_source() {
    let source = TestStore::new();
    let compacted = write_history(&source, 100);
    let (bytes, index) = dump(&source.store);
    assert_eq!(index, source.store.consistent_index());
    assert_eq!(index, 114);

    let copy = TestStore::new();
    copy.store.restore_snapshot(&mut bytes.as_slice()).unwrap();
    let expected = state(&source.store);
    assert_eq!(state(&copy.store), expected);

    // spot checks that the comparison saw what matters
    assert_eq!(expected.compacted, compacted);
    assert!(matches!(
        expected.ranges[0],
        Err(Error::Api(api::Error::Compacted))
    ));
    assert!(expected.ranges[compacted as usize - 1].is_ok());
    assert!(matches!(
        expected.ranges[expected.current as usize],
        Err(Error::Api(api::Error::FutureRev))
    ));
    assert_eq!(
        expected.members,
        vec![
            (0x10, b"member one".to_vec()),
            (0x30, b"member three".to_vec())
        ]
    );
    assert_eq!(expected.removed, vec![0x20]);
    assert_eq!(expected.cluster_version.as_deref(), Some("3.4.0"));
    assert_eq!(expected.leases.len(), 1);
    assert_eq!(expected.leases[0].remaining_ttl, 42);
    assert_eq!(expected.lease_keys, vec![vec![b"leased/a".to_vec()]]);

    // the dump of the copy is the same dump
    assert_eq!(dump(&copy.store).0, bytes);

    // the copy writes on from where the source is
    let next = copy.put("k9", "new");
    assert_eq!(next, expected.current + 1);
}

#[test]
fn a_restore_replaces_other_contents_and_survives_a_reopen() {
    let source = TestStore::new();
    write_history(&source, 0);
    let (bytes, _) = dump(&source.store);

    let target = TestStore::new();
    for i in 0..40 {
        target.put(&format!("other{i}"), "z");
    }
    let mut b = target.store.write_batch().unwrap();
    b.lease_grant(99, 5).unwrap();
    b.put_member(0x99, b"stranger").unwrap();
    b.set_cluster_version("3.3.0").unwrap();
    b.set_consistent_index(500);
    b.commit(true).unwrap();
    target.compact(30);

    target
        .store
        .restore_snapshot(&mut bytes.as_slice())
        .unwrap();
    let expected = state(&source.store);
    assert_eq!(state(&target.store), expected);
    assert!(target.store.lease(99).is_none());
    assert!(target.get("other1").is_none());

    // the file at the live path is the new database
    let path = target.path();
    let TestStore { store, dir: _dir } = target;
    drop(store);
    let reopened = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(state(&reopened), expected);
    assert!(!path.with_file_name("db.restore").exists());
}

#[test]
fn restore_from_a_dump_file() {
    let source = TestStore::new();
    write_history(&source, 0);
    let file = source.dir.path().join("snap.db");
    let index = source
        .store
        .write_snapshot(&mut std::fs::File::create(&file).unwrap())
        .unwrap();
    let copy = TestStore::new();
    copy.store.restore_snapshot_file(&file).unwrap();
    assert_eq!(copy.store.consistent_index(), index);
    assert_eq!(state(&copy.store), state(&source.store));
    assert!(
        copy.store
            .restore_snapshot_file(&file.with_extension("none"))
            .is_err()
    );
}

#[test]
fn damaged_dumps_are_refused_and_change_nothing() {
    let source = TestStore::new();
    write_history(&source, 0);
    let (bytes, _) = dump(&source.store);

    let target = TestStore::new();
    target.put("mine", "1");
    let mut b = target.store.write_batch().unwrap();
    b.put_member(1, b"me").unwrap();
    b.set_consistent_index(3);
    b.commit(true).unwrap();
    let before = state(&target.store);

    let mut damaged: Vec<(String, Vec<u8>)> = Vec::new();
    for len in [
        0,
        4,
        12,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 5,
        bytes.len() - 1,
    ] {
        damaged.push((format!("truncated to {len}"), bytes[..len].to_vec()));
    }
    for at in [
        0,
        9,
        14,
        bytes.len() / 4,
        bytes.len() / 2,
        bytes.len() - 6,
        bytes.len() - 1,
    ] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x20;
        damaged.push((format!("byte {at} flipped"), flipped));
    }
    let mut longer = bytes.clone();
    longer.push(0);
    damaged.push(("a byte after the end".into(), longer));

    for (what, dump) in damaged {
        let err = target
            .store
            .restore_snapshot(&mut dump.as_slice())
            .expect_err(&what);
        assert!(matches!(err, Error::Corrupt(_)), "{what}: {err}");
        assert_eq!(state(&target.store), before, "{what}");
        assert!(
            !target.path().with_file_name("db.restore").exists(),
            "{what}"
        );
    }
    // the store still works, and a good dump still goes in
    target.put("mine", "2");
    target
        .store
        .restore_snapshot(&mut bytes.as_slice())
        .unwrap();
    assert_eq!(state(&target.store), state(&source.store));
}

#[test]
fn a_restore_waits_for_another_threads_batch_and_refuses_its_own() {
    let source = TestStore::new();
    source.put("from", "source");
    let (bytes, _) = dump(&source.store);
    let t = Arc::new(TestStore::new());

    let batch = t.store.write_batch().unwrap();
    let refused = t.store.restore_snapshot(&mut bytes.as_slice());
    assert!(matches!(refused, Err(Error::Storage(_))), "{refused:?}");
    drop(batch);

    let mut batch = t.store.write_batch().unwrap();
    batch.put(&put("mine", "1")).unwrap();
    let restorer = {
        let t = Arc::clone(&t);
        let bytes = bytes.clone();
        std::thread::spawn(move || t.store.restore_snapshot(&mut bytes.as_slice()))
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(!restorer.is_finished(), "the restore waits for the batch");
    batch.commit(false).unwrap();
    restorer.join().unwrap().unwrap();
    assert!(t.get("mine").is_none());
    assert_eq!(t.get("from").unwrap().value, b"source");
}

async fn next(ws: &mut WatchStream) -> WatchBatch {
    tokio::time::timeout(Duration::from_secs(10), ws.recv())
        .await
        .expect("no watch batch within 10s")
        .expect("stream ended")
}

/// (type, key, revision) of each event until a batch reports `rev`.
async fn events_until(ws: &mut WatchStream, rev: i64) -> Vec<(i32, String, i64)> {
    let mut out = Vec::new();
    loop {
        let batch = next(ws).await;
        assert_eq!(batch.compact_revision, 0, "{batch:?}");
        for ev in &batch.events {
            let kv = ev.kv.as_ref().unwrap();
            out.push((
                ev.r#type,
                String::from_utf8(kv.key.clone()).unwrap(),
                kv.mod_revision,
            ));
        }
        if batch.revision >= rev {
            return out;
        }
    }
}

const PUT: i32 = EventType::Put as i32;

#[tokio::test]
async fn a_synced_watcher_gets_the_revisions_a_restore_brings() {
    // the follower has the leader's first revisions; the leader went on
    let follower = TestStore::new();
    let leader = TestStore::new();
    for t in [&follower, &leader] {
        t.put("w/a", "1");
        t.put("w/b", "2");
    }
    let mut ws = follower.store.watch_stream();
    ws.watch(0, b"w/".to_vec(), b"w0".to_vec(), 0, false, false, false)
        .unwrap();
    let before = follower.store.current_revision();
    leader.put("w/c", "3");
    leader.put("elsewhere", "x");
    leader.delete("w/a", "");
    let (bytes, _) = dump(&leader.store);

    follower
        .store
        .restore_snapshot(&mut bytes.as_slice())
        .unwrap();
    let events = events_until(&mut ws, leader.store.current_revision()).await;
    assert_eq!(
        events,
        vec![
            (PUT, "w/c".into(), before + 1),
            (EventType::Delete as i32, "w/a".into(), before + 3),
        ]
    );
    // and it is synced again: a new write arrives live
    let rev = follower.put("w/d", "4");
    assert_eq!(
        events_until(&mut ws, rev).await,
        vec![(PUT, "w/d".into(), rev)]
    );
}

#[tokio::test]
async fn a_watcher_behind_the_new_compaction_is_canceled() {
    let follower = TestStore::new();
    follower.put("w/a", "1");
    let mut ws = follower.store.watch_stream();
    let id = ws
        .watch(0, b"w/".to_vec(), b"w0".to_vec(), 0, false, false, false)
        .unwrap();

    let leader = TestStore::new();
    for i in 0..6 {
        leader.put("w/a", &i.to_string());
    }
    leader.compact(5);
    let (bytes, _) = dump(&leader.store);
    follower
        .store
        .restore_snapshot(&mut bytes.as_slice())
        .unwrap();
    let batch = next(&mut ws).await;
    assert_eq!(batch.watch_id, id);
    assert_eq!(batch.compact_revision, 5);
    assert!(batch.events.is_empty());
}

#[tokio::test]
async fn a_watcher_ahead_of_the_restored_contents_follows_them() {
    let target = TestStore::new();
    for i in 0..8 {
        target.put("w/a", &i.to_string());
    }
    let mut ws = target.store.watch_stream();
    ws.watch(0, b"w/".to_vec(), b"w0".to_vec(), 0, false, false, false)
        .unwrap();
    let source = TestStore::new();
    source.put("w/b", "1");
    let (bytes, _) = dump(&source.store);
    target
        .store
        .restore_snapshot(&mut bytes.as_slice())
        .unwrap();
    assert_eq!(target.store.current_revision(), 2);
    let rev = target.put("w/c", "new");
    assert_eq!(rev, 3);
    assert_eq!(
        events_until(&mut ws, rev).await,
        vec![(PUT, "w/c".into(), 3)]
    );
}

/// One of the two states readers may see: `count` keys under `prefix`,
/// every value `value`, at revision `revision`.
struct Shape {
    prefix: &'static str,
    count: usize,
    value: &'static [u8],
    revision: i64,
}

fn build(prefix: &'static str, count: usize, value: &'static [u8]) -> (Vec<u8>, Shape) {
    let t = TestStore::new();
    let mut b = t.store.write_batch().unwrap();
    for i in 0..count {
        b.put(&PutRequest {
            value: value.to_vec(),
            ..put(&format!("{prefix}{i:03}"), "")
        })
        .unwrap();
    }
    b.commit(false).unwrap();
    let (bytes, _) = dump(&t.store);
    let shape = Shape {
        prefix,
        count,
        value,
        revision: t.store.current_revision(),
    };
    (bytes, shape)
}

fn matches_one(kvs: &[KeyValue], revision: i64, shapes: &[Shape]) -> bool {
    shapes.iter().any(|s| {
        revision == s.revision
            && kvs.len() == s.count
            && kvs
                .iter()
                .all(|kv| kv.key.starts_with(s.prefix.as_bytes()) && kv.value == s.value)
    })
}

#[test]
fn readers_during_restores_see_one_state_or_the_other() {
    let (dump_a, a) = build("a/", 30, b"AAAA");
    let (dump_b, b) = build("b/", 70, b"BB");
    let shapes = Arc::new([a, b]);
    let t = Arc::new(TestStore::new());
    t.store.restore_snapshot(&mut dump_a.as_slice()).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|n| {
            let (t, stop, shapes) = (Arc::clone(&t), Arc::clone(&stop), Arc::clone(&shapes));
            std::thread::spawn(move || {
                let mut checked = 0u64;
                while !stop.load(Ordering::Relaxed) || checked < 10 {
                    let (kvs, revision) = if n == 0 {
                        let resp = t.store.range(&range("\0", "\0")).unwrap();
                        (resp.kvs, resp.header.unwrap().revision)
                    } else {
                        let resp = t
                            .store
                            .read_txn(&TxnRequest {
                                compare: vec![],
                                success: vec![op_range("\0", "\0"), op_range("a/", "c/")],
                                failure: vec![],
                            })
                            .unwrap();
                        let mut kvs = Vec::new();
                        for op in &resp.responses {
                            let Some(api::pb::etcdserverpb::response_op::Response::ResponseRange(
                                r,
                            )) = &op.response
                            else {
                                panic!("{op:?}");
                            };
                            kvs.push(r.kvs.clone());
                        }
                        assert_eq!(kvs[0], kvs[1], "one txn, two contents");
                        (kvs.swap_remove(0), resp.header.unwrap().revision)
                    };
                    assert!(
                        matches_one(&kvs, revision, &shapes[..]),
                        "a mix: {} keys at revision {revision}",
                        kvs.len()
                    );
                    checked += 1;
                }
                checked
            })
        })
        .collect();
    for round in 0..20 {
        let dump = if round % 2 == 0 { &dump_b } else { &dump_a };
        t.store.restore_snapshot(&mut dump.as_slice()).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() >= 10);
    }
    assert_eq!(t.store.range(&range("\0", "\0")).unwrap().kvs.len(), 30);
}

#[test]
fn members_change_atomically_with_the_batch() {
    let t = TestStore::new();
    let mut b = t.store.write_batch().unwrap();
    b.put_member(5, b"five").unwrap();
    b.set_consistent_index(9);
    drop(b);
    assert!(t.store.members().unwrap().is_empty());
    assert_eq!(t.store.consistent_index(), 0);

    let mut b = t.store.write_batch().unwrap();
    b.put_member(5, b"five").unwrap();
    b.put_member(6, b"six").unwrap();
    b.set_consistent_index(10);
    b.commit(true).unwrap();
    let mut b = t.store.write_batch().unwrap();
    b.put_member(5, b"five, promoted").unwrap();
    b.delete_member(6).unwrap();
    b.delete_member(7).unwrap();
    b.set_cluster_version("3.4.0").unwrap();
    b.set_consistent_index(11);
    b.commit(true).unwrap();
    // membership takes no revision
    assert_eq!(t.store.current_revision(), 1);

    let path = t.path();
    let TestStore { store, dir: _dir } = t;
    drop(store);
    let reopened = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(
        reopened.members().unwrap(),
        vec![(5, b"five, promoted".to_vec())]
    );
    assert_eq!(reopened.removed_members().unwrap(), vec![6, 7]);
    assert_eq!(
        reopened.cluster_version().unwrap().as_deref(),
        Some("3.4.0")
    );
    assert_eq!(reopened.consistent_index(), 11);
}

#[test]
fn equal_contents_hash_alike_with_membership() {
    let one = TestStore::new();
    let two = TestStore::new();
    for t in [&one, &two] {
        t.put("a", "1");
        let mut b = t.store.write_batch().unwrap();
        b.put_member(1, b"m").unwrap();
        b.commit(false).unwrap();
    }
    // a different consistent index does not count
    let mut b = two.store.write_batch().unwrap();
    b.set_consistent_index(77);
    b.commit(false).unwrap();
    assert_eq!(one.store.hash().unwrap(), two.store.hash().unwrap());
    let mut b = two.store.write_batch().unwrap();
    b.set_cluster_version("3.4.0").unwrap();
    b.commit(false).unwrap();
    assert_ne!(one.store.hash().unwrap(), two.store.hash().unwrap());
    assert_eq!(one.store.hash_kv(0).unwrap(), two.store.hash_kv(0).unwrap());
}

#[test]
fn compaction_request_keeps_working_after_a_restore() {
    let source = TestStore::new();
    write_history(&source, 0);
    let (bytes, _) = dump(&source.store);
    let copy = TestStore::new();
    copy.store.restore_snapshot(&mut bytes.as_slice()).unwrap();
    let current = copy.store.current_revision();
    let mut b = copy.store.write_batch().unwrap();
    b.compact(&CompactionRequest {
        revision: current,
        physical: true,
    })
    .unwrap();
    b.commit(false).unwrap();
    assert_eq!(copy.store.compact_revision(), current);
    assert_eq!(
        all_at(&copy.store, current).unwrap(),
        all_at(&source.store, current).unwrap()
    );
}
