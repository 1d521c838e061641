//! What the node tells the rest of the server about itself, readable from
//! any thread without going through the Ready loop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use raft::eraftpb::ConfState;

/// A point-in-time view of the raft node. Fields are loaded one by one, so
/// they may come from adjacent Ready rounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStatus {
    pub id: u64,
    /// 0 while no leader is known.
    pub leader_id: u64,
    pub term: u64,
    pub commit_index: u64,
    /// Highest index the application reported through `advance_applied`.
    pub applied_index: u64,
    pub last_index: u64,
    /// Index of the newest saved snapshot (0 if none).
    pub snapshot_index: u64,
    /// This member is a learner in the configuration raft works with: it
    /// replicates the log but neither votes nor can lead.
    pub is_learner: bool,
}

impl NodeStatus {
    pub fn is_leader(&self) -> bool {
        self.leader_id != 0 && self.leader_id == self.id
    }
}

/// The leader as this node sees it; published on every change of leader or
/// term.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeaderInfo {
    /// 0 while no leader is known.
    pub leader_id: u64,
    pub term: u64,
}

/// Counters for the server's metrics (etcd's disk and proposal families).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NodeMetrics {
    pub wal_fsyncs: u64,
    pub wal_fsync_seconds: f64,
    /// Raft Ready rounds handled; one WAL write each.
    pub ready_rounds: u64,
    pub proposals_received: u64,
    pub proposals_dropped: u64,
    pub snapshots_saved: u64,
    pub leader_changes: u64,
    /// ReadIndex rounds started; concurrent `read_index` callers share one.
    pub read_index_rounds: u64,
}

#[derive(Default)]
pub(crate) struct StatusCell {
    id: AtomicU64,
    leader_id: AtomicU64,
    term: AtomicU64,
    commit_index: AtomicU64,
    applied_index: AtomicU64,
    last_index: AtomicU64,
    snapshot_index: AtomicU64,
    is_learner: AtomicBool,
}

impl StatusCell {
    pub(crate) fn load(&self) -> NodeStatus {
        NodeStatus {
            id: self.id.load(Ordering::Relaxed),
            leader_id: self.leader_id.load(Ordering::Relaxed),
            term: self.term.load(Ordering::Relaxed),
            commit_index: self.commit_index.load(Ordering::Relaxed),
            applied_index: self.applied_index.load(Ordering::Relaxed),
            last_index: self.last_index.load(Ordering::Relaxed),
            snapshot_index: self.snapshot_index.load(Ordering::Relaxed),
            is_learner: self.is_learner.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn store(&self, s: &NodeStatus) {
        self.id.store(s.id, Ordering::Relaxed);
        self.leader_id.store(s.leader_id, Ordering::Relaxed);
        self.term.store(s.term, Ordering::Relaxed);
        self.commit_index.store(s.commit_index, Ordering::Relaxed);
        self.applied_index.store(s.applied_index, Ordering::Relaxed);
        self.last_index.store(s.last_index, Ordering::Relaxed);
        self.snapshot_index
            .store(s.snapshot_index, Ordering::Relaxed);
        self.is_learner.store(s.is_learner, Ordering::Relaxed);
    }
}

/// The membership raft works with, as of the last conf change or snapshot
/// it applied: (voters, learners), each sorted. During joint consensus the
/// voters are both halves, since both vote.
#[derive(Default)]
pub(crate) struct MembershipCell(Mutex<(Vec<u64>, Vec<u64>)>);

impl MembershipCell {
    pub(crate) fn load(&self) -> (Vec<u64>, Vec<u64>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn store(&self, cs: &ConfState) {
        let mut voters: Vec<u64> = cs
            .voters
            .iter()
            .chain(&cs.voters_outgoing)
            .copied()
            .collect();
        voters.sort_unstable();
        voters.dedup();
        let mut learners = cs.learners.clone();
        learners.sort_unstable();
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = (voters, learners);
    }
}

/// The leader's replication progress per peer, refreshed after every Ready
/// round while this node leads; empty otherwise.
#[derive(Default)]
pub(crate) struct ProgressCell(Mutex<ProgressView>);

#[derive(Default)]
struct ProgressView {
    commit: u64,
    /// (peer, match index), this node included.
    matched: Vec<(u64, u64)>,
}

impl ProgressCell {
    /// `peer`'s (match index, leader's commit index).
    pub(crate) fn get(&self, peer: u64) -> Option<(u64, u64)> {
        let view = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        view.matched
            .iter()
            .find(|(id, _)| *id == peer)
            .map(|(_, matched)| (*matched, view.commit))
    }

    pub(crate) fn store(&self, commit: u64, matched: impl Iterator<Item = (u64, u64)>) {
        let mut view = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        view.commit = commit;
        view.matched.clear();
        view.matched.extend(matched);
    }

    pub(crate) fn clear(&self) {
        let mut view = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        view.commit = 0;
        view.matched.clear();
    }
}

#[derive(Default)]
pub(crate) struct MetricsCell {
    pub(crate) wal_fsyncs: AtomicU64,
    pub(crate) wal_fsync_nanos: AtomicU64,
    pub(crate) ready_rounds: AtomicU64,
    pub(crate) proposals_received: AtomicU64,
    pub(crate) proposals_dropped: AtomicU64,
    pub(crate) snapshots_saved: AtomicU64,
    pub(crate) leader_changes: AtomicU64,
    pub(crate) read_index_rounds: AtomicU64,
}

impl MetricsCell {
    pub(crate) fn load(&self) -> NodeMetrics {
        NodeMetrics {
            wal_fsyncs: self.wal_fsyncs.load(Ordering::Relaxed),
            wal_fsync_seconds: self.wal_fsync_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            ready_rounds: self.ready_rounds.load(Ordering::Relaxed),
            proposals_received: self.proposals_received.load(Ordering::Relaxed),
            proposals_dropped: self.proposals_dropped.load(Ordering::Relaxed),
            snapshots_saved: self.snapshots_saved.load(Ordering::Relaxed),
            leader_changes: self.leader_changes.load(Ordering::Relaxed),
            read_index_rounds: self.read_index_rounds.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
