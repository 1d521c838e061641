//! Watch and lease behaviour a Kubernetes-style client depends on, against
//! the server as a process: a watcher that stops reading costs bounded
//! memory and still gets every event once it reads again; ten thousand
//! watchers on one key all see every event in order; a watch resumed from
//! a revision after a restart sees exactly the events after it; leases
//! outlive a restart (a new leader term) and then expire on time, their keys
//! deleted in one revision.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use api::pb::etcdserverpb::lease_client::LeaseClient;
use api::pb::etcdserverpb::watch_client::WatchClient;
use api::pb::etcdserverpb::{
    LeaseGrantRequest, LeaseTimeToLiveRequest, PutRequest, RangeRequest, WatchCreateRequest,
    WatchRequest, WatchResponse, watch_request::RequestUnion,
};
use api::pb::mvccpb::event::EventType;
use futures::StreamExt;
use support::{ServerProcess, put};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;

fn create(key: &str, start_revision: i64) -> WatchRequest {
    WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
            key: key.into(),
            start_revision,
            ..Default::default()
        })),
    }
}

/// Opens a watch stream with the given creates; returns the responses and
/// the sender that keeps the request side open.
async fn open(
    channel: Channel,
    creates: Vec<WatchRequest>,
) -> (Streaming<WatchResponse>, mpsc::Sender<WatchRequest>) {
    let (tx, rx) = mpsc::channel(creates.len().max(1));
    for c in creates {
        tx.send(c).await.unwrap();
    }
    let resp = WatchClient::new(channel)
        .watch(ReceiverStream::new(rx))
        .await
        .unwrap();
    (resp.into_inner(), tx)
}

