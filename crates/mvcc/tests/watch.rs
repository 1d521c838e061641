//! Watch streams: order and exactly-once delivery, catch-up from history in
//! bounded batches, compaction cancel, filters and prev_kv, progress, slow
//! consumers that neither block writes nor grow memory.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use api::pb::etcdserverpb::TxnRequest;
use api::pb::mvccpb::Event;
use api::pb::mvccpb::event::EventType;
use common::*;
use mvcc::{Error, StoreOptions, WatchBatch, WatchStream};

/// (type, key, mod revision, value) of an event.
type Seen = (i32, String, i64, Vec<u8>);

fn seen(ev: &Event) -> Seen {
    let kv = ev.kv.as_ref().unwrap();
    (
        ev.r#type,
        String::from_utf8(kv.key.clone()).unwrap(),
        kv.mod_revision,
        kv.value.clone(),
    )
}

const PUT: i32 = EventType::Put as i32;
const DEL: i32 = EventType::Delete as i32;

async fn next(ws: &mut WatchStream) -> WatchBatch {
    tokio::time::timeout(Duration::from_secs(10), ws.recv())
        .await
        .expect("no watch batch within 10s")
        .expect("stream ended")
}

/// Receives batches until one reports `rev`; checks batches never split a
/// revision and never go backwards.
async fn collect_until(ws: &mut WatchStream, rev: i64) -> Vec<Seen> {
    let mut out: Vec<Seen> = Vec::new();
    let mut last_rev = 0;
    loop {
        let batch = next(ws).await;
        assert_eq!(batch.compact_revision, 0);
        assert!(batch.revision >= last_rev, "batch revisions go forward");
        if let (Some(prev), Some(first)) = (out.last(), batch.events.first()) {
            assert!(
                seen(first).2 > prev.2,
                "a revision was split across batches or repeated"
            );
        }
        for ev in &batch.events {
            assert!(ev.kv.as_ref().unwrap().mod_revision <= batch.revision);
        }
        out.extend(batch.events.iter().map(seen));
        last_rev = batch.revision;
        if batch.revision >= rev {
            return out;
        }
    }
}

fn expected_puts(keys_values: &[(&str, &str, i64)]) -> Vec<Seen> {
    keys_values
        .iter()
        .map(|(k, v, rev)| (PUT, k.to_string(), *rev, v.as_bytes().to_vec()))
        .collect()
}

#[tokio::test]
async fn synced_watcher_gets_every_event_once_in_order() {
    let t = TestStore::new();
    let mut ws = t.store.watch_stream();
    let id = ws
        .watch(0, b"k".to_vec(), b"l".to_vec(), 0, false, false, false)
        .unwrap();
    assert_eq!(id, 0, "etcd's first automatic id");

    t.put("k1", "a"); // 2
    t.put("other", "x"); // 3, not watched
    // one batch with several requests, one txn with several changes
    let mut b = t.store.write_batch().unwrap();
    b.put(&put("k2", "b")).unwrap(); // 4
    b.txn(&TxnRequest {
        compare: vec![],
        success: vec![op_put("k3", "c"), op_delete("k1", ""), op_put("k1", "d")],
        failure: vec![],
    })
    .unwrap(); // 5
    b.commit(false).unwrap();
    t.delete("k", "l"); // 6: k1, k2, k3

    let got = collect_until(&mut ws, 6).await;
    let want = vec![
        (PUT, "k1".into(), 2, b"a".to_vec()),
        (PUT, "k2".into(), 4, b"b".to_vec()),
        (PUT, "k3".into(), 5, b"c".to_vec()),
        (DEL, "k1".into(), 5, vec![]),
        (PUT, "k1".into(), 5, b"d".to_vec()),
        (DEL, "k1".into(), 6, vec![]),
        (DEL, "k2".into(), 6, vec![]),
        (DEL, "k3".into(), 6, vec![]),
    ];
    assert_eq!(got, want);
}

