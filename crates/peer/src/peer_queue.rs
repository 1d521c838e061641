//! The task behind one peer's queue: it keeps one long-lived `Raft` stream
//! open to the peer, sends whatever has queued up since the last send as
//! one batch, and reconnects with backoff when the stream breaks. While the
//! peer is unreachable its messages are dropped and raft is told, so the
//! leader probes instead of streaming blindly.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use protobuf::Message as _;
use raftnode::eraftpb::Message;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;

use crate::dial::connect_any;
use crate::metadata::{is_cluster_mismatch, is_removed, stamp};
use crate::peerpb::peer_client::PeerClient;
use crate::peerpb::{RaftAck, RaftBatch};
use crate::transport::Shared;

const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// Kept short, like etcd's fixed 100 ms redial: while a link is down its
/// messages are dropped, so a member that comes back after a longer
/// backoff could miss a vote request and cost the cluster an election
/// round.
const MAX_BACKOFF: Duration = Duration::from_millis(100);
/// A batch grows until about this size; a single larger message goes alone.
const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;
/// Batches handed to the HTTP/2 stream but not yet written; beyond this the
/// task waits, and the peer's queue absorbs the difference.
const BATCHES_IN_FLIGHT: usize = 8;

/// Per-peer state the transport reads.
#[derive(Debug, Default)]
pub(crate) struct LinkState {
    active_since: Mutex<Option<Instant>>,
    snapshot_busy: AtomicBool,
    /// The channel the last forwarded call went through, kept so that
    /// forwarding does not pay for a new connection every time.
    forwarding: Mutex<Option<Channel>>,
}

impl LinkState {
    pub(crate) fn forwarding_channel(&self) -> Option<Channel> {
        self.forwarding
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_forwarding_channel(&self, channel: Option<Channel>) {
        *self
            .forwarding
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = channel;
    }

    pub(crate) fn active_since(&self) -> Option<Instant> {
        *self
            .active_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set_active(&self, since: Option<Instant>) {
        *self
            .active_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = since;
    }

    /// Claims the peer's one snapshot slot; false when it is taken.
    pub(crate) fn begin_snapshot(&self) -> bool {
        self.snapshot_busy
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(crate) fn end_snapshot(&self) {
        self.snapshot_busy.store(false, Ordering::Release);
    }
}

/// Why an open stream stopped being used.
enum Closed {
    /// The transport dropped the peer.
    Removed,
    /// The peer's URLs changed: reconnect at once.
    UrlsChanged,
    /// The stream failed or the peer ended it.
    Broken(String),
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    peer: u64,
    mut queue: mpsc::Receiver<Message>,
    mut urls: watch::Receiver<Vec<String>>,
    state: Arc<LinkState>,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let list = urls.borrow_and_update().clone();
        match open(&shared, peer, &list).await {
            Ok((outbound, inbound)) => {
                backoff = MIN_BACKOFF;
                state.set_active(Some(Instant::now()));
                tracing::info!(peer = format_args!("{peer:x}"), "peer stream connected");
                let closed = pump(&mut queue, &mut urls, outbound, inbound).await;
                state.set_active(None);
                match closed {
                    Closed::Removed => return,
                    Closed::UrlsChanged => continue,
                    Closed::Broken(reason) => {
                        tracing::warn!(peer = format_args!("{peer:x}"), %reason, "peer stream lost");
                        shared.report_unreachable(peer);
                    }
                }
            }
            Err(reason) => {
                tracing::debug!(peer = format_args!("{peer:x}"), %reason, "cannot reach peer");
            }
        }
        if discard_for(&shared, peer, &mut queue, &mut urls, backoff).await {
            return;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

type Outbound = mpsc::Sender<RaftBatch>;

/// Connects to the first reachable URL and opens the stream; `Ok` once the
/// peer has accepted it (its response headers arrived).
async fn open(
    shared: &Shared,
    peer: u64,
    urls: &[String],
) -> Result<(Outbound, Streaming<RaftAck>), String> {
    let cfg = &shared.cfg;
    let (url, channel) = connect_any(urls, cfg.tls.as_ref(), cfg.dial_timeout)
        .await
        .map_err(|e| e.to_string())?;
    let (outbound, batches) = mpsc::channel(BATCHES_IN_FLIGHT);
    let mut req = tonic::Request::new(ReceiverStream::new(batches));
    stamp(&mut req, cfg.local_id, cfg.cluster_id, Some(peer));
    let accepted = tokio::time::timeout(cfg.dial_timeout * 2, PeerClient::new(channel).raft(req))
        .await
        .map_err(|_| format!("{url} did not accept the raft stream in time"))?;
    match accepted {
        Ok(response) => Ok((outbound, response.into_inner())),
        Err(status) => {
            if is_removed(&status) {
                tracing::error!(
                    peer = format_args!("{peer:x}"),
                    %url,
                    "the member has been permanently removed from the cluster"
                );
                shared.mark_removed();
            }
            if is_cluster_mismatch(&status) {
                tracing::error!(
                    peer = format_args!("{peer:x}"),
                    local_member_cluster_id = format_args!("{:x}", cfg.cluster_id),
                    %url,
                    "request cluster ID mismatch"
                );
            }
            Err(format!("{url} refused the raft stream: {status}"))
        }
    }
}

async fn pump(
    queue: &mut mpsc::Receiver<Message>,
    urls: &mut watch::Receiver<Vec<String>>,
    outbound: Outbound,
    mut inbound: Streaming<RaftAck>,
) -> Closed {
    loop {
        tokio::select! {
            first = queue.recv() => {
                let Some(first) = first else { return Closed::Removed };
                let batch = batch_from(first, queue);
                if outbound.send(batch).await.is_err() {
                    return Closed::Broken("stream closed while sending".into());
                }
            }
            ack = inbound.message() => match ack {
                Ok(Some(_)) => {}
                Ok(None) => return Closed::Broken("peer ended the stream".into()),
                Err(status) => return Closed::Broken(status.to_string()),
            },
            changed = urls.changed() => {
                return if changed.is_ok() { Closed::UrlsChanged } else { Closed::Removed };
            }
        }
    }
}

/// `first` and whatever else is already queued, up to the batch size.
fn batch_from(first: Message, queue: &mut mpsc::Receiver<Message>) -> RaftBatch {
    let mut batch = RaftBatch::default();
    let mut size = 0;
    let mut next = Some(first);
    while let Some(msg) = next.take() {
        match msg.write_to_bytes() {
            Ok(bytes) => {
                size += bytes.len();
                batch.messages.push(bytes.into());
            }
            Err(e) => tracing::error!(error = %e, "cannot encode a raft message; dropped"),
        }
        if size < MAX_BATCH_BYTES {
            next = queue.try_recv().ok();
        }
    }
    batch
}

/// Waits out `backoff`, dropping what raft queues meanwhile (it is stale by
/// the time the peer is back, and raft retransmits). Returns true when the
/// peer was removed.
async fn discard_for(
    shared: &Shared,
    peer: u64,
    queue: &mut mpsc::Receiver<Message>,
    urls: &mut watch::Receiver<Vec<String>>,
    backoff: Duration,
) -> bool {
    let wake = tokio::time::sleep(backoff);
    tokio::pin!(wake);
    let mut reported = false;
    loop {
        tokio::select! {
            () = &mut wake => return false,
            msg = queue.recv() => {
                if msg.is_none() {
                    return true;
                }
                if !reported {
                    shared.report_unreachable(peer);
                    reported = true;
                }
            }
            changed = urls.changed() => return changed.is_err(),
        }
    }
}
