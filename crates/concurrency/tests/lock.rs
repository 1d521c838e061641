//! The lock service against an in-process store: mutual exclusion, FIFO
//! order, leases, and what a canceled or failed wait leaves behind.
#![allow(clippy::unwrap_used)]

mod mvcc_backend;

use std::sync::Arc;
use std::time::Duration;

use api::pb::etcdserverpb::{LeaseGrantRequest, LeaseRevokeRequest};
use api::pb::v3lockpb::{LockRequest, LockResponse, UnlockRequest};
use api::{Lease, Lock};
use concurrency::LockService;
use mvcc_backend::{Backend, LostWatch};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

async fn grant(backend: &Arc<Backend>) -> i64 {
    let req = LeaseGrantRequest { ttl: 30, id: 0 };
    backend.lease_grant(req).await.unwrap().id
}

fn lock_req(name: &str, lease: i64) -> LockRequest {
    LockRequest {
        name: name.into(),
        lease,
    }
}

fn spawn_lock(
    locks: &Arc<LockService>,
    req: LockRequest,
) -> JoinHandle<Result<LockResponse, api::Error>> {
    let locks = Arc::clone(locks);
    tokio::spawn(async move { locks.lock(req).await })
}

async fn unlock(locks: &LockService, key: Vec<u8>) {
    locks.unlock(UnlockRequest { key }).await.unwrap();
}

async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn still_waiting<T>(task: &JoinHandle<T>) {
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!task.is_finished(), "should still be waiting");
}

#[tokio::test]
async fn the_lock_is_exclusive_and_handed_on_in_creation_order() {
    let backend = Backend::new();
    let locks = Arc::new(backend.lock());
    let (l1, l2, l3) = (
        grant(&backend).await,
        grant(&backend).await,
        grant(&backend).await,
    );

    let held = locks.lock(lock_req("m", l1)).await.unwrap();
    assert_eq!(held.key, format!("m/{l1:x}").into_bytes());
    let kv = backend.keys("m/").pop().unwrap();
    assert_eq!((kv.value.len(), kv.lease), (0, l1));
    assert_eq!(held.header.unwrap().revision, kv.create_revision);

    let second = spawn_lock(&locks, lock_req("m", l2));
    eventually("second queued", || backend.keys("m/").len() == 2).await;
    let third = spawn_lock(&locks, lock_req("m", l3));
    eventually("third queued", || backend.keys("m/").len() == 3).await;
    still_waiting(&second).await;
    assert!(!third.is_finished());

    unlock(&locks, held.key).await;
    let second = timeout(WAIT, second).await.unwrap().unwrap().unwrap();
    assert_eq!(second.key, format!("m/{l2:x}").into_bytes());
    assert_eq!(second.header.unwrap().revision, backend.revision());
    still_waiting(&third).await;

    unlock(&locks, second.key).await;
    let third = timeout(WAIT, third).await.unwrap().unwrap().unwrap();
    assert_eq!(third.key, format!("m/{l3:x}").into_bytes());
    assert_eq!(backend.watchers(), 0, "no watcher outlives a lock call");
}