#[tokio::test]
async fn watcher_in_the_past_catches_up_in_bounded_batches_then_follows() {
    let t = TestStore::with(StoreOptions {
        watch_sync_max_revisions: 50,
        ..StoreOptions::default()
    });
    let mut want = Vec::new();
    for i in 0..300 {
        let rev = t.put(&format!("key{}", i % 10), &i.to_string());
        want.push((
            PUT,
            format!("key{}", i % 10),
            rev,
            i.to_string().into_bytes(),
        ));
    }
    let mut ws = t.store.watch_stream();
    ws.watch(7, b"key".to_vec(), b"kez".to_vec(), 2, false, false, false)
        .unwrap();

    // keep writing while the watcher catches up
    let writer = {
        let mut more = Vec::new();
        for i in 300..400 {
            let rev = t.put(&format!("key{}", i % 10), &i.to_string());
            more.push((
                PUT,
                format!("key{}", i % 10),
                rev,
                i.to_string().into_bytes(),
            ));
        }
        more
    };
    want.extend(writer);
    let last = want.last().unwrap().2;

    let mut got = Vec::new();
    let mut batches = 0;
    while got.len() < want.len() {
        let batch = next(&mut ws).await;
        assert_eq!(batch.watch_id, 7);
        let revs: std::collections::BTreeSet<i64> = batch
            .events
            .iter()
            .map(|e| e.kv.as_ref().unwrap().mod_revision)
            .collect();
        assert!(
            revs.len() <= 50,
            "catch-up batch of {} revisions",
            revs.len()
        );
        got.extend(batch.events.iter().map(seen));
        batches += 1;
    }
    assert!(batches >= 8, "history came in bounded steps ({batches})");
    assert_eq!(got, want);

    // synced now: new writes arrive once
    let rev = t.put("key1", "live");
    assert_eq!(rev, last + 1);
    let live = collect_until(&mut ws, rev).await;
    assert_eq!(live, expected_puts(&[("key1", "live", rev)]));
}

#[tokio::test]
async fn compacted_start_cancels_the_watcher() {
    let t = TestStore::new();
    for i in 0..10 {
        t.put("k", &i.to_string());
    }
    t.compact(8);
    let mut ws = t.store.watch_stream();
    let id = ws
        .watch(3, b"k".to_vec(), vec![], 5, false, false, false)
        .unwrap();
    let batch = next(&mut ws).await;
    assert_eq!(
        (batch.watch_id, batch.compact_revision, batch.events.len()),
        (id, 8, 0)
    );
    assert!(
        !ws.cancel(id),
        "the watcher is gone after the compaction notice"
    );
    // starting at the compact revision itself is fine
    ws.watch(4, b"k".to_vec(), vec![], 8, false, false, false)
        .unwrap();
    let got = collect_until(&mut ws, 11).await;
    assert_eq!(got.first().map(|s| s.2), Some(8));
    assert_eq!(got.len(), 4);
    assert_eq!(t.store.counters().watcher_total, 1);
}

#[tokio::test]
async fn filters_and_prev_kv() {
    let t = TestStore::new();
    t.put("k", "v1"); // 2
    let mut ws = t.store.watch_stream();
    let puts_only = ws
        .watch(1, b"k".to_vec(), vec![], 0, false, true, true)
        .unwrap();
    let deletes_only = ws
        .watch(2, b"k".to_vec(), vec![], 0, true, false, true)
        .unwrap();
    t.put("k", "v2"); // 3
    t.delete("k", ""); // 4
    t.put("k", "v3"); // 5: a creation, no previous version

    let mut by_id: std::collections::HashMap<i64, Vec<Event>> = Default::default();
    while by_id.get(&puts_only).map_or(0, Vec::len) < 2
        || by_id.get(&deletes_only).map_or(0, Vec::len) < 1
    {
        let batch = next(&mut ws).await;
        by_id
            .entry(batch.watch_id)
            .or_default()
            .extend(batch.events);
    }
    let puts = &by_id[&puts_only];
    assert_eq!(
        puts.iter().map(seen).collect::<Vec<_>>(),
        expected_puts(&[("k", "v2", 3), ("k", "v3", 5)])
    );
    assert_eq!(puts[0].prev_kv.as_ref().unwrap().value, b"v1");
    assert!(
        puts[1].prev_kv.is_none(),
        "a creation has no previous version"
    );
    let dels = &by_id[&deletes_only];
    assert_eq!(dels.len(), 1);
    assert_eq!(seen(&dels[0]), (DEL, "k".into(), 4, vec![]));
    assert_eq!(dels[0].prev_kv.as_ref().unwrap().value, b"v2");
}

