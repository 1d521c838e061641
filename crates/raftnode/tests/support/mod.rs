//! Shared by the node and cluster tests: a stand-in application that
//! consumes the Apply stream and reports progress back.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use raftnode::eraftpb::{Entry, EntryType, Snapshot};
use raftnode::{Apply, RaftConfig, RaftNode};
use tokio::sync::mpsc::UnboundedReceiver;

pub fn config(dir: &Path, id: u64, voters: &[u64]) -> RaftConfig {
    let mut cfg = RaftConfig::new(id, dir, voters.to_vec());
    cfg.tick_interval = Duration::from_millis(10);
    cfg.cluster_id = 0xc1u64;
    cfg
}

#[derive(Clone, Default)]
pub struct Applied {
    entries: Arc<Mutex<Vec<Entry>>>,
    snapshots: Arc<Mutex<Vec<Snapshot>>>,
    violations: Arc<Mutex<Vec<String>>>,
}

impl Applied {
    /// Every entry handed over, in order.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().unwrap().clone()
    }

    /// Data of the application's own entries (not raft's empty or conf
    /// change entries), in order.
    pub fn data(&self) -> Vec<Vec<u8>> {
        self.entries
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.get_entry_type() == EntryType::EntryNormal && !e.data.is_empty())
            .map(|e| e.data.to_vec())
            .collect()
    }

    /// Breaks of the Apply contract seen so far: a batch not continuing right
    /// after the previous one, or a snapshot not ahead of what was applied.
    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }

    pub fn snapshots(&self) -> Vec<Snapshot> {
        self.snapshots.lock().unwrap().clone()
    }

    pub async fn wait_for_data(&self, count: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            let data = self.data();
            if data.len() >= count || Instant::now() > deadline {
                return data;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Consumes `applies` like an application would: records what arrives and
/// tells the node it has been applied.
pub fn spawn_applier(node: RaftNode, mut applies: UnboundedReceiver<Apply>) -> Applied {
    let applied = Applied::default();
    let sink = applied.clone();
    tokio::spawn(async move {
        // The first entry may follow a new cluster's bootstrap conf
        // changes, which raft keeps to itself; after it, no gaps.
        let mut last: Option<u64> = None;
        while let Some(apply) = applies.recv().await {
            let mut violations = sink.violations.lock().unwrap();
            if let Some(snapshot) = apply.snapshot {
                let index = snapshot.get_metadata().index;
                if let Some(prev) = last.filter(|prev| index <= *prev) {
                    violations.push(format!("snapshot {index} after entry {prev}"));
                }
                last = Some(index);
                sink.snapshots.lock().unwrap().push(snapshot);
            }
            for entry in &apply.entries {
                if let Some(prev) = last.filter(|prev| entry.index != prev + 1) {
                    violations.push(format!("entry {} after {prev}", entry.index));
                }
                last = Some(entry.index);
            }
            drop(violations);
            sink.entries.lock().unwrap().extend(apply.entries);
            if let Some(index) = last {
                node.advance_applied(index);
            }
        }
    });
    applied
}

pub async fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    check()
}