/// Reads responses until `creates` watches were created and `events` events
/// arrived in all; returns the events' revisions per watch id.
async fn collect(
    stream: &mut Streaming<WatchResponse>,
    creates: usize,
    events: usize,
    within: Duration,
) -> std::collections::HashMap<i64, Vec<i64>> {
    let mut seen: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    let mut created = 0;
    let deadline = Instant::now() + within;
    while created < creates || seen.values().map(Vec::len).sum::<usize>() < events {
        let left = deadline.saturating_duration_since(Instant::now());
        let resp = tokio::time::timeout(left, stream.next())
            .await
            .expect("timed out waiting for watch events")
            .unwrap()
            .unwrap();
        assert!(!resp.canceled, "watch canceled: {resp:?}");
        if resp.created {
            created += 1;
        }
        for ev in resp.events {
            seen.entry(resp.watch_id)
                .or_default()
                .push(ev.kv.unwrap().mod_revision);
        }
    }
    seen
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The bound this test states: a watcher that stops reading while 100k
/// puts go through may cost the server at most this much more memory than
/// the same puts cost without it. Each stream buffers a bounded number of
/// batches; what the watcher misses is re-read from disk later.
const STALLED_WATCHER_COST_LIMIT_KIB: u64 = 16 * 1024;
const PUTS: usize = 100_000;

type Stalled = (Streaming<WatchResponse>, mpsc::Sender<WatchRequest>);

/// Starts a member, optionally opens a watch on `k` that is never read,
/// puts `k` PUTS times from 16 writers; returns the server's RSS growth,
/// the stalled stream (with the sender that keeps its request side open)
/// and the server.
async fn puts_with(stalled: bool, dir: &std::path::Path) -> (u64, Option<Stalled>, ServerProcess) {
    let mut server = ServerProcess::start(dir);
    let kv = server.wait_ready().await.unwrap();
    let channel = Channel::from_shared(server.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut watch = None;
    if stalled {
        let (mut stream, keep) = open(channel.clone(), vec![create("k", 0)]).await;
        assert!(stream.next().await.unwrap().unwrap().created);
        watch = Some((stream, keep));
    }
    let baseline = rss_kib(server.child.id());
    let value = "v".repeat(100);
    let mut writers = Vec::new();
    for w in 0..16 {
        let mut kv = kv.clone();
        let value = value.clone();
        writers.push(tokio::spawn(async move {
            for i in (w..PUTS).step_by(16) {
                kv.put(PutRequest {
                    key: b"k".to_vec(),
                    value: format!("{i}{value}").into_bytes(),
                    ..Default::default()
                })
                .await
                .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    (
        rss_kib(server.child.id()).saturating_sub(baseline),
        watch,
        server,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_watcher_costs_bounded_memory_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let (without, _, control) = puts_with(false, &dir.path().join("control")).await;
    drop(control);
    let (with, stalled, _server) = puts_with(true, &dir.path().join("data")).await;
    let cost = with.saturating_sub(without);
    eprintln!(
        "RSS growth over {PUTS} puts: {without} KiB alone, {with} KiB with a stalled watcher"
    );
    assert!(
        cost < STALLED_WATCHER_COST_LIMIT_KIB,
        "a stalled watcher cost {cost} KiB"
    );

    // Reading again, the watcher gets every event exactly once, in order.
    let (mut stalled, _keep) = stalled.unwrap();
    let seen = collect(&mut stalled, 0, PUTS, Duration::from_secs(60)).await;
    let revs: Vec<i64> = seen.into_values().next().unwrap();
    let expected: Vec<i64> = (2..2 + i64::try_from(PUTS).unwrap()).collect();
    assert_eq!(revs.len(), expected.len());
    assert_eq!(revs, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_watchers_on_one_key_see_every_event_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(&dir.path().join("data"));
    let mut kv = server.wait_ready().await.unwrap();
    const STREAMS: usize = 20;
    const PER_STREAM: usize = 500;
    const EVENTS: usize = 50;
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        let channel = Channel::from_shared(server.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap();
        streams.push(open(channel, (0..PER_STREAM).map(|_| create("hot", 0)).collect()).await);
    }
    // Every watch must exist before the first put.
    let mut readers = Vec::new();
    for (mut stream, keep) in streams {
        readers.push(tokio::spawn(async move {
            let seen = collect(
                &mut stream,
                PER_STREAM,
                PER_STREAM * EVENTS,
                Duration::from_secs(120),
            )
            .await;
            drop(keep);
            seen
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..EVENTS {
        kv.put(put("hot", &format!("v{i}"))).await.unwrap();
    }
    let expected: Vec<i64> = (2..2 + i64::try_from(EVENTS).unwrap()).collect();
    let mut watchers = 0;
    for r in readers {
        let seen = r.await.unwrap();
        assert_eq!(seen.len(), PER_STREAM);
        for revs in seen.values() {
            assert_eq!(revs, &expected);
        }
        watchers += seen.len();
    }
    assert_eq!(watchers, STREAMS * PER_STREAM);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumes_from_a_revision_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(&dir.path().join("data"));
    let mut kv = server.wait_ready().await.unwrap();
    for i in 0..50 {
        kv.put(put(&format!("r/{i:02}"), "v")).await.unwrap();
    }
    server.restart();
    let mut kv = server.wait_ready().await.unwrap();
    let channel = Channel::from_shared(server.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut from_r = WatchCreateRequest {
        key: b"r/".to_vec(),
        range_end: b"r0".to_vec(),
        start_revision: 30,
        ..Default::default()
    };
    from_r.prev_kv = false;
    let (mut stream, _keep) = open(
        channel,
        vec![WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(from_r)),
        }],
    )
    .await;
    // Revisions 2..=51 hold the puts: from 30 on there are 22, then 3 new.
    for i in 50..53 {
        kv.put(put(&format!("r/{i:02}"), "v")).await.unwrap();
    }
    let seen = collect(&mut stream, 1, 25, Duration::from_secs(20)).await;
    let revs = seen.into_values().next().unwrap();
    assert_eq!(revs, (30..=54).collect::<Vec<i64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_outlive_a_restart_and_then_expire_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(&dir.path().join("data"));
    let mut kv = server.wait_ready().await.unwrap();
    let channel = Channel::from_shared(server.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut leases = LeaseClient::new(channel);
    let ttl = 4;
    let id = leases
        .lease_grant(LeaseGrantRequest { ttl, id: 0 })
        .await
        .unwrap()
        .into_inner()
        .id;
    assert!(id > 0);
    for key in ["l/a", "l/b", "l/c"] {
        kv.put(PutRequest {
            key: key.into(),
            value: b"v".to_vec(),
            lease: id,
            ..Default::default()
        })
        .await
        .unwrap();
    }
    kv.put(put("other", "stays")).await.unwrap();

    // A restart is a new leader term: the lease and its keys survive it.
    server.restart();
    let mut kv = server.wait_ready().await.unwrap();
    let restarted = Instant::now();
    let channel = Channel::from_shared(server.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut leases = LeaseClient::new(channel.clone());
    let ttl_now = leases
        .lease_time_to_live(LeaseTimeToLiveRequest { id, keys: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ttl_now.granted_ttl, ttl);
    assert!(
        ttl_now.ttl >= ttl - 1,
        "the new leader gives the lease its full TTL again: {ttl_now:?}"
    );
    assert_eq!(
        ttl_now.keys,
        vec![b"l/a".to_vec(), b"l/b".to_vec(), b"l/c".to_vec()]
    );

    // Watch the keys go: all three in one revision, on time.
    let (mut stream, _keep) = open(
        channel,
        vec![WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key: b"l/".to_vec(),
                range_end: b"l0".to_vec(),
                ..Default::default()
            })),
        }],
    )
    .await;
    let created = stream.next().await.unwrap().unwrap();
    assert!(created.created);
    let gone = tokio::time::timeout(Duration::from_secs(15), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let elapsed = restarted.elapsed();
    assert_eq!(gone.events.len(), 3);
    assert!(
        gone.events
            .iter()
            .all(|e| e.r#type == EventType::Delete as i32)
    );
    let rev = gone.events[0].kv.as_ref().unwrap().mod_revision;
    assert!(
        gone.events
            .iter()
            .all(|e| e.kv.as_ref().unwrap().mod_revision == rev)
    );
    // TTL plus the new leader's election-timeout extension, plus the
    // leader's 500ms expiry check; never before the TTL.
    assert!(
        elapsed >= Duration::from_secs(3),
        "expired after {elapsed:?}"
    );
    assert!(
        elapsed <= Duration::from_secs(8),
        "expired after {elapsed:?}"
    );

    let left = kv
        .range(RangeRequest {
            key: vec![0],
            range_end: vec![0],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(left.kvs.len(), 1);
    assert_eq!(left.kvs[0].key, b"other");
    let after = leases
        .lease_time_to_live(LeaseTimeToLiveRequest { id, keys: false })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.ttl, -1, "an expired lease reads as TTL -1");
}
