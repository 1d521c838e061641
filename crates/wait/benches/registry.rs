#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wait::Registry;

const BATCH: u64 = 1024;

fn register_trigger_await(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("wait");
    group.throughput(Throughput::Elements(BATCH));

    let registry = Registry::<u64>::new();
    group.bench_function("register_trigger_await", |b| {
        b.to_async(&runtime).iter(|| async {
            let waiters: Vec<_> = (0..BATCH)
                .map(|id| registry.register(id).unwrap())
                .collect();
            for id in 0..BATCH {
                registry.trigger(id, id);
            }
            for waiter in waiters {
                waiter.await.unwrap();
            }
        });
    });

    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let shared = Arc::new(Registry::<u64>::new());
    group.bench_function("concurrent_waiters", |b| {
        b.to_async(&multi).iter(|| {
            let shared = Arc::clone(&shared);
            async move {
                let tasks: Vec<_> = (0..BATCH)
                    .map(|id| {
                        let waiter = shared.register(id).unwrap();
                        tokio::spawn(waiter)
                    })
                    .collect();
                for id in 0..BATCH {
                    shared.trigger(id, id);
                }
                futures::future::join_all(tasks).await;
            }
        });
    });
    group.finish();
}

criterion_group!(benches, register_trigger_await);
criterion_main!(benches);
