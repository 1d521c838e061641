//! The apply loop: the only writer of the MVCC store. It takes committed
//! entries from raft in order, applies each batch in one store write batch
//! (stamping every entry's raft index as the consistent index, so a restart
//! neither re-applies nor skips an entry), makes the batch visible, and only
//! then wakes the proposers waiting on those entries. It runs on its own
//! thread because store writes block.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use api::pb::etcdserverpb::{
    CompactionResponse, DeleteRangeResponse, InternalRaftRequest, LeaseGrantResponse,
    LeaseRevokeResponse, PutResponse, ResponseHeader, TxnResponse,
};
use prost::Message;
use raft::eraftpb::{Entry, EntryType};
use raftnode::{Apply, RaftNode};
use tokio::sync::{mpsc, watch};

use crate::lessor::{Lessor, MAX_LEASE_TTL};
use crate::membership::Membership;
use crate::server::ServerCounters;
use crate::version;

/// What applying one request produced.
#[derive(Debug)]
pub(crate) enum Applied {
    Put(PutResponse),
    DeleteRange(DeleteRangeResponse),
    Txn(TxnResponse),
    Compaction(CompactionResponse),
    LeaseGrant(LeaseGrantResponse),
    LeaseRevoke(LeaseRevokeResponse),
    Nothing,
}

pub(crate) type Outcome = Result<Applied, api::Error>;

/// How long applied-but-not-fsynced store state may wait for a durable
/// commit. The WAL already holds it; this bounds replay after a crash.
const DURABLE_COMMIT_INTERVAL: Duration = Duration::from_millis(100);

pub(crate) struct ApplyLoop {
    pub(crate) store: Arc<mvcc::Store>,
    pub(crate) raft: RaftNode,
    pub(crate) wait: Arc<wait::Registry<Outcome>>,
    pub(crate) membership: Arc<Membership>,
    pub(crate) applied: watch::Sender<u64>,
    pub(crate) cluster_version: watch::Sender<Option<String>>,
    pub(crate) published: watch::Sender<bool>,
    pub(crate) counters: Arc<ServerCounters>,
    pub(crate) snapshot_count: u64,
    pub(crate) lessor: Arc<Lessor>,
    pub(crate) runtime: tokio::runtime::Handle,
}

impl ApplyLoop {
    pub(crate) fn run(self, mut applies: mpsc::UnboundedReceiver<Apply>) {
        let mut snapshot_index = self.store.consistent_index();
        let mut last_durable = Instant::now();
        let mut dirty = false;
        loop {
            let next = self.runtime.block_on(async {
                tokio::time::timeout(DURABLE_COMMIT_INTERVAL, applies.recv()).await
            });
            let apply = match next {
                Ok(Some(apply)) => apply,
                Ok(None) => break,
                Err(_idle) => {
                    if dirty {
                        self.commit_durable();
                        dirty = false;
                        last_durable = Instant::now();
                    }
                    continue;
                }
            };
            if let Some(snapshot) = &apply.snapshot {
                self.check_snapshot(snapshot);
            }
            let durable = last_durable.elapsed() >= DURABLE_COMMIT_INTERVAL;
            let Some(applied_index) = self.apply_batch(apply.entries, durable) else {
                continue;
            };
            if durable {
                last_durable = Instant::now();
                dirty = false;
            } else {
                dirty = true;
            }
            if applied_index.saturating_sub(snapshot_index) > self.snapshot_count {
                self.commit_durable();
                dirty = false;
                last_durable = Instant::now();
                match self
                    .runtime
                    .block_on(self.raft.create_snapshot(applied_index, Vec::new()))
                {
                    Ok(()) => snapshot_index = applied_index,
                    Err(err) => {
                        tracing::warn!("failed to create a raft snapshot at {applied_index}: {err}")
                    }
                }
            }
        }
        if dirty {
            self.commit_durable();
        }
    }

    /// The store must already hold everything a snapshot covers: this
    /// member only snapshots after a durable store commit, and receiving a
    /// leader's snapshot data is not supported yet.
    fn check_snapshot(&self, snapshot: &raft::eraftpb::Snapshot) {
        let index = snapshot.get_metadata().index;
        let consistent = self.store.consistent_index();
        if index > consistent {
            fatal(&format!(
                "raft snapshot at index {index} is ahead of the store (consistent index {consistent}); \
                 the store file does not match the raft log"
            ));
        }
    }

