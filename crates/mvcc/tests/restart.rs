//! Reopening the database file: same data, revisions and consistent index;
//! a crash after non-durable commits falls back to the last durable one; a
//! damaged file is an error, never an empty store.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use api::pb::etcdserverpb::{CompactionRequest, PutRequest, RangeRequest};
use common::*;
use mvcc::{Error, Store, StoreOptions};

fn open(path: &Path) -> Result<Store, Error> {
    Store::open(path, StoreOptions::default())
}

fn snapshot(store: &Store) -> (i64, i64, u64, u32, Vec<api::pb::mvccpb::KeyValue>) {
    let all = store.range(&range("\0", "\0")).unwrap().kvs;
    (
        store.current_revision(),
        store.compact_revision(),
        store.consistent_index(),
        store.hash().unwrap(),
        all,
    )
}

/// Applies `n` puts as raft entries `first..first + n`, one batch.
fn apply(store: &Store, first: u64, n: u64, durable: bool) {
    let mut b = store.write_batch().unwrap();
    for i in 0..n {
        b.put(&put(
            &format!("key{}", (first + i) % 7),
            &format!("v{}", first + i),
        ))
        .unwrap();
        b.set_consistent_index(first + i);
    }
    b.commit(durable).unwrap();
}

#[test]
fn reopen_restores_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let before = {
        let store = open(&path).unwrap();
        apply(&store, 1, 20, false);
        let mut b = store.write_batch().unwrap();
        b.delete_range(&delete("key3", "")).unwrap();
        b.lease_grant(42, 60).unwrap();
        b.put(&PutRequest {
            lease: 42,
            ..put("leased", "x")
        })
        .unwrap();
        b.compact(&CompactionRequest {
            revision: 15,
            physical: true,
        })
        .unwrap();
        b.set_consistent_index(21);
        b.commit(true).unwrap();
        snapshot(&store)
    };
    assert_eq!((before.0, before.1, before.2), (23, 15, 21));

    let store = open(&path).unwrap();
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.lease_keys(42), vec![b"leased".to_vec()]);
    assert_eq!(store.counters().keys_total, 7);
    // history above the compact revision is still there, below it is not
    assert_eq!(
        store
            .range(&RangeRequest {
                revision: 15,
                ..range("key1", "")
            })
            .unwrap()
            .kvs
            .len(),
        1
    );
    assert!(
        store
            .range(&RangeRequest {
                revision: 14,
                ..range("key1", "")
            })
            .is_err()
    );
    // the rebuilt index carries versions and create revisions on
    let k1 = store.range(&range("key1", "")).unwrap().kvs.remove(0);
    assert_eq!((k1.create_revision, k1.version), (2, 3));
    let mut b = store.write_batch().unwrap();
    let resp = b.put(&put("key1", "after")).unwrap();
    assert_eq!(resp.header.unwrap().revision, 24);
    b.commit(true).unwrap();
    let k1 = store.range(&range("key1", "")).unwrap().kvs.remove(0);
    assert_eq!(
        (k1.create_revision, k1.version, k1.mod_revision),
        (2, 4, 24)
    );
}

#[test]
fn compaction_of_newest_tombstone_keeps_revision() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = open(&path).unwrap();
        let mut b = store.write_batch().unwrap();
        b.put(&put("a", "1")).unwrap();
        b.delete_range(&delete("a", "")).unwrap();
        b.compact(&CompactionRequest {
            revision: 3,
            physical: true,
        })
        .unwrap();
        b.commit(true).unwrap();
        assert_eq!(store.current_revision(), 3);
    }
    // nothing is left on disk but the compact revision
    let store = open(&path).unwrap();
    assert_eq!((store.current_revision(), store.compact_revision()), (3, 3));
    assert_eq!(store.counters().keys_total, 0);
}

#[test]
fn crash_after_non_durable_commits_recovers_last_durable_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let image = dir.path().join("crash-image");
    let store = open(&path).unwrap();
    apply(&store, 1, 10, true);
    let durable = snapshot(&store);
    apply(&store, 11, 10, false);
    apply(&store, 21, 10, false);
    assert_eq!(store.consistent_index(), 30);
    // what the disk holds if the process dies now
    std::fs::copy(&path, &image).unwrap();

    let recovered = open(&image).unwrap();
    let state = snapshot(&recovered);
    assert_eq!(state, durable, "recovered state is the last durable commit");
    assert_eq!(state.2, 10, "the WAL must be replayed from entry 11");
    drop(recovered);

    // replaying the lost entries gives the same store again
    let replayed = open(&image).unwrap();
    apply(&replayed, 11, 10, false);
    apply(&replayed, 21, 10, true);
    assert_eq!(snapshot(&replayed), snapshot(&store));
}

#[test]
fn clean_close_keeps_non_durable_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let before = {
        let store = open(&path).unwrap();
        apply(&store, 1, 5, true);
        apply(&store, 6, 5, false);
        snapshot(&store)
    };
    // redb makes pending commits durable when the database closes
    let store = open(&path).unwrap();
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.consistent_index(), 10);
}

fn filled_file(path: &Path) {
    let store = open(path).unwrap();
    let value = "x".repeat(1000);
    for round in 0..20 {
        let mut b = store.write_batch().unwrap();
        for i in 0..50 {
            b.put(&put(&format!("key{round:02}-{i:03}"), &value))
                .unwrap();
        }
        b.commit(true).unwrap();
    }
}

#[test]
fn damaged_file_is_an_error_not_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    filled_file(&path);
    let len = std::fs::metadata(&path).unwrap().len();
    // every used page is checksummed: overwrite a wide stretch in the middle
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start(len / 4)).unwrap();
    file.write_all(&vec![0xA5; (len / 2) as usize]).unwrap();
    file.sync_all().unwrap();
    drop(file);

    let err = open(&path).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, Error::Corrupt(_) | Error::Storage(_)),
        "{err:?}"
    );
    assert!(text.contains("db"), "the message names the file: {text}");
}

#[test]
fn foreign_or_truncated_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign");
    std::fs::write(
        &foreign,
        b"this is not a database, just some text ".repeat(200),
    )
    .unwrap();
    assert!(open(&foreign).is_err());

    let path = dir.path().join("db");
    filled_file(&path);
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len / 3).unwrap();
    drop(file);
    assert!(open(&path).is_err());
}
