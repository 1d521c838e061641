//! The apply loop: the only writer of the MVCC store. It takes committed
//! entries from raft in order, applies each batch in one store write batch
//! (stamping every entry's raft index as the consistent index, so a restart
//! neither re-applies nor skips an entry), makes the batch visible, and only
//! then wakes the proposers waiting on those entries. It runs on its own
//! thread because store writes block.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use api::pb::etcdserverpb::Member as PbMember;
use api::pb::etcdserverpb::{
    CompactionResponse, DeleteRangeResponse, InternalRaftRequest, LeaseGrantResponse,
    LeaseRevokeResponse, PutResponse, ResponseHeader, TxnResponse,
};
use prost::Message;
use raft::eraftpb::{ConfChange, ConfChangeType, Entry, EntryType};
use raftnode::{Apply, RaftNode, Transport};
use tokio::sync::{mpsc, watch};

use crate::lessor::{Lessor, MAX_LEASE_TTL};
use crate::membership::{Member, Membership};
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
    /// A membership change went through; the members after it.
    Members(Vec<PbMember>),
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
    pub(crate) transport: Arc<dyn Transport>,
    /// Where the peer layer puts the store dumps that come with a leader's
    /// snapshot.
    pub(crate) snap_dir: std::path::PathBuf,
    pub(crate) applied: watch::Sender<u64>,
    pub(crate) cluster_version: watch::Sender<Option<String>>,
    pub(crate) published: watch::Sender<bool>,
    pub(crate) removed: watch::Sender<bool>,
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
                self.restore_snapshot(snapshot);
                snapshot_index = snapshot_index.max(self.store.consistent_index());
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

    /// A snapshot the store is behind (one the leader sent) replaces the
    /// store's contents with the dump that came with it; membership, leases
    /// and the peers follow the new contents. A snapshot the store already
    /// covers (the one this member booted from) changes nothing.
    fn restore_snapshot(&self, snapshot: &raft::eraftpb::Snapshot) {
        let index = snapshot.get_metadata().index;
        let consistent = self.store.consistent_index();
        if index <= consistent {
            return;
        }
        let path = raftnode::snapshot_db_path(&self.snap_dir, index);
        if let Err(err) = self.store.restore_snapshot_file(&path) {
            fatal(&format!(
                "cannot restore the store from the leader's snapshot at index {index} ({}): {err}",
                path.display()
            ));
        }
        let before: Vec<u64> = self.membership.members().iter().map(|m| m.id).collect();
        if let Err(err) = self.membership.reload(&self.store) {
            fatal(&format!(
                "cannot load members from the restored store: {err}"
            ));
        }
        let local = self.membership.local_id;
        for id in before {
            if id != local && self.membership.get(id).is_none() {
                self.transport.remove_peer(id);
            }
        }
        for m in self.membership.members() {
            if m.id != local {
                self.transport.add_peer(m.id, &m.peer_urls);
            }
        }
        match self.store.leases() {
            Ok(leases) => self.lessor.reset(leases.into_iter().map(|l| (l.id, l.ttl))),
            Err(err) => fatal(&format!(
                "cannot load leases from the restored store: {err}"
            )),
        }
        if let Ok(Some(v)) = self.store.cluster_version() {
            self.cluster_version.send_replace(Some(v));
        }
        let restored = self.store.consistent_index();
        tracing::info!(
            "restored the store from the leader's snapshot at index {index} (store at {restored})"
        );
        let _ = std::fs::remove_file(&path);
        self.raft.advance_applied(restored);
        self.applied.send_replace(restored);
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
            if entry.get_entry_type() == EntryType::EntryConfChange
                && let Some((id, outcome)) = self.apply_conf_change(&mut batch, entry)
            {
                outcomes.push((id, outcome));
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
        if self.membership.is_removed(self.membership.local_id) {
            self.removed.send_replace(true);
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
            if let Some(m) =
                self.membership
                    .set_attributes(r.member_id, attrs.name, attrs.client_urls)
            {
                batch.put_member(m.id, &m.encode()).map_err(storage)?;
            }
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
            batch.set_cluster_version(&r.ver).map_err(storage)?;
            self.cluster_version.send_replace(Some(r.ver));
            return Ok(Applied::Nothing);
        }
        Err(api::Error::Unimplemented(
            "this request type is not supported yet".into(),
        ))
    }

    /// Applies a membership change raft has already taken into its
    /// configuration: the member in the entry's context joins, is promoted,
    /// gets new peer URLs, or leaves for good. The bootstrap entries of a
    /// new cluster carry no context (every member already knows the initial
    /// members). Returns the proposer's id and answer.
    fn apply_conf_change(
        &self,
        batch: &mut mvcc::WriteBatch<'_>,
        entry: &Entry,
    ) -> Option<(u64, Outcome)> {
        use protobuf::Message as _;
        let cc = match ConfChange::parse_from_bytes(&entry.data) {
            Ok(cc) => cc,
            Err(err) => fatal(&format!(
                "undecodable conf change at index {}: {err}",
                entry.index
            )),
        };
        let local = self.membership.local_id;
        let storage = crate::error::storage_to_api;
        let outcome = (|| -> Outcome {
            match cc.get_change_type() {
                ConfChangeType::AddNode | ConfChangeType::AddLearnerNode => {
                    if cc.context.is_empty() {
                        return Ok(Applied::Nothing);
                    }
                    let mut member = match Member::decode(&cc.context) {
                        Ok(m) => m,
                        Err(err) => fatal(&format!(
                            "undecodable member in the conf change at index {}: {err}",
                            entry.index
                        )),
                    };
                    member.is_learner = cc.get_change_type() == ConfChangeType::AddLearnerNode;
                    let known = self.membership.get(member.id);
                    if let Some(old) = &known {
                        // A promotion or a peer URL update: the published
                        // attributes stay.
                        member.name.clone_from(&old.name);
                        member.client_urls.clone_from(&old.client_urls);
                    }
                    batch
                        .put_member(member.id, &member.encode())
                        .map_err(storage)?;
                    if member.id != local {
                        match &known {
                            Some(_) => self.transport.update_peer(member.id, &member.peer_urls),
                            None => self.transport.add_peer(member.id, &member.peer_urls),
                        }
                    }
                    tracing::info!(
                        "{} member {:x} {:?} in cluster {:x}",
                        if known.is_some() { "updated" } else { "added" },
                        member.id,
                        member.peer_urls,
                        self.membership.cluster_id
                    );
                    self.membership.upsert(member);
                }
                ConfChangeType::RemoveNode => {
                    let id = cc.node_id;
                    batch.delete_member(id).map_err(storage)?;
                    self.membership.remove(id);
                    if id != local {
                        self.transport.remove_peer(id);
                    }
                    tracing::info!(
                        "removed member {id:x} from cluster {:x}",
                        self.membership.cluster_id
                    );
                }
            }
            Ok(Applied::Members(
                self.membership
                    .members()
                    .iter()
                    .map(Member::to_pb)
                    .collect(),
            ))
        })();
        (cc.id != 0).then_some((cc.id, outcome))
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
