use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use raft::eraftpb::{ConfChange, ConfChangeV2, Message};
use raft::{RawNode, SnapshotStatus};
use tokio::sync::{mpsc, oneshot, watch};

use crate::boot::boot;
use crate::command::Command;
use crate::logger::raft_logger;
use crate::read_index::ReadRounds;
use crate::ready_loop::{ReadyLoop, Shared};
use crate::status::{LeaderInfo, NodeMetrics, NodeStatus};
use crate::{Apply, Error, RaftConfig, Transport};

/// Handle to a running raft node. Cheap to clone; every clone talks to the
/// same Ready loop thread.
#[derive(Clone)]
pub struct RaftNode {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    /// How long `transfer_leader` waits for the transferee to take over.
    transfer_timeout: Duration,
    commands: std_mpsc::Sender<Command>,
    shared: Arc<Shared>,
    leader_rx: watch::Receiver<LeaderInfo>,
    stopped_rx: watch::Receiver<bool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for RaftNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftNode")
            .field("status", &self.status())
            .finish()
    }
}

impl RaftNode {
    /// Creates or restarts the member in `cfg.member_dir`: loads the newest
    /// snapshot, replays the WAL into MemStorage, restores the hard state, and
    /// starts the Ready loop on its own thread (WAL fsyncs block only that
    /// thread). Returns the handle and the stream of committed work; on a
    /// restart from a snapshot, the first [`Apply`] carries that snapshot.
    pub fn start(
        cfg: RaftConfig,
        transport: Arc<dyn Transport>,
    ) -> Result<(RaftNode, mpsc::UnboundedReceiver<Apply>), Error> {
        let mut raft_cfg = cfg.raft_config()?;
        let booted = boot(&cfg)?;
        raft_cfg.applied = booted.applied;
        let logger = raft_logger(cfg.id);
        let mut raw = RawNode::new(&raft_cfg, booted.store.clone(), &logger)?;

        let (apply_tx, apply_rx) = mpsc::unbounded_channel();
        let snapshot_index = booted
            .snapshot
            .as_ref()
            .map_or(0, |s| s.get_metadata().index);
        if let Some(snapshot) = booted.snapshot {
            let conf_state = snapshot.get_metadata().get_conf_state().clone();
            let _ = apply_tx.send(Apply {
                entries: Vec::new(),
                snapshot: Some(snapshot),
                conf_state: Some(conf_state),
            });
        }
        let cs = &booted.conf_state;
        let sole_voter =
            cs.voters == [cfg.id] && cs.learners.is_empty() && cs.voters_outgoing.is_empty();
        if sole_voter {
            // Nobody else can vote, so waiting out an election timeout before
            // the first write would only add latency.
            if let Err(e) = raw.campaign() {
                tracing::warn!(error = %e, "campaign at start refused");
            }
        }

        let shared = Arc::new(Shared::default());
        shared.membership.store(&booted.conf_state);
        let (leader_tx, leader_rx) = watch::channel(LeaderInfo::default());
        let (stopped_tx, stopped_rx) = watch::channel(false);
        let (commands_tx, commands_rx) = std_mpsc::channel();
        let ready_loop = ReadyLoop {
            raw,
            store: booted.store,
            wal: booted.wal,
            snaps: booted.snaps,
            transport,
            apply_tx,
            commands: commands_rx,
            reads: ReadRounds::new(cfg.id, cfg.election_tick),
            conf_history: vec![(snapshot_index, booted.conf_state)],
            handed_over: booted.applied,
            shared: Arc::clone(&shared),
            leader_tx,
            tick_interval: cfg.tick_interval,
            catch_up_entries: cfg.snapshot_catch_up_entries,
            fsyncs_reported: 0,
            fsync_time_reported: Duration::ZERO,
            progress_published: false,
        };
        let thread = std::thread::Builder::new()
            .name(format!("raft-{:x}", cfg.id))
            .spawn(move || {
                ready_loop.run();
                let _ = stopped_tx.send(true);
            })
            .map_err(Error::io(&cfg.member_dir))?;
        let node = RaftNode {
            inner: Arc::new(Inner {
                id: cfg.id,
                transfer_timeout: transfer_timeout(&cfg),
                commands: commands_tx,
                shared,
                leader_rx,
                stopped_rx,
                thread: Mutex::new(Some(thread)),
            }),
        };
        Ok((node, apply_rx))
    }

    fn send(&self, cmd: Command) -> Result<(), Error> {
        self.inner.commands.send(cmd).map_err(|_| Error::Stopped)
    }