#[tokio::test]
async fn ids_ranges_and_cancel() {
    let t = TestStore::new();
    let mut ws = t.store.watch_stream();
    assert_eq!(
        ws.watch(0, b"a".to_vec(), vec![], 0, false, false, false)
            .unwrap(),
        0
    );
    assert_eq!(
        ws.watch(5, b"a".to_vec(), vec![], 0, false, false, false)
            .unwrap(),
        5
    );
    assert_eq!(
        ws.watch(0, b"a".to_vec(), vec![], 0, false, false, false)
            .unwrap(),
        1
    );
    assert_eq!(
        ws.watch(5, b"b".to_vec(), vec![], 0, false, false, false),
        Err(Error::DuplicateWatchId)
    );
    assert_eq!(
        ws.watch(9, b"b".to_vec(), b"a".to_vec(), 0, false, false, false),
        Err(Error::EmptyWatcherRange)
    );
    assert_eq!(
        Error::EmptyWatcherRange.to_string(),
        "mvcc: watcher range is empty"
    );
    assert!(ws.cancel(5));
    assert!(!ws.cancel(5));
    assert!(ws.cancel(0));
    t.put("a", "1");
    let batch = next(&mut ws).await;
    assert_eq!(batch.watch_id, 1, "canceled watchers get nothing");
    let c = t.store.counters();
    assert_eq!((c.watch_stream_total, c.watcher_total), (1, 1));
    assert_eq!(c.events_total, 1);
    drop(ws);
    assert_eq!(t.store.counters().watcher_total, 0);
}

#[tokio::test]
async fn progress_and_future_start() {
    let t = TestStore::new();
    t.put("a", "1");
    let mut ws = t.store.watch_stream();
    let id = ws
        .watch(0, b"a".to_vec(), vec![], 0, false, false, false)
        .unwrap();
    ws.request_progress(id);
    let progress = next(&mut ws).await;
    assert_eq!(
        (progress.watch_id, progress.revision, progress.events.len()),
        (id, 2, 0)
    );
    ws.request_progress(-1);
    let stream_wide = next(&mut ws).await;
    assert_eq!((stream_wide.watch_id, stream_wide.revision), (-1, 2));

    let future = ws
        .watch(0, b"a".to_vec(), vec![], 4, false, false, false)
        .unwrap();
    t.put("a", "2"); // 3
    t.put("a", "3"); // 4
    let mut for_future = Vec::new();
    let mut for_first = Vec::new();
    while for_future.is_empty() || for_first.len() < 2 {
        let batch = next(&mut ws).await;
        let dest = if batch.watch_id == future {
            &mut for_future
        } else {
            &mut for_first
        };
        dest.extend(batch.events.iter().map(seen));
    }
    assert_eq!(for_future, expected_puts(&[("a", "3", 4)]));
    assert_eq!(for_first, expected_puts(&[("a", "2", 3), ("a", "3", 4)]));
}

