use raft::eraftpb::Message;

/// Delivers raft messages to peers. Called on the Ready loop thread, so it
/// must hand the messages off (queue them) rather than block on the network.
/// Delivery is best effort: raft retransmits what gets lost.
pub trait Transport: Send + Sync + 'static {
    fn send(&self, msgs: Vec<Message>);
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