#[tokio::test]
async fn revoking_the_holders_lease_passes_the_lock_on() {
    let backend = Backend::new();
    let locks = Arc::new(backend.lock());
    let (l1, l2) = (grant(&backend).await, grant(&backend).await);
    locks.lock(lock_req("m", l1)).await.unwrap();
    let waiting = spawn_lock(&locks, lock_req("m", l2));
    eventually("second queued", || backend.keys("m/").len() == 2).await;
    still_waiting(&waiting).await;

    backend
        .lease_revoke(LeaseRevokeRequest { id: l1 })
        .await
        .unwrap();
    timeout(WAIT, waiting).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn locking_again_with_the_held_lease_returns_at_once() {
    let backend = Backend::new();
    let locks = backend.lock();
    let l1 = grant(&backend).await;
    let first = locks.lock(lock_req("m", l1)).await.unwrap();
    let again = timeout(WAIT, locks.lock(lock_req("m", l1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.key, first.key);
    assert_eq!(backend.keys("m/").len(), 1);
}

#[tokio::test]
async fn lock_without_a_lease_grants_one_for_sixty_seconds() {
    let backend = Backend::new();
    let locks = backend.lock();
    let held = locks.lock(lock_req("m", 0)).await.unwrap();
    let leases = backend.lease_ids();
    assert_eq!(leases.len(), 1);
    let (lease, ttl) = leases[0];
    assert_eq!(ttl, 60);
    assert_eq!(held.key, format!("m/{lease:x}").into_bytes());
    assert_eq!(backend.keys("m/")[0].lease, lease);
}

#[tokio::test]
async fn lock_with_an_unknown_lease_fails_with_etcds_text() {
    let backend = Backend::new();
    let locks = backend.lock();
    let err = locks.lock(lock_req("m", 99)).await.unwrap_err();
    assert_eq!(
        err,
        api::Error::Internal("etcdserver: requested lease not found".into())
    );
    assert!(backend.keys("m/").is_empty());
}

#[tokio::test]
async fn an_abandoned_lock_takes_its_key_and_watch_back() {
    let backend = Backend::new();
    let locks = Arc::new(backend.lock());
    let (l1, l2, l3) = (
        grant(&backend).await,
        grant(&backend).await,
        grant(&backend).await,
    );
    let held = locks.lock(lock_req("m", l1)).await.unwrap();
    let second = spawn_lock(&locks, lock_req("m", l2));
    eventually("second queued", || backend.keys("m/").len() == 2).await;
    let third = spawn_lock(&locks, lock_req("m", l3));
    eventually("third queued", || backend.keys("m/").len() == 3).await;
    eventually("both wait on a watch", || backend.watchers() == 2).await;

    second.abort();
    eventually("second's key is withdrawn", || {
        backend.keys("m/").len() == 2
    })
    .await;
    let left: Vec<i64> = backend.keys("m/").iter().map(|kv| kv.lease).collect();
    assert_eq!(left, [l1, l3]);
    eventually("only third still watches", || backend.watchers() == 1).await;
    still_waiting(&third).await;

    unlock(&locks, held.key).await;
    let third = timeout(WAIT, third).await.unwrap().unwrap().unwrap();
    assert_eq!(third.key, format!("m/{l3:x}").into_bytes());
    eventually("no watcher left", || backend.watchers() == 0).await;
}

#[tokio::test]
async fn unlock_deletes_the_key_whoever_holds_it() {
    let backend = Backend::new();
    let locks = backend.lock();
    let l1 = grant(&backend).await;
    let held = locks.lock(lock_req("m", l1)).await.unwrap();
    let resp = locks
        .unlock(UnlockRequest {
            key: held.key.clone(),
        })
        .await
        .unwrap();
    assert_eq!(resp.header.unwrap().revision, backend.revision());
    assert!(backend.keys("m/").is_empty());
    // unlocking again is not an error, as in etcd
    unlock(&locks, held.key).await;
}

#[tokio::test]
async fn a_lock_whose_wait_fails_leaves_the_queue() {
    let backend = Backend::new();
    let locks = backend.lock();
    let broken = LockService::new(backend.clone(), Arc::new(LostWatch), backend.clone());
    let (l1, l2) = (grant(&backend).await, grant(&backend).await);
    locks.lock(lock_req("m", l1)).await.unwrap();

    let err = broken.lock(lock_req("m", l2)).await.unwrap_err();
    assert_eq!(
        err,
        api::Error::Internal("lost watcher waiting for delete".into())
    );
    let left: Vec<i64> = backend.keys("m/").iter().map(|kv| kv.lease).collect();
    assert_eq!(left, [l1], "the failed waiter's key is deleted at once");
}