#[tokio::test]
async fn slow_consumer_blocks_nothing_and_catches_up() {
    let t = TestStore::with(StoreOptions {
        watch_channel_capacity: 4,
        ..StoreOptions::default()
    });
    let mut slow = t.store.watch_stream();
    slow.watch(0, b"k".to_vec(), vec![], 0, false, false, true)
        .unwrap();
    let mut fast = t.store.watch_stream();
    fast.watch(0, b"k".to_vec(), vec![], 0, false, false, false)
        .unwrap();

    let started = Instant::now();
    let mut want = Vec::new();
    for i in 0..500 {
        let rev = t.put("k", &i.to_string());
        want.push((PUT, "k".to_string(), rev, i.to_string().into_bytes()));
        // the fast consumer keeps up while the slow one reads nothing
        let got = collect_until(&mut fast, rev).await;
        assert_eq!(got.last().unwrap().2, rev);
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "writes were held up"
    );
    let c = t.store.counters();
    assert_eq!(
        c.slow_watcher_total, 1,
        "the slow watcher fell back to history"
    );

    let last = want.last().unwrap().2;
    let mut got = Vec::new();
    let mut prev_ok = true;
    let mut batches = 0;
    while got.last().is_none_or(|s: &Seen| s.2 < last) {
        let batch = next(&mut slow).await;
        batches += 1;
        for ev in &batch.events {
            let kv = ev.kv.as_ref().unwrap();
            let expect_prev = (kv.mod_revision - 3).to_string().into_bytes();
            prev_ok &= kv.version == 1
                || ev.prev_kv.as_ref().map(|p| p.value.clone()) == Some(expect_prev);
        }
        got.extend(batch.events.iter().map(seen));
    }
    assert_eq!(got, want, "every event exactly once, in order");
    // nothing was queued per write: the channel's few batches, then history
    assert!(batches <= 4 + 5, "{batches} batches for 500 writes");
    assert!(
        prev_ok,
        "prev_kv also comes with events re-read from history"
    );
    // caught up: back in the synced group
    let deadline = Instant::now() + Duration::from_secs(5);
    while t.store.counters().slow_watcher_total != 0 {
        assert!(Instant::now() < deadline, "watcher never synced");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn closing_the_store_ends_streams() {
    let t = TestStore::new();
    let mut ws = t.store.watch_stream();
    ws.watch(0, b"a".to_vec(), vec![], 0, false, false, false)
        .unwrap();
    t.store.close();
    assert!(
        tokio::time::timeout(Duration::from_secs(5), ws.recv())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        ws.watch(0, b"a".to_vec(), vec![], 0, false, false, false),
        Err(Error::Closed)
    );
    assert!(matches!(t.store.write_batch(), Err(Error::Closed)));
    assert!(matches!(t.store.range(&range("a", "")), Err(Error::Closed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_joining_during_writes_see_each_event_once() {
    let t = std::sync::Arc::new(TestStore::with(StoreOptions {
        watch_sync_max_revisions: 7,
        watch_channel_capacity: 8,
        ..StoreOptions::default()
    }));
    for i in 0..50 {
        t.put(&format!("k{}", i % 3), &i.to_string());
    }
    let total = 400;
    let writer = {
        let t = std::sync::Arc::clone(&t);
        std::thread::spawn(move || {
            for i in 50..total {
                t.put(&format!("k{}", i % 3), &i.to_string());
                if i % 40 == 0 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        })
    };
    let mut streams = Vec::new();
    for start in [2i64, 20, 45, 0] {
        let mut ws = t.store.watch_stream();
        let before = t.store.current_revision();
        ws.watch(0, b"k".to_vec(), b"l".to_vec(), start, false, false, false)
            .unwrap();
        streams.push((ws, start, before));
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    writer.join().unwrap();
    // one more write, so even the watcher from "now" has something to see
    let last = t.put(&format!("k{}", total % 3), &total.to_string());
    assert_eq!(last, 2 + total);
    for (mut ws, start, before) in streams {
        let got = collect_until(&mut ws, last).await;
        let revs: Vec<i64> = got.iter().map(|s| s.2).collect();
        let first = revs[0];
        if start > 0 {
            assert_eq!(first, start, "history from the start revision");
        } else {
            assert!(
                first > before,
                "a watch from now starts after {before}, got {first}"
            );
        }
        assert_eq!(
            revs,
            (first..=last).collect::<Vec<_>>(),
            "each revision exactly once"
        );
        for s in &got {
            assert_eq!(s.3, (s.2 - 2).to_string().into_bytes());
        }
    }
}