    async fn call<T>(
        &self,
        cmd: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.send(cmd(tx))?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Hands `data` to raft as a new log entry. `Ok` means raft accepted it
    /// (a follower forwards it to the leader), not that it is committed:
    /// commitment shows up on the [`Apply`] stream.
    pub async fn propose(&self, data: Vec<u8>) -> Result<(), Error> {
        self.call(|reply| Command::Propose { data, reply }).await
    }

    /// Proposes a membership change; once committed it is applied to raft by
    /// this crate and reported in [`Apply::conf_state`]. As with raft, `Ok`
    /// does not promise the change: a leader still applying an earlier
    /// change (or in a joint configuration) commits it as an empty entry,
    /// so callers watch [`Apply::conf_state`] or [`conf_state`](Self::conf_state).
    pub async fn propose_conf_change(&self, change: ConfChange) -> Result<(), Error> {
        self.call(|reply| Command::ProposeConfChange { change, reply })
            .await
    }

    /// Proposes a membership change in the V2 form (learners, promotion of a
    /// learner with `AddNode`, several changes at once through joint
    /// consensus). Like [`propose_conf_change`](Self::propose_conf_change),
    /// `Ok` means raft accepted the proposal; raftnode applies it to raft
    /// when it commits, and leaves a joint configuration it entered with an
    /// automatic transition by itself (while the application keeps calling
    /// `advance_applied`).
    pub async fn propose_conf_change_v2(&self, change: ConfChangeV2) -> Result<(), Error> {
        self.call(|reply| Command::ProposeConfChangeV2 { change, reply })
            .await
    }

    /// Hands leadership to the voter `to` and waits until this node sees it
    /// lead. Only the leader can do this (`NotLeader`); `to` must be a voter
    /// of the current configuration (`UnknownPeer`, `NotVoter`). Fails with
    /// `LeaderTransferTimeout` after about two election timeouts; raft
    /// itself gives up after one, so leadership then stays here (or has
    /// moved elsewhere). Transferring to this node while it leads is a no-op.
    pub async fn transfer_leader(&self, to: u64) -> Result<(), Error> {
        let mut leader = self.leader_changes();
        self.call(|reply| Command::TransferLeader { to, reply })
            .await?;
        if to == self.inner.id {
            return Ok(());
        }
        let took_over = leader.wait_for(|info| info.leader_id == to);
        match tokio::time::timeout(self.inner.transfer_timeout, took_over).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(Error::Stopped),
            Err(_) => Err(Error::LeaderTransferTimeout(to)),
        }
    }

    /// The leader's view of `peer`'s replication: (its match index, the
    /// leader's commit index). `None` when this node is not the leader or
    /// `peer` is not in the configuration. Reads a copy the Ready loop
    /// refreshes after every round, so it never waits for that thread.
    pub fn progress(&self, peer: u64) -> Option<(u64, u64)> {
        self.inner.shared.progress.get(peer)
    }

    /// The configuration raft works with, as (voters, learners), each
    /// sorted; during joint consensus the voters are both halves. Updated
    /// whenever a conf change or snapshot is applied to raft.
    pub fn conf_state(&self) -> (Vec<u64>, Vec<u64>) {
        self.inner.shared.membership.load()
    }

    /// Raft ReadIndex: confirms leadership with a quorum and returns the
    /// commit index a linearizable read must wait to see applied. Concurrent
    /// callers share one round.
    pub async fn read_index(&self) -> Result<u64, Error> {
        self.call(|reply| Command::ReadIndex { reply }).await
    }

    /// Feeds a message from a peer into raft.
    pub async fn step(&self, msg: Message) -> Result<(), Error> {
        if raft::raw_node::is_local_msg(msg.get_msg_type()) {
            return Err(Error::LocalMessage(format!("{:?}", msg.get_msg_type())));
        }
        self.send(Command::Step(msg))
    }

    pub fn status(&self) -> NodeStatus {
        self.inner.shared.status.load()
    }

    pub fn metrics(&self) -> NodeMetrics {
        self.inner.shared.metrics.load()
    }

    pub fn leader_changes(&self) -> watch::Receiver<LeaderInfo> {
        self.inner.leader_rx.clone()
    }

    /// The application has applied everything up to `index`.
    pub fn advance_applied(&self, index: u64) {
        let _ = self.send(Command::Applied(index));
    }

    /// Tells raft a peer could not be reached, so the leader stops streaming
    /// to it optimistically.
    pub fn report_unreachable(&self, id: u64) {
        let _ = self.send(Command::ReportUnreachable(id));
    }

    /// Tells raft how sending a snapshot (a `MsgSnapshot`) to `id` ended.
    pub fn report_snapshot(&self, id: u64, status: SnapshotStatus) {
        let _ = self.send(Command::ReportSnapshot(id, status));
    }

    /// Saves a snapshot at `index` (at most the applied index) carrying the
    /// application's `data`, compacts the in-memory log behind it (keeping
    /// `snapshot_catch_up_entries`), and deletes WAL segments it covers.
    pub async fn create_snapshot(&self, index: u64, data: Vec<u8>) -> Result<(), Error> {
        self.call(|reply| Command::Snapshot { index, data, reply })
            .await
    }

    /// Stops the Ready loop after it has written out what it holds, and
    /// waits for its thread. Later calls on any clone fail with `Stopped`.
    pub async fn stop(&self) {
        let _ = self.send(Command::Stop);
        let mut stopped = self.inner.stopped_rx.clone();
        let _ = stopped.wait_for(|done| *done).await;
        let thread = self
            .inner
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            // The loop has returned; joining only reaps the thread.
            let _ = thread.join();
        }
    }
}

/// Two election timeouts: raft abandons a transfer after one, and the new
/// leader's first message needs a little longer to arrive.
fn transfer_timeout(cfg: &RaftConfig) -> Duration {
    let ticks = u32::try_from(cfg.election_tick.saturating_mul(2)).unwrap_or(u32::MAX);
    cfg.tick_interval.saturating_mul(ticks)
}
