#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use wait::Registry;

#[test]
fn dropped_waiter_leaves_no_entry() {
    let registry = Registry::<u64>::new();
    for id in 0..1000 {
        let waiter = registry.register(id).unwrap();
        drop(waiter);
    }
    assert_eq!(registry.len(), 0);
    assert!(registry.is_empty());
}

#[tokio::test]
async fn timed_out_waiter_leaves_no_entry() {
    let registry = Registry::<u64>::new();
    let waiter = registry.register(42).unwrap();
    let outcome = tokio::time::timeout(Duration::from_millis(10), waiter).await;
    assert!(
        outcome.is_err(),
        "nobody triggered, so the wait must time out"
    );
    assert_eq!(registry.len(), 0);
    assert!(!registry.trigger(42, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_waiters_each_get_their_own_value() {
    let registry = Arc::new(Registry::<u64>::new());
    let waiters: Vec<_> = (0..2000u64)
        .map(|id| registry.register(id).unwrap())
        .collect();
    let handles: Vec<_> = waiters
        .into_iter()
        .map(|w| {
            tokio::spawn(async move {
                let id = w.id();
                (id, w.await.unwrap())
            })
        })
        .collect();
    let trigger = {
        let registry = Arc::clone(&registry);
        tokio::task::spawn_blocking(move || (0..2000u64).all(|id| registry.trigger(id, id * 3)))
    };
    assert!(trigger.await.unwrap());
    for handle in handles {
        let (id, value) = handle.await.unwrap();
        assert_eq!(value, id * 3);
    }
    assert_eq!(registry.len(), 0);
}

#[tokio::test]
async fn abandoned_timeouts_under_load_do_not_leak() {
    let registry = Registry::<u64>::new();
    let tasks: Vec<_> = (0..500u64)
        .map(|id| {
            let waiter = registry.register(id).unwrap();
            tokio::spawn(tokio::time::timeout(Duration::from_millis(20), waiter))
        })
        .collect();
    assert_eq!(registry.len(), 500);
    // Odd ids are answered before any waiter is polled, even ones time out.
    for id in (1..500u64).step_by(2) {
        assert!(registry.trigger(id, id));
    }
    let mut answered = Vec::new();
    for (id, task) in (0u64..).zip(tasks) {
        if let Ok(value) = task.await.unwrap() {
            assert_eq!(value.unwrap(), id);
            answered.push(id);
        }
    }
    assert_eq!(answered, (1..500u64).step_by(2).collect::<Vec<_>>());
    assert_eq!(registry.len(), 0);
}

#[test]
fn registry_and_waiter_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Registry<Vec<u8>>>();
    send::<wait::Waiter<Vec<u8>>>();
}
