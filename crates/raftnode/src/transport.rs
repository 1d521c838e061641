use std::time::Instant;

use raft::eraftpb::Message;

/// Delivers raft messages to peers. Called on the Ready loop thread, so it
/// must hand the messages off (queue them) rather than block on the network.
/// Delivery is best effort: raft retransmits what gets lost.
///
/// The membership methods are called by the application as it applies
/// membership changes (raftnode itself never calls them); their defaults do
/// nothing so that a transport with a fixed set of peers implements `send`
/// only.
pub trait Transport: Send + Sync + 'static {
    fn send(&self, msgs: Vec<Message>);

    /// A member joined (or, at start, every known peer) with these peer URLs.
    fn add_peer(&self, _id: u64, _urls: &[String]) {}

    /// A member left; messages to it may be dropped from now on.
    fn remove_peer(&self, _id: u64) {}

    /// A member's peer URLs changed.
    fn update_peer(&self, _id: u64, _urls: &[String]) {}

    /// Since when this member has had a working connection to `peer`; `None`
    /// while it has none. etcd's `--strict-reconfig-check` counts members
    /// connected long enough from this.
    fn active_since(&self, _peer: u64) -> Option<Instant> {
        None
    }
}

/// The transport of a one-member cluster: there is nobody to talk to.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPeers;

impl Transport for NoPeers {
    fn send(&self, msgs: Vec<Message>) {
        if !msgs.is_empty() {
            tracing::debug!(count = msgs.len(), "no peers; dropping raft messages");
        }
    }
}
