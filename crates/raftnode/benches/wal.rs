#![allow(clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use raftnode::DEFAULT_WAL_SEGMENT_SIZE;
use raftnode::eraftpb::{ConfState, Entry, HardState};
use raftnode::wal::{Wal, WalMetadata};

/// A typical small etcd put: key, value and request header.
const ENTRY_BYTES: usize = 256;

fn append_and_sync(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal_append_sync");
    for batch in [1u64, 64] {
        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(
            BenchmarkId::new("entries_per_fsync", batch),
            &batch,
            |b, &batch| {
                let dir = tempfile::tempdir().unwrap();
                let meta = WalMetadata {
                    node_id: 1,
                    cluster_id: 1,
                    conf_state: ConfState::from((vec![1], vec![])),
                };
                let mut wal = Wal::create(dir.path(), meta, DEFAULT_WAL_SEGMENT_SIZE).unwrap();
                let mut next = 1u64;
                b.iter(|| {
                    let entries: Vec<Entry> = (next..next + batch)
                        .map(|index| Entry {
                            index,
                            term: 1,
                            data: vec![b'v'; ENTRY_BYTES].into(),
                            ..Entry::default()
                        })
                        .collect();
                    next += batch;
                    wal.append_entries(&entries).unwrap();
                    wal.append_hard_state(&HardState {
                        term: 1,
                        vote: 1,
                        commit: next - 1,
                        ..HardState::default()
                    })
                    .unwrap();
                    wal.flush(true).unwrap();
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, append_and_sync);
criterion_main!(benches);
