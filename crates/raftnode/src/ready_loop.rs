//! The thread that owns the RawNode: it takes requests from the handles,
//! ticks raft, and handles each Ready in the order raft-rs prescribes —
//! messages a leader may send at once, then the snapshot, committed entries,
//! new entries and hard state to the WAL under one fsync, then the messages
//! that had to wait for that fsync. Every request drained before a Ready
//! lands in the same WAL write, which is where group commit comes from.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use protobuf::Message as _;
use raft::eraftpb::{
    ConfChange, ConfChangeV2, ConfState, Entry, EntryType, Message, MessageType, Snapshot,
};
use raft::{RawNode, StateRole, Storage};
use tokio::sync::{mpsc, watch};

use crate::command::Command;
use crate::log_store::LogStore;
use crate::read_index::ReadRounds;
use crate::snap::SnapStore;
use crate::status::{
    LeaderInfo, MembershipCell, MetricsCell, NodeStatus, ProgressCell, StatusCell,
};
use crate::wal::{SnapshotMark, Wal};
use crate::{Apply, Error, Transport};

/// Upper bound on requests folded into one Ready, so ticks keep their pace
/// under a flood of proposals.
const MAX_COMMANDS_PER_ROUND: usize = 8192;
/// Snapshot files kept on disk (etcd's --max-snapshots default).
const SNAPSHOTS_KEPT: usize = 5;

#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) status: StatusCell,
    pub(crate) metrics: MetricsCell,
    pub(crate) membership: MembershipCell,
    pub(crate) progress: ProgressCell,
}

pub(crate) struct ReadyLoop {
    pub(crate) raw: RawNode<LogStore>,
    pub(crate) store: LogStore,
    pub(crate) wal: Wal,
    pub(crate) snaps: SnapStore,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) apply_tx: mpsc::UnboundedSender<Apply>,
    pub(crate) commands: Receiver<Command>,
    pub(crate) reads: ReadRounds,
    /// Membership after each applied conf change, to stamp snapshots with the
    /// membership as of their index.
    pub(crate) conf_history: Vec<(u64, ConfState)>,
    /// Last index handed to the application.
    pub(crate) handed_over: u64,
    pub(crate) shared: Arc<Shared>,
    pub(crate) leader_tx: watch::Sender<LeaderInfo>,
    pub(crate) tick_interval: Duration,
    pub(crate) catch_up_entries: u64,
    pub(crate) fsyncs_reported: u64,
    pub(crate) fsync_time_reported: Duration,
    /// Whether `Shared::progress` holds a leader's view that must be cleared
    /// once this node stops leading.
    pub(crate) progress_published: bool,
}

enum Flow {
    Continue,
    Stop,
}

impl ReadyLoop {
    pub(crate) fn run(mut self) {
        let id = self.raw.raft.id;
        match self.drive() {
            Ok(()) => tracing::info!(raft_id = id, "raft node stopped"),
            Err(e) => {
                tracing::error!(raft_id = id, error = %e, "raft node stopped on a fatal error")
            }
        }
    }

    fn drive(&mut self) -> Result<(), Error> {
        self.process_ready()?;
        self.publish();
        let mut next_tick = Instant::now() + self.tick_interval;
        loop {
            // Work raft still holds (more than one pass of process_ready could
            // take) must not wait for the next tick or request.
            let wait = if self.raw.has_ready() {
                Duration::ZERO
            } else {
                next_tick.saturating_duration_since(Instant::now())
            };
            let mut flow = match self.commands.recv_timeout(wait) {
                Ok(cmd) => self.handle(cmd)?,
                Err(RecvTimeoutError::Timeout) => Flow::Continue,
                Err(RecvTimeoutError::Disconnected) => Flow::Stop,
            };
            let mut drained = 0;
            while matches!(flow, Flow::Continue) && drained < MAX_COMMANDS_PER_ROUND {
                match self.commands.try_recv() {
                    Ok(cmd) => flow = self.handle(cmd)?,
                    Err(_) => break,
                }
                drained += 1;
            }
            if Instant::now() >= next_tick {
                self.raw.tick();
                self.reads.tick(&mut self.raw);
                self.hand_off_if_removed();
                next_tick = Instant::now() + self.tick_interval;
            }
            if self.reads.issue(&mut self.raw) {
                MetricsCell::bump(&self.shared.metrics.read_index_rounds);
            }
            self.process_ready()?;
            self.publish();
            if matches!(flow, Flow::Stop) {
                return self.wal.flush(true);
            }
        }
    }

