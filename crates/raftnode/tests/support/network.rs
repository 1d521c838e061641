//! An in-process network for raftnode clusters, in the spirit of raft-rs's
//! test harness: every node gets a [`Transport`] that routes its messages to
//! the other nodes' `RaftNode::step`, through faults the test switches on and
//! off — cut links, isolated nodes, a share of messages dropped, a delay.
//!
//! Messages travel through one delivery task per receiver, so they arrive in
//! the order they were sent. A snapshot message is reported back to its
//! sender like a real transport would: `Finish` once delivered, `Failure`
//! when the network lost it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use raftnode::eraftpb::{Message, MessageType};
use raftnode::{RaftNode, SnapshotStatus, Transport};
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
}

struct State {
    nodes: HashMap<u64, RaftNode>,
    inboxes: HashMap<u64, mpsc::UnboundedSender<Delivery>>,
    /// Links lost both ways, as (smaller id, larger id).
    cut: HashSet<(u64, u64)>,
    isolated: HashSet<u64>,
    drop_percent: u64,
    delay: Duration,
    /// xorshift64 state: the drops follow the same sequence on every run.
    rng: u64,
}

struct Delivery {
    at: Instant,
    msg: Message,
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}

impl Network {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    nodes: HashMap::new(),
                    inboxes: HashMap::new(),
                    cut: HashSet::new(),
                    isolated: HashSet::new(),
                    drop_percent: 0,
                    delay: Duration::ZERO,
                    rng: 0x9e37_79b9_7f4a_7c15,
                }),
            }),
        }
    }

    /// The transport to start node `id` with (any node's would do: routing
    /// goes by each message's `from` and `to`).
    pub fn transport(&self) -> Arc<dyn Transport> {
        Arc::new(NodeTransport {
            net: Arc::downgrade(&self.inner),
        })
    }

    /// Delivers messages addressed to `id` to `node` from now on (again
    /// after a restart). Must be called inside the tokio runtime.
    pub fn attach(&self, id: u64, node: RaftNode) {
        let mut state = self.state();
        state.nodes.insert(id, node);
        if state.inboxes.contains_key(&id) {
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        state.inboxes.insert(id, tx);
        tokio::spawn(deliver(Arc::downgrade(&self.inner), id, rx));
    }

    /// Messages to `id` are lost from now on (it stopped).
    pub fn detach(&self, id: u64) {
        self.state().nodes.remove(&id);
    }

    /// Loses every message between `a` and `b`, both ways.
    pub fn cut(&self, a: u64, b: u64) {
        self.state().cut.insert((a.min(b), a.max(b)));
    }

    /// Loses every message to and from `id`.
    pub fn isolate(&self, id: u64) {
        self.state().isolated.insert(id);
    }

    /// A perfect network again: no cuts, isolation, drops or delay.
    pub fn heal(&self) {
        let mut state = self.state();
        state.cut.clear();
        state.isolated.clear();
        state.drop_percent = 0;
        state.delay = Duration::ZERO;
    }

    /// Loses `percent` of the messages that would otherwise get through.
    pub fn drop_percent(&self, percent: u64) {
        self.state().drop_percent = percent.min(100);
    }

    /// Holds every message this long before delivering it.
    pub fn delay(&self, delay: Duration) {
        self.state().delay = delay;
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state()
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn route(&self, msgs: Vec<Message>) {
        let mut state = self.state();
        let at = Instant::now() + state.delay;
        for msg in msgs {
            let (from, to) = (msg.from, msg.to);
            let is_snapshot = msg.get_msg_type() == MessageType::MsgSnapshot;
            let lost = state.blocks(from, to) || state.roll_drop();
            let queued = !lost
                && state
                    .inboxes
                    .get(&to)
                    .is_some_and(|inbox| inbox.send(Delivery { at, msg }).is_ok());
            if !queued
                && is_snapshot
                && let Some(sender) = state.nodes.get(&from)
            {
                sender.report_snapshot(to, SnapshotStatus::Failure);
            }
        }
    }
}

impl State {
    fn blocks(&self, from: u64, to: u64) -> bool {
        self.isolated.contains(&from)
            || self.isolated.contains(&to)
            || self.cut.contains(&(from.min(to), from.max(to)))
    }

    fn roll_drop(&mut self) -> bool {
        if self.drop_percent == 0 {
            return false;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % 100 < self.drop_percent
    }
}

/// Steps what arrives for `id` into whichever node is attached as `id` at
/// delivery time.
async fn deliver(net: Weak<Inner>, id: u64, mut inbox: mpsc::UnboundedReceiver<Delivery>) {
    while let Some(Delivery { at, msg }) = inbox.recv().await {
        tokio::time::sleep_until(at).await;
        let Some(net) = net.upgrade() else {
            return;
        };
        let (receiver, sender) = {
            let state = net.state();
            (
                state.nodes.get(&id).cloned(),
                state.nodes.get(&msg.from).cloned(),
            )
        };
        let is_snapshot = msg.get_msg_type() == MessageType::MsgSnapshot;
        let delivered = match receiver {
            Some(node) => node.step(msg).await.is_ok(),
            None => false,
        };
        if is_snapshot && let Some(sender) = sender {
            let status = if delivered {
                SnapshotStatus::Finish
            } else {
                SnapshotStatus::Failure
            };
            sender.report_snapshot(id, status);
        }
    }
}

struct NodeTransport {
    net: Weak<Inner>,
}

impl Transport for NodeTransport {
    fn send(&self, msgs: Vec<Message>) {
        if let Some(net) = self.net.upgrade() {
            net.route(msgs);
        }
    }
}
