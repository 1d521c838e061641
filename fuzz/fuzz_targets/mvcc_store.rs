//! A database file as a damaged or foreign disk could hold it: `key` and
//! `meta` tables filled from the input (revision keys and stored
//! KeyValues, well formed or raw), then `Store::open` and a round of reads,
//! writes and a compaction on what it restored. Opening may refuse the file
//! but nothing may panic, on opening or afterwards.

#![no_main]

use api::pb::etcdserverpb::{CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest};
use api::pb::mvccpb::KeyValue;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use mvcc::{Revision, Store, StoreOptions};
use prost::Message as _;
use redb::{Database, Durability, TableDefinition};

const KV: TableDefinition<&[u8], &[u8]> = TableDefinition::new("key");
const META: TableDefinition<&[u8], &[u8]> = TableDefinition::new("meta");

/// Mostly small numbers, so that revisions of a key meet and interleave,
/// or numbers at the ends of the range, where arithmetic on them overflows.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Num {
    Small(i8),
    FromTop(u8),
    FromBottom(u8),
    Any(i64),
}

impl Num {
    fn get(self) -> i64 {
        match self {
            Num::Small(n) => i64::from(n),
            Num::FromTop(n) => i64::MAX - i64::from(n),
            Num::FromBottom(n) => i64::MIN + i64::from(n),
            Num::Any(n) => n,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Key {
    Revision {
        main: Num,
        sub: Num,
        tombstone: bool,
    },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Value {
    KeyValue {
        key: u8,
        create: Num,
        modified: Num,
        version: Num,
        lease: Num,
        value: Vec<u8>,
    },
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Meta {
    Revision(Num),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    rows: Vec<(Key, Value)>,
    consistent_index: Option<Vec<u8>>,
    finished_compact: Option<Meta>,
    scheduled_compact: Option<Meta>,
    reads: Vec<Num>,
    put_key: u8,
    compact_at: Num,
}

fn key_bytes(key: &Key) -> Vec<u8> {
    match key {
        Key::Revision {
            main,
            sub,
            tombstone,
        } => Revision::new(main.get(), sub.get()).to_key(*tombstone),
        Key::Raw(raw) => raw.clone(),
    }
}

fn value_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::KeyValue {
            key,
            create,
            modified,
            version,
            lease,
            value,
        } => KeyValue {
            key: vec![b'k', *key % 8],
            create_revision: create.get(),
            mod_revision: modified.get(),
            version: version.get(),
            value: value.clone(),
            lease: lease.get(),
        }
        .encode_to_vec(),
        Value::Raw(raw) => raw.clone(),
    }
}

fn meta_bytes(meta: &Meta) -> Vec<u8> {
    match meta {
        Meta::Revision(rev) => Revision::new(rev.get(), 0).to_bytes().to_vec(),
        Meta::Raw(raw) => raw.clone(),
    }
}

fn write_file(path: &std::path::Path, input: &Input) -> Result<(), redb::Error> {
    let db = Database::create(path)?;
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::None)?;
    {
        let mut kv = txn.open_table(KV)?;
        for (key, value) in &input.rows {
            kv.insert(key_bytes(key).as_slice(), value_bytes(value).as_slice())?;
        }
        let mut meta = txn.open_table(META)?;
        if let Some(index) = &input.consistent_index {
            meta.insert(b"consistent_index".as_slice(), index.as_slice())?;
        }
        if let Some(rev) = &input.finished_compact {
            meta.insert(b"finishedCompactRev".as_slice(), meta_bytes(rev).as_slice())?;
        }
        if let Some(rev) = &input.scheduled_compact {
            meta.insert(
                b"scheduledCompactRev".as_slice(),
                meta_bytes(rev).as_slice(),
            )?;
        }
    }
    txn.commit()?;
    Ok(())
}

fn exercise(store: &Store, input: &Input) {
    let everything = |revision: i64| RangeRequest {
        key: vec![0],
        range_end: vec![0],
        revision,
        ..RangeRequest::default()
    };
    let current = store.current_revision();
    let compacted = store.compact_revision();
    for revision in [0, current, compacted, compacted + 1]
        .into_iter()
        .chain(input.reads.iter().map(|r| r.get()))
    {
        // Stored values are served as written, as etcd serves them, so
        // there is nothing to check about them here beyond not panicking.
        let _ = store.range(&everything(revision));
        let _ = store.hash_kv(revision);
    }
    let _ = store.hash();
    let _ = store.leases();
    let _ = store.counters();
    let Ok(mut batch) = store.write_batch() else {
        return;
    };
    let key = vec![b'k', input.put_key % 8];
    let _ = batch.put(&PutRequest {
        key: key.clone(),
        value: b"v".to_vec(),
        ..PutRequest::default()
    });
    let _ = batch.range(&everything(0));
    let _ = batch.delete_range(&DeleteRangeRequest {
        key,
        ..DeleteRangeRequest::default()
    });
    let _ = batch.compact(&CompactionRequest {
        revision: input.compact_at.get(),
        physical: true,
    });
    let _ = batch.commit(false);
    let _ = store.range(&everything(0));
}

fuzz_target!(|input: Input| {
    let Ok(dir) = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()) else {
        return;
    };
    let path = dir.path().join("db");
    if write_file(&path, &input).is_err() {
        return;
    }
    let options = StoreOptions {
        cache_bytes: 1 << 20,
        ..StoreOptions::default()
    };
    if let Ok(store) = Store::open(&path, options) {
        exercise(&store, &input);
        store.close();
    }
});
