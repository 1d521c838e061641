//! Write and read paths of the store: a batch of puts committed together,
//! and ranges over one key and over 64 keys.
#![allow(clippy::unwrap_used)]

use api::pb::etcdserverpb::{PutRequest, RangeRequest};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mvcc::{Store, StoreOptions};

fn put(key: String, value: &[u8]) -> PutRequest {
    PutRequest {
        key: key.into_bytes(),
        value: value.to_vec(),
        ..PutRequest::default()
    }
}

fn put_path(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), StoreOptions::default()).unwrap();
    let value = vec![b'v'; 256];
    let mut next = 0u64;
    c.bench_function("put_batch_100_commit", |b| {
        b.iter_batched(
            || {
                next += 1;
                next
            },
            |round| {
                let mut batch = store.write_batch().unwrap();
                for i in 0..100u64 {
                    batch
                        .put(&put(
                            format!("key/{:08}", (round * 100 + i) % 10_000),
                            &value,
                        ))
                        .unwrap();
                }
                batch.set_consistent_index(round);
                batch.commit(false).unwrap();
            },
            BatchSize::SmallInput,
        );
    });
}

fn range_path(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db"), StoreOptions::default()).unwrap();
    let value = vec![b'v'; 256];
    let mut batch = store.write_batch().unwrap();
    for i in 0..1_000 {
        batch.put(&put(format!("key/{i:04}"), &value)).unwrap();
    }
    batch.commit(true).unwrap();

    let single = RangeRequest {
        key: b"key/0500".to_vec(),
        ..RangeRequest::default()
    };
    c.bench_function("range_single_key", |b| {
        b.iter(|| assert_eq!(store.range(&single).unwrap().kvs.len(), 1));
    });
    let span = RangeRequest {
        key: b"key/0100".to_vec(),
        range_end: b"key/0164".to_vec(),
        ..RangeRequest::default()
    };
    c.bench_function("range_64_keys", |b| {
        b.iter(|| assert_eq!(store.range(&span).unwrap().kvs.len(), 64));
    });
}

criterion_group!(benches, put_path, range_path);
criterion_main!(benches);