    fn handle(&mut self, cmd: Command) -> Result<Flow, Error> {
        match cmd {
            Command::Propose { data, reply } => {
                MetricsCell::bump(&self.shared.metrics.proposals_received);
                let result = match self.check_leader() {
                    Ok(()) => self.raw.propose(Vec::new(), data),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        return Ok(Flow::Continue);
                    }
                };
                let _ = reply.send(result.map_err(|e| self.proposal_error(e)));
            }
            Command::ProposeConfChange { change, reply } => {
                let result = self.check_leader().and_then(|()| {
                    self.raw
                        .propose_conf_change(Vec::new(), change)
                        .map_err(|e| self.proposal_error(e))
                });
                let _ = reply.send(result);
            }
            Command::ProposeConfChangeV2 { change, reply } => {
                let result = self.check_leader().and_then(|()| {
                    self.raw
                        .propose_conf_change(Vec::new(), change)
                        .map_err(|e| self.proposal_error(e))
                });
                let _ = reply.send(result);
            }
            Command::TransferLeader { to, reply } => {
                let _ = reply.send(self.transfer_leader(to));
            }
            Command::ReadIndex { reply } => self.reads.queue(reply),
            Command::Step(mut msg) => {
                self.admit_to_snapshot(&mut msg);
                if let Err(e) = self.raw.step(msg) {
                    tracing::debug!(error = %e, "raft refused a peer message");
                }
            }
            Command::Applied(index) => self.advance_applied(index),
            Command::Snapshot { index, data, reply } => match self.create_snapshot(index, data) {
                Err(e @ (Error::Io { .. } | Error::Encode { .. })) => {
                    tracing::error!(error = %e, "saving a snapshot failed");
                    let _ = reply.send(Err(Error::Stopped));
                    return Err(e);
                }
                result => {
                    let _ = reply.send(result);
                }
            },
            Command::ReportUnreachable(id) => self.raw.report_unreachable(id),
            Command::ReportSnapshot(id, status) => self.raw.report_snapshot(id, status),
            Command::Stop => return Ok(Flow::Stop),
        }
        Ok(Flow::Continue)
    }

    fn check_leader(&self) -> Result<(), Error> {
        if self.raw.raft.leader_id == raft::INVALID_ID {
            MetricsCell::bump(&self.shared.metrics.proposals_dropped);
            return Err(Error::NoLeader);
        }
        Ok(())
    }

    /// A leader's newest snapshot usually predates the conf change that
    /// added the member it now has to catch up, and raft refuses to restore
    /// a snapshot whose membership lacks the recipient, so a new member
    /// could never join a cluster that has compacted its log. The recipient
    /// therefore takes itself as a learner of that membership: it cannot
    /// vote or campaign on that account, and the entries after the snapshot
    /// (its own AddNode or AddLearnerNode among them) give it its real role.
    fn admit_to_snapshot(&self, msg: &mut Message) {
        if msg.get_msg_type() != MessageType::MsgSnapshot {
            return;
        }
        let id = self.raw.raft.id;
        let cs = msg.mut_snapshot().mut_metadata().mut_conf_state();
        let listed = cs
            .voters
            .iter()
            .chain(&cs.voters_outgoing)
            .chain(&cs.learners)
            .any(|member| *member == id);
        if !listed {
            cs.learners.push(id);
        }
    }

    /// Starts handing leadership to `to`; the caller watches for the result.
    fn transfer_leader(&mut self, to: u64) -> Result<(), Error> {
        let raft = &self.raw.raft;
        if raft.state != StateRole::Leader {
            return Err(Error::NotLeader);
        }
        let conf = raft.prs().conf();
        if conf.learners().contains(&to) {
            return Err(Error::NotVoter(to));
        }
        if !conf.voters().contains(to) {
            return Err(Error::UnknownPeer(to));
        }
        if to != raft.id {
            self.raw.transfer_leader(to);
        }
        Ok(())
    }

    /// A leader that has applied its own removal goes on leading a
    /// configuration it is no longer part of, and nobody else campaigns
    /// while its heartbeats arrive. It hands leadership to the most
    /// up-to-date voter instead, again on every tick until one takes over
    /// (raft abandons a transfer after an election timeout).
    fn hand_off_if_removed(&mut self) {
        let raft = &self.raw.raft;
        if raft.state != StateRole::Leader
            || raft.lead_transferee.is_some()
            || raft.prs().conf().voters().contains(raft.id)
        {
            return;
        }
        let best = raft
            .prs()
            .conf()
            .voters()
            .ids()
            .iter()
            .filter_map(|id| raft.prs().get(id).map(|pr| (pr.matched, id)))
            .max();
        if let Some((_, to)) = best {
            tracing::info!(to, "removed from the cluster; handing over leadership");
            self.raw.transfer_leader(to);
        }
    }

    fn proposal_error(&self, e: raft::Error) -> Error {
        MetricsCell::bump(&self.shared.metrics.proposals_dropped);
        match e {
            raft::Error::ProposalDropped => Error::Dropped,
            other => Error::Raft(other),
        }
    }

    fn process_ready(&mut self) -> Result<(), Error> {
        // Persisting one Ready can make the next one (a single voter commits
        // as soon as its own write is durable); a few rounds drain that.
        for _ in 0..4 {
            if !self.raw.has_ready() {
                break;
            }
            self.handle_ready()?;
        }
        Ok(())
    }

    fn handle_ready(&mut self) -> Result<(), Error> {
        MetricsCell::bump(&self.shared.metrics.ready_rounds);
        let mut rd = self.raw.ready();
        if !rd.messages().is_empty() {
            self.transport.send(rd.take_messages());
        }
        let mut installed = None;
        if !rd.snapshot().is_empty() {
            let snapshot = rd.snapshot().clone();
            installed = Some(snapshot.get_metadata().index);
            self.install_snapshot(snapshot)?;
        }
        let committed = rd.take_committed_entries();
        self.hand_over(committed);
        if !rd.entries().is_empty() {
            self.wal.append_entries(rd.entries())?;
            self.store.mem.wl().append(rd.entries())?;
        }
        if let Some(hs) = rd.hs() {
            self.wal.append_hard_state(hs)?;
            self.store.mem.wl().set_hardstate(hs.clone());
        }
        self.wal.flush(rd.must_sync())?;
        self.report_fsyncs();
        self.reads.resolve(rd.take_read_states());
        let persisted = rd.take_persisted_messages();
        if !persisted.is_empty() {
            self.transport.send(persisted);
        }

        let mut light = self.raw.advance_append(rd);
        if let Some(commit) = light.commit_index() {
            // Raft does not ask for the commit index to be durable; it rides
            // along with the next WAL write so a restart replays less.
            let hs = {
                let mut core = self.store.mem.wl();
                core.mut_hard_state().commit = commit;
                core.hard_state().clone()
            };
            self.wal.append_hard_state(&hs)?;
        }
        if !light.messages().is_empty() {
            self.transport.send(light.take_messages());
        }
        self.hand_over(light.take_committed_entries());
        if let Some(index) = installed {
            self.release_before(index)?;
        }
        Ok(())
    }

    /// A snapshot from the leader replaces this follower's log.
    fn install_snapshot(&mut self, snapshot: Snapshot) -> Result<(), Error> {
        let meta = snapshot.get_metadata();
        let (index, term) = (meta.index, meta.term);
        let conf_state = meta.get_conf_state().clone();
        self.snaps.save(&snapshot)?;
        self.wal
            .append_snapshot_mark(SnapshotMark { index, term })?;
        self.store.mem.wl().apply_snapshot(snapshot.clone())?;
        self.store.set_latest_snapshot(snapshot.clone());
        self.shared.membership.store(&conf_state);
        self.conf_history = vec![(index, conf_state.clone())];
        self.handed_over = index;
        tracing::info!(index, term, "installed snapshot from leader");
        let _ = self.apply_tx.send(Apply {
            entries: Vec::new(),
            snapshot: Some(snapshot),
            conf_state: Some(conf_state),
        });
        Ok(())
    }

    fn hand_over(&mut self, entries: Vec<Entry>) {
        let Some(last) = entries.last().map(|e| e.index) else {
            return;
        };
        let mut conf_state = None;
        for entry in &entries {
            if let Some(cs) = self.apply_conf_change(entry) {
                conf_state = Some(cs);
            }
        }
        self.handed_over = last;
        let _ = self.apply_tx.send(Apply {
            entries,
            snapshot: None,
            conf_state,
        });
    }

    fn apply_conf_change(&mut self, entry: &Entry) -> Option<ConfState> {
        let applied = match entry.get_entry_type() {
            EntryType::EntryNormal => return None,
            EntryType::EntryConfChange => ConfChange::parse_from_bytes(&entry.data)
                .map_err(|e| e.to_string())
                .and_then(|cc| self.raw.apply_conf_change(&cc).map_err(|e| e.to_string())),
            EntryType::EntryConfChangeV2 => ConfChangeV2::parse_from_bytes(&entry.data)
                .map_err(|e| e.to_string())
                .and_then(|cc| self.raw.apply_conf_change(&cc).map_err(|e| e.to_string())),
        };
        match applied {
            Ok(cs) => {
                self.store.mem.wl().set_conf_state(cs.clone());
                self.shared.membership.store(&cs);
                self.conf_history.push((entry.index, cs.clone()));
                tracing::info!(index = entry.index, voters = ?cs.voters, learners = ?cs.learners, "applied conf change");
                Some(cs)
            }
            Err(e) => {
                tracing::warn!(index = entry.index, error = %e, "ignoring conf change raft refused");
                None
            }
        }
    }

    fn advance_applied(&mut self, index: u64) {
        let log = &self.raw.raft.raft_log;
        // raft-rs aborts on an applied index outside (applied, min(committed,
        // persisted)]; the application can only have seen what we handed over.
        let target = index
            .min(self.handed_over)
            .min(log.committed)
            .min(log.persisted);
        if target > log.applied {
            self.raw.advance_apply_to(target);
        }
    }

    fn create_snapshot(&mut self, index: u64, data: Vec<u8>) -> Result<(), Error> {
        let applied = self.raw.raft.raft_log.applied;
        if index > applied {
            return Err(Error::SnapshotBeyondApplied { index, applied });
        }
        let latest = self.store.latest_snapshot_index();
        let out_of_date = Error::SnapshotOutOfDate { index, latest };
        if index <= latest {
            return Err(out_of_date);
        }
        let term = self.store.term(index).map_err(|_| out_of_date)?;
        let mut snapshot = Snapshot::default();
        let meta = snapshot.mut_metadata();
        meta.index = index;
        meta.term = term;
        meta.set_conf_state(self.conf_state_at(index));
        snapshot.data = data.into();

        self.snaps.save(&snapshot)?;
        self.wal
            .append_snapshot_mark(SnapshotMark { index, term })?;
        self.wal.flush(true)?;
        self.report_fsyncs();
        self.store.set_latest_snapshot(snapshot);

        // The entry at the snapshot index itself always stays: MemStorage
        // derives its last index from the entries it holds (its own snapshot
        // marker is only set when a snapshot replaces the whole log), so an
        // emptied MemStorage would report a log ending at 0.
        let compact_to = (index + 1).saturating_sub(self.catch_up_entries).min(index);
        let first = self.store.mem.first_index()?;
        if compact_to > first {
            self.store.mem.wl().compact(compact_to)?;
        }
        self.release_before(index)?;
        let keep_from = self
            .conf_history
            .iter()
            .rposition(|(i, _)| *i <= index)
            .unwrap_or(0);
        self.conf_history.drain(..keep_from);
        MetricsCell::bump(&self.shared.metrics.snapshots_saved);
        // The caller may look at the status as soon as it hears back.
        self.publish();
        tracing::info!(
            index,
            term,
            compacted_to = compact_to.max(first),
            "saved snapshot"
        );
        Ok(())
    }

    fn release_before(&mut self, index: u64) -> Result<(), Error> {
        let released = self.wal.release_before(index)?;
        if released > 0 {
            tracing::debug!(released, index, "deleted WAL segments covered by snapshot");
        }
        self.snaps.purge(SNAPSHOTS_KEPT)
    }

    fn conf_state_at(&self, index: u64) -> ConfState {
        self.conf_history
            .iter()
            .rev()
            .find(|(i, _)| *i <= index)
            .or(self.conf_history.first())
            .map(|(_, cs)| cs.clone())
            .unwrap_or_default()
    }

    fn report_fsyncs(&mut self) {
        let metrics = &self.shared.metrics;
        let fsyncs = self.wal.fsync_count();
        let time = self.wal.fsync_time();
        metrics.wal_fsyncs.fetch_add(
            fsyncs - self.fsyncs_reported,
            std::sync::atomic::Ordering::Relaxed,
        );
        let nanos = (time - self.fsync_time_reported).as_nanos();
        metrics.wal_fsync_nanos.fetch_add(
            u64::try_from(nanos).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        self.fsyncs_reported = fsyncs;
        self.fsync_time_reported = time;
    }

    fn publish(&mut self) {
        let raft = &self.raw.raft;
        let status = NodeStatus {
            id: raft.id,
            leader_id: raft.leader_id,
            term: raft.term,
            commit_index: raft.raft_log.committed,
            applied_index: raft.raft_log.applied,
            last_index: raft.raft_log.last_index(),
            snapshot_index: self.store.latest_snapshot_index(),
            is_learner: raft.prs().conf().learners().contains(&raft.id),
        };
        self.shared.status.store(&status);
        if raft.state == StateRole::Leader {
            let matched = raft.prs().iter().map(|(id, pr)| (*id, pr.matched));
            self.shared.progress.store(status.commit_index, matched);
            self.progress_published = true;
        } else if self.progress_published {
            self.shared.progress.clear();
            self.progress_published = false;
        }
        let info = LeaderInfo {
            leader_id: status.leader_id,
            term: status.term,
        };
        let previous = *self.leader_tx.borrow();
        if previous != info {
            if previous.leader_id != info.leader_id {
                MetricsCell::bump(&self.shared.metrics.leader_changes);
            }
            self.leader_tx.send_replace(info);
        }
    }
}