    /// Applies one batch of committed entries; returns the last applied
    /// index, or None if every entry had been applied before (replay).
    fn apply_batch(&self, entries: Vec<Entry>, durable: bool) -> Option<u64> {
        let consistent = self.store.consistent_index();
        let seen = entries.last()?.index;
        let fresh: Vec<Entry> = entries
            .into_iter()
            .filter(|e| e.index > consistent)
            .collect();
        let Some(last) = fresh.last().map(|e| e.index) else {
            // Replayed entries the store already holds still count as applied
            // for raft.
            self.raft.advance_applied(seen);
            self.applied.send_replace(seen);
            return None;
        };
        let mut batch = match self.store.write_batch() {
            Ok(b) => b,
            Err(err) => fatal(&format!("cannot start a store write batch: {err}")),
        };
        let mut outcomes = Vec::with_capacity(fresh.len());
        for entry in &fresh {
            if entry.get_entry_type() == EntryType::EntryNormal && !entry.data.is_empty() {
                match InternalRaftRequest::decode(entry.data.as_ref()) {
                    Ok(req) => {
                        let id = req.header.as_ref().map_or(req.id, |h| h.id);
                        let outcome = self.apply_request(&mut batch, req);
                        outcomes.push((id, outcome));
                    }
                    Err(err) => fatal(&format!(
                        "undecodable raft entry at index {}: {err}",
                        entry.index
                    )),
                }
            }
            batch.set_consistent_index(entry.index);
        }
        if let Err(err) = batch.commit(durable) {
            fatal(&format!(
                "cannot commit applied entries to the store: {err}"
            ));
        }
        self.counters
            .proposals_committed
            .store(self.raft.status().commit_index, Ordering::Relaxed);
        self.counters
            .proposals_applied
            .store(last, Ordering::Relaxed);
        self.raft.advance_applied(last);
        self.applied.send_replace(last);
        for (id, outcome) in outcomes {
            self.wait.trigger(id, outcome);
        }
        Some(last)
    }

    fn apply_request(&self, batch: &mut mvcc::WriteBatch<'_>, req: InternalRaftRequest) -> Outcome {
        let storage = crate::error::storage_to_api;
        if let Some(r) = req.put {
            return batch.put(&r).map(Applied::Put).map_err(storage);
        }
        if let Some(r) = req.delete_range {
            return batch
                .delete_range(&r)
                .map(Applied::DeleteRange)
                .map_err(storage);
        }
        if let Some(r) = req.txn {
            return batch.txn(&r).map(Applied::Txn).map_err(storage);
        }
        if let Some(r) = req.lease_grant {
            if r.id == 0 {
                return Err(api::Error::LeaseNotFound);
            }
            if r.ttl > MAX_LEASE_TTL {
                return Err(api::Error::LeaseTtlTooLarge);
            }
            let ttl = self.lessor.clamp_ttl(r.ttl);
            batch.lease_grant(r.id, ttl).map_err(storage)?;
            self.lessor.grant(r.id, ttl, Instant::now());
            return Ok(Applied::LeaseGrant(LeaseGrantResponse {
                header: Some(header_at(batch.revision())),
                id: r.id,
                ttl,
                error: String::new(),
            }));
        }
        if let Some(r) = req.lease_revoke {
            batch.lease_revoke(r.id).map_err(storage)?;
            self.lessor.revoke(r.id);
            return Ok(Applied::LeaseRevoke(LeaseRevokeResponse {
                header: Some(header_at(batch.revision())),
            }));
        }
        if let Some(r) = req.compaction {
            return batch.compact(&r).map(Applied::Compaction).map_err(storage);
        }
        if let Some(r) = req.cluster_member_attr_set {
            let attrs = r.member_attributes.unwrap_or_default();
            self.membership
                .set_attributes(r.member_id, attrs.name, attrs.client_urls);
            if r.member_id == self.membership.local_id {
                self.published.send_replace(true);
            }
            return Ok(Applied::Nothing);
        }
        if let Some(r) = req.cluster_version_set {
            let first = self.cluster_version.borrow().is_none();
            if first {
                tracing::info!(
                    "set the initial cluster version to {}",
                    version::API_VERSION
                );
            }
            tracing::info!("enabled capabilities for version {}", version::API_VERSION);
            self.cluster_version.send_replace(Some(r.ver));
            return Ok(Applied::Nothing);
        }
        Err(api::Error::Unimplemented(
            "this request type is not supported yet".into(),
        ))
    }

    fn commit_durable(&self) {
        let batch = match self.store.write_batch() {
            Ok(b) => b,
            Err(err) => fatal(&format!("cannot start a store write batch: {err}")),
        };
        if let Err(err) = batch.commit(true) {
            fatal(&format!("cannot make the store durable: {err}"));
        }
    }
}

/// A header carrying only `revision`: the rpc layer completes it.
fn header_at(revision: i64) -> ResponseHeader {
    ResponseHeader {
        revision,
        ..ResponseHeader::default()
    }
}

/// The store and the raft log disagree or the disk failed: continuing could
/// acknowledge writes that are not there. Stop the process; a restart
/// replays the WAL from the store's last durable consistent index.
fn fatal(msg: &str) -> ! {
    tracing::error!("{msg}; stopping so that recovery replays the log");
    std::process::exit(1);
}
