//! [`PeerTransport`]: raftnode's `Transport` over the peer protocol. Raft's
//! thread only queues; every peer has its own queue and task (see
//! `peer_queue`), so one slow or dead peer never holds up another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use raftnode::eraftpb::{Message, MessageType};
use raftnode::{RaftNode, SnapshotStatus, Transport};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use crate::{Error, PeerConfig, SnapshotSource, peer_queue, snapshot_send};

/// The peer side of a member: raft messages and snapshots out to the other
/// members, and lease calls forwarded to the leader (`api::LeaderLink`).
/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct PeerTransport {
    pub(crate) shared: Arc<Shared>,
    pub(crate) links: Arc<Mutex<HashMap<u64, PeerLink>>>,
}

/// What the per-peer tasks share with the transport.
pub(crate) struct Shared {
    pub(crate) cfg: PeerConfig,
    raft: RwLock<Option<RaftNode>>,
    snapshots: Arc<dyn SnapshotSource>,
    runtime: Handle,
    /// Turns true once a peer refused this member as removed.
    removed: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn raft(&self) -> Option<RaftNode> {
        self.raft
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn mark_removed(&self) {
        self.removed.send_replace(true);
    }

    pub(crate) fn report_unreachable(&self, peer: u64) {
        if let Some(raft) = self.raft() {
            raft.report_unreachable(peer);
        }
    }

    fn report_snapshot(&self, peer: u64, status: SnapshotStatus) {
        if let Some(raft) = self.raft() {
            raft.report_snapshot(peer, status);
        }
    }
}

/// One peer: its queue, its URLs, and the tasks serving it.
pub(crate) struct PeerLink {
    queue: mpsc::Sender<Message>,
    pub(crate) urls: watch::Sender<Vec<String>>,
    pub(crate) state: Arc<peer_queue::LinkState>,
    stream_task: AbortHandle,
    snapshot_task: Mutex<Option<AbortHandle>>,
}

impl PeerLink {
    fn set_urls(&self, urls: &[String]) {
        self.urls.send_replace(urls.to_vec());
        self.state.set_forwarding_channel(None);
    }
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        self.stream_task.abort();
        if let Some(task) = self
            .snapshot_task
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

impl PeerTransport {
    /// Must be called inside a tokio runtime: the per-peer tasks run on it.
    pub fn new(cfg: PeerConfig, snapshots: Arc<dyn SnapshotSource>) -> Result<Self, Error> {
        let runtime = Handle::try_current().map_err(|_| Error::NoRuntime)?;
        Ok(Self {
            shared: Arc::new(Shared {
                cfg,
                raft: RwLock::new(None),
                snapshots,
                runtime,
                removed: watch::channel(false).0,
            }),
            links: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// Starts delivering: until now every message was dropped, since there
    /// was no raft node to report failures to.
    pub fn attach(&self, raft: RaftNode) {
        *self
            .shared
            .raft
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(raft);
    }

    /// Closes every peer connection and forgets the raft node (which holds
    /// this transport, so the two would otherwise keep each other alive).
    pub fn stop(&self) {
        self.shared
            .raft
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Resolves once a peer has refused this member as removed from the
    /// cluster (it was removed while it could not hear about it): the
    /// member must stop.
    pub async fn wait_removed(&self) {
        let mut removed = self.shared.removed.subscribe();
        let _ = removed.wait_for(|r| *r).await;
    }

    /// The ids of the peers messages can currently go to.
    pub fn peers(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The peer's URLs and state, if it is known.
    pub(crate) fn peer(&self, peer: u64) -> Option<(Vec<String>, Arc<peer_queue::LinkState>)> {
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&peer)
            .map(|link| (link.urls.borrow().clone(), Arc::clone(&link.state)))
    }

    fn start_snapshot(&self, link: &PeerLink, msg: Message) {
        let to = msg.to;
        if !link.state.begin_snapshot() {
            // Raft sends a peer one snapshot at a time and waits for the
            // report; a second one here is from a leader that lost track.
            tracing::debug!(
                to = format_args!("{to:x}"),
                "snapshot already in flight; dropping another"
            );
            return;
        }
        let shared = Arc::clone(&self.shared);
        let state = Arc::clone(&link.state);
        let urls = link.urls.borrow().clone();
        let task = self.shared.runtime.spawn(async move {
            let index = msg.get_snapshot().get_metadata().index;
            let result = snapshot_send::send(&shared.cfg, &shared.snapshots, &urls, msg).await;
            state.end_snapshot();
            match result {
                Ok(bytes) => {
                    tracing::info!(
                        to = format_args!("{to:x}"),
                        index,
                        bytes,
                        "sent snapshot"
                    );
                    shared.report_snapshot(to, SnapshotStatus::Finish);
                }
                Err(e) => {
                    tracing::warn!(to = format_args!("{to:x}"), index, error = %e, "sending snapshot failed");
                    shared.report_unreachable(to);
                    shared.report_snapshot(to, SnapshotStatus::Failure);
                }
            }
        });
        *link
            .snapshot_task
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(task.abort_handle());
    }
}

impl Transport for PeerTransport {
    fn send(&self, msgs: Vec<Message>) {
        if self.shared.raft().is_none() {
            return;
        }
        let mut unreachable = Vec::new();
        {
            let links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
            for msg in msgs {
                let to = msg.to;
                let Some(link) = links.get(&to) else {
                    tracing::debug!(
                        to = format_args!("{to:x}"),
                        "message to an unknown peer dropped"
                    );
                    if msg.get_msg_type() == MessageType::MsgSnapshot {
                        self.shared.report_snapshot(to, SnapshotStatus::Failure);
                    }
                    continue;
                };
                if msg.get_msg_type() == MessageType::MsgSnapshot {
                    self.start_snapshot(link, msg);
                } else if link.queue.try_send(msg).is_err() && !unreachable.contains(&to) {
                    unreachable.push(to);
                }
            }
        }
        for to in unreachable {
            tracing::debug!(
                to = format_args!("{to:x}"),
                "peer queue full; dropping messages"
            );
            self.shared.report_unreachable(to);
        }
    }

    fn add_peer(&self, id: u64, urls: &[String]) {
        if id == self.shared.cfg.local_id {
            return;
        }
        let mut links = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(link) = links.get(&id) {
            link.set_urls(urls);
            return;
        }
        let (queue, queued) = mpsc::channel(self.shared.cfg.queue_capacity.max(1));
        let (urls_tx, urls_rx) = watch::channel(urls.to_vec());
        let state = Arc::new(peer_queue::LinkState::default());
        let stream_task = self
            .shared
            .runtime
            .spawn(peer_queue::run(
                Arc::clone(&self.shared),
                id,
                queued,
                urls_rx,
                Arc::clone(&state),
            ))
            .abort_handle();
        links.insert(
            id,
            PeerLink {
                queue,
                urls: urls_tx,
                state,
                stream_task,
                snapshot_task: Mutex::new(None),
            },
        );
    }

    fn remove_peer(&self, id: u64) {
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }

    fn update_peer(&self, id: u64, urls: &[String]) {
        if let Some(link) = self
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            link.set_urls(urls);
        }
    }

    fn active_since(&self, peer: u64) -> Option<Instant> {
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&peer)
            .and_then(|link| link.state.active_since())
    }
}
