//! Acknowledged writes survive crashes: SIGKILL in the middle of a stream of
//! puts loses nothing that was acknowledged and leaves revisions without gap
//! or duplicate; a torn last WAL record is recovered from; a corrupted data
//! file makes the server refuse to start instead of starting empty.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::pb::etcdserverpb::RangeRequest;
use support::{ServerProcess, put};

/// Every key with its value and mod revision, read from the server.
async fn read_all(
    kv: &mut api::pb::etcdserverpb::kv_client::KvClient<tonic::transport::Channel>,
) -> (i64, BTreeMap<String, (String, i64)>) {
    let resp = kv
        .range(RangeRequest {
            key: vec![0],
            range_end: vec![0],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let rev = resp.header.unwrap().revision;
    let kvs = resp
        .kvs
        .into_iter()
        .map(|kv| {
            (
                String::from_utf8(kv.key).unwrap(),
                (String::from_utf8(kv.value).unwrap(), kv.mod_revision),
            )
        })
        .collect();
    (rev, kvs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_puts_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(&dir.path().join("data"));
    let kv = server.wait_ready().await.unwrap();

    // Eight writers put distinct keys and record what was acknowledged.
    let acked: Arc<Mutex<BTreeMap<String, (String, i64)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8 {
        let mut kv = kv.clone();
        let acked = Arc::clone(&acked);
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("w{w}/k{i:06}");
                let value = format!("v{w}-{i}");
                match kv.put(put(&key, &value)).await {
                    Ok(resp) => {
                        let rev = resp.into_inner().header.unwrap().revision;
                        acked.lock().unwrap().insert(key, (value, rev));
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    // Let a few hundred writes through, then kill without warning.
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if acked.lock().unwrap().len() >= 500 {
            break;
        }
    }
    server.kill();
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 100,
        "too few writes were acknowledged before the kill: {}",
        acked.len()
    );

    server.restart();
    let mut kv = server.wait_ready().await.unwrap();
    let (rev, stored) = read_all(&mut kv).await;
    for (key, (value, acked_rev)) in &acked {
        let got = stored.get(key);
        assert_eq!(
            got,
            Some(&(value.clone(), *acked_rev)),
            "acknowledged put of {key} was lost or changed"
        );
    }
    // Every put created exactly one revision: 2..=rev, each used once.
    let mut revs: Vec<i64> = stored.values().map(|(_, r)| *r).collect();
    revs.sort_unstable();
    let expected: Vec<i64> = (2..=rev).collect();
    assert_eq!(
        revs, expected,
        "revisions must have no gap and no duplicate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_raft_snapshots_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = ServerProcess::start_with(&data, &["--snapshot-count", "50"]);
    let mut kv = server.wait_ready().await.unwrap();
    for i in 0..300 {
        kv.put(put(&format!("k{i:03}"), &format!("v{i}")))
            .await
            .unwrap();
    }
    let snaps = std::fs::read_dir(data.join("member/snap"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "snap")
        })
        .count();
    assert!(
        snaps > 0,
        "300 writes with --snapshot-count 50 must have taken a raft snapshot"
    );
    server.kill();

    server.restart();
    let mut kv = server.wait_ready().await.unwrap();
    let (rev, stored) = read_all(&mut kv).await;
    assert_eq!(stored.len(), 300);
    assert_eq!(rev, 301);
    assert_eq!(stored.get("k299"), Some(&("v299".to_string(), 301)));
    kv.put(put("after", "restart")).await.unwrap();
}

fn wal_segments(data: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(data.join("member/wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_last_wal_record_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = ServerProcess::start(&data);
    let mut kv = server.wait_ready().await.unwrap();
    for i in 0..20 {
        kv.put(put(&format!("k{i}"), "v")).await.unwrap();
    }
    server.kill();

    // A crash in the middle of appending: half a record at the tail.
    let last = wal_segments(&data).pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.extend_from_slice(&[0x40, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
    std::fs::write(&last, bytes).unwrap();

    server.restart();
    let mut kv = server.wait_ready().await.unwrap();
    let (_, stored) = read_all(&mut kv).await;
    for i in 0..20 {
        assert!(
            stored.contains_key(&format!("k{i}")),
            "k{i} lost after torn-tail recovery"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_db_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = ServerProcess::start(&data);
    let mut kv = server.wait_ready().await.unwrap();
    for i in 0..50 {
        kv.put(put(&format!("k{i}"), &"x".repeat(1000)))
            .await
            .unwrap();
    }
    // Stop cleanly so the store file is complete, then damage it.
    graceful_stop(&mut server);
    let db = data.join("member/snap/db");
    let mut bytes = std::fs::read(&db).unwrap();
    let len = bytes.len();
    for b in &mut bytes[len / 4..len / 4 + 4096] {
        *b ^= 0xff;
    }
    for b in &mut bytes[..512] {
        *b ^= 0x5a;
    }
    std::fs::write(&db, bytes).unwrap();

    server.restart();
    let (ok, log) = server
        .wait_exit(Duration::from_secs(20))
        .expect("a server with a corrupt store must exit, not serve");
    assert!(!ok, "the server must fail");
    assert!(
        log.to_lowercase().contains("store"),
        "the error must say what is wrong: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_wal_middle_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = ServerProcess::start(&data);
    let mut kv = server.wait_ready().await.unwrap();
    for i in 0..200 {
        kv.put(put(&format!("k{i}"), &"y".repeat(200)))
            .await
            .unwrap();
    }
    server.kill();
    let first = wal_segments(&data).remove(0);
    let mut bytes = std::fs::read(&first).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0xff;
    }
    std::fs::write(&first, bytes).unwrap();

    server.restart();
    let (ok, log) = server
        .wait_exit(Duration::from_secs(20))
        .expect("a server with a corrupt WAL must exit, not serve");
    assert!(!ok);
    assert!(
        log.to_lowercase().contains("wal"),
        "the error must name the WAL: {log}"
    );
}

/// SIGTERM and wait: a graceful stop.
fn graceful_stop(server: &mut ServerProcess) {
    let pid = server.child.id();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    assert!(
        server.wait_exit(Duration::from_secs(20)).is_some(),
        "SIGTERM must stop the server"
    );
}
