//! The Watch service as clientv3's watcher uses it: any number of watches
//! share one gRPC stream, each gets the responses for its id (progress
//! notifications go to all), the creation answer is swallowed, a watch the
//! server cancels ends, and a stream that breaks for a transient reason is
//! opened again with every watch resumed after the last revision it saw.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use api::pb::etcdserverpb::watch_client::WatchClient;
use api::pb::etcdserverpb::watch_request::RequestUnion;
use api::pb::etcdserverpb::{
    ResponseHeader, WatchCancelRequest, WatchCreateRequest, WatchProgressRequest, WatchRequest,
    WatchResponse,
};
use api::pb::mvccpb::Event;
use futures::channel::mpsc::UnboundedSender;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use super::lease::{halts, streaming_request};
use super::rpc_error::RpcError;
use super::{Client, rpc_error};
use crate::error::Error;

/// The id the server gives responses that belong to no watch.
const NO_WATCH: i64 = -1;
const MAX_BACKOFF: Duration = Duration::from_millis(100);

/// Which of a [`Watcher`]'s watches something is about.
pub type WatchHandle = usize;

/// One response as clientv3 hands it to a watch's user (its
/// `WatchResponse`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WatchUpdate {
    pub header: ResponseHeader,
    /// `None` for the response clientv3 makes up when the stream failed.
    pub events: Option<Vec<Event>>,
    pub compact_revision: i64,
    pub canceled: bool,
    pub created: bool,
    /// Why the stream (or this watch's creation) failed, in clientv3's words.
    pub close_error: Option<String>,
    pub cancel_reason: String,
}

impl WatchUpdate {
    /// `WatchResponse.Err()`.
    pub fn err(&self) -> Option<String> {
        if let Some(e) = &self.close_error {
            return Some(e.clone());
        }
        if self.compact_revision != 0 {
            return Some("etcdserver: mvcc: required revision has been compacted".to_string());
        }
        if self.canceled {
            if self.cancel_reason.is_empty() {
                return Some(
                    "etcdserver: mvcc: required revision is a future revision".to_string(),
                );
            }
            let status = tonic::Status::failed_precondition(self.cancel_reason.clone());
            return Some(RpcError::from_status(&status).to_string());
        }
        None
    }

    /// `WatchResponse.IsProgressNotify()`.
    pub fn is_progress_notify(&self) -> bool {
        self.events.as_ref().is_none_or(Vec::is_empty)
            && !self.canceled
            && !self.created
            && self.compact_revision == 0
            && self.header.revision != 0
    }

    fn failed(error: String) -> Self {
        WatchUpdate {
            canceled: true,
            close_error: Some(error),
            ..Default::default()
        }
    }
}

/// What a watch's user receives next.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Update(WatchHandle, WatchUpdate),
    /// The watch's channel closed; nothing more comes for it.
    Closed(WatchHandle),
}

struct WatchState {
    request: WatchCreateRequest,
    /// Where a resumed watch starts.
    next_rev: i64,
    created: bool,
}

/// Watches on one (re)connecting stream.
pub struct Watcher {
    channel: Channel,
    metadata: MetadataMap,
    require_leader: bool,
    sender: Option<UnboundedSender<WatchRequest>>,
    responses: Option<tonic::Streaming<WatchResponse>>,
    watches: Vec<WatchState>,
    /// Creations sent and not yet answered, oldest first.
    pending: VecDeque<WatchHandle>,
    /// Watches the server runs, by its id.
    active: BTreeMap<i64, WatchHandle>,
    /// Ids of unknown watches a cancel was already sent for.
    canceling: BTreeSet<i64>,
    /// Progress requests to send once a stream is up.
    progress: usize,
    ready: VecDeque<Delivery>,
    backoff: Duration,
}

impl Client {
    /// A watcher on this client's connection; `require_leader` is
    /// clientv3's `WithRequireLeader`.
    pub async fn watcher(&mut self, require_leader: bool) -> Result<Watcher, Error> {
        let channel = self.stream_channel().await?;
        Ok(Watcher {
            channel,
            metadata: self.metadata(),
            require_leader,
            sender: None,
            responses: None,
            watches: Vec::new(),
            pending: VecDeque::new(),
            active: BTreeMap::new(),
            canceling: BTreeSet::new(),
            progress: 0,
            ready: VecDeque::new(),
            backoff: Duration::from_millis(1),
        })
    }
}

fn create(req: WatchCreateRequest) -> WatchRequest {
    WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(req)),
    }
}

fn progress_request() -> WatchRequest {
    WatchRequest {
        request_union: Some(RequestUnion::ProgressRequest(WatchProgressRequest {})),
    }
}

impl Watcher {
    /// Starts a watch; its responses come from [`Watcher::next`].
    pub fn watch(&mut self, request: WatchCreateRequest) -> WatchHandle {
        let handle = self.watches.len();
        self.watches.push(WatchState {
            next_rev: request.start_revision,
            request: request.clone(),
            created: false,
        });
        self.pending.push_back(handle);
        if let Some(tx) = &self.sender {
            let _ = tx.unbounded_send(create(request));
        }
        handle
    }

    /// `RequestProgress`: a progress notification for every watch.
    pub fn request_progress(&mut self) {
        match &self.sender {
            Some(tx) => {
                let _ = tx.unbounded_send(progress_request());
            }
            None => self.progress += 1,
        }
    }

    fn has_work(&self) -> bool {
        !self.pending.is_empty() || !self.active.is_empty() || self.progress > 0
    }

    /// The next thing a watch receives. Waits forever when no watch is
    /// open.
    pub async fn next(&mut self) -> Delivery {
        loop {
            if let Some(d) = self.ready.pop_front() {
                return d;
            }
            if self.responses.is_none() {
                if !self.has_work() {
                    std::future::pending::<()>().await;
                }
                self.connect().await;
                continue;
            }
            let received = match self.responses.as_mut() {
                Some(stream) => stream.message().await,
                None => continue,
            };
            match received {
                Ok(Some(resp)) => {
                    self.backoff = Duration::from_millis(1);
                    self.absorb(resp);
                }
                Ok(None) => {
                    self.broken(&tonic::Status::unavailable("stream ended"))
                        .await
                }
                Err(status) => self.broken(&status).await,
            }
        }
    }

    /// Opens a stream and (re)sends every watch and progress request,
    /// until one opens or the failure is one clientv3 gives up on.
    async fn connect(&mut self) {
        loop {
            let (tx, rx) = futures::channel::mpsc::unbounded();
            let mut resumed: Vec<WatchHandle> = self.active.values().copied().collect();
            resumed.sort_unstable();
            resumed.extend(self.pending.iter().copied());
            for handle in &resumed {
                let state = &self.watches[*handle];
                let mut req = state.request.clone();
                req.start_revision = state.next_rev;
                let _ = tx.unbounded_send(create(req));
            }
            for _ in 0..self.progress {
                let _ = tx.unbounded_send(progress_request());
            }
            let request = streaming_request(&self.metadata, self.require_leader, rx);
            match WatchClient::new(self.channel.clone()).watch(request).await {
                Ok(resp) => {
                    self.active.clear();
                    self.canceling.clear();
                    self.pending = resumed.into();
                    self.progress = 0;
                    self.sender = Some(tx);
                    self.responses = Some(resp.into_inner());
                    return;
                }
                Err(status) if halts(&status) || is_no_leader(&status) => {
                    self.fail_all(&status);
                    return;
                }
                Err(_) => self.back_off().await,
            }
        }
    }

    async fn broken(&mut self, status: &tonic::Status) {
        self.sender = None;
        self.responses = None;
        if halts(status) || is_no_leader(status) {
            self.fail_all(status);
        } else {
            self.back_off().await;
        }
    }

    async fn back_off(&mut self) {
        self.backoff = (self.backoff + self.backoff / 4).min(MAX_BACKOFF);
        tokio::time::sleep(self.backoff).await;
    }

    /// The stream failed for good: every open watch gets the error, then
    /// closes.
    fn fail_all(&mut self, status: &tonic::Status) {
        let error = RpcError::from_status(status).to_string();
        let mut open: Vec<WatchHandle> = self.active.values().copied().collect();
        open.extend(self.pending.iter().copied());
        open.sort_unstable();
        for handle in open {
            self.ready
                .push_back(Delivery::Update(handle, WatchUpdate::failed(error.clone())));
            self.ready.push_back(Delivery::Closed(handle));
        }
        self.active.clear();
        self.pending.clear();
        self.progress = 0;
    }

    fn absorb(&mut self, resp: WatchResponse) {
        let header = resp.header.unwrap_or_default();
        if resp.created {
            if is_stale_auth(&resp.cancel_reason) {
                return;
            }
            let Some(handle) = self.pending.pop_front() else {
                return;
            };
            if resp.watch_id == NO_WATCH || (resp.canceled && !resp.cancel_reason.is_empty()) {
                // clientv3 keeps the reason's text whether or not it knows it.
                self.ready.push_back(Delivery::Update(
                    handle,
                    WatchUpdate::failed(resp.cancel_reason),
                ));
                self.ready.push_back(Delivery::Closed(handle));
                return;
            }
            self.active.insert(resp.watch_id, handle);
            let state = &mut self.watches[handle];
            if !state.created && state.request.start_revision == 0 {
                state.next_rev = header.revision;
            }
            state.created = true;
            return;
        }
        if resp.canceled && resp.compact_revision == 0 {
            if let Some(handle) = self.active.remove(&resp.watch_id) {
                self.ready.push_back(Delivery::Closed(handle));
            }
            return;
        }
        let update = WatchUpdate {
            header,
            events: Some(resp.events),
            compact_revision: resp.compact_revision,
            canceled: resp.canceled,
            created: false,
            close_error: None,
            cancel_reason: resp.cancel_reason,
        };
        if update.is_progress_notify() && resp.watch_id == NO_WATCH {
            for handle in self.active.values() {
                self.ready
                    .push_back(Delivery::Update(*handle, update.clone()));
            }
            return;
        }
        let Some(handle) = self.active.get(&resp.watch_id).copied() else {
            self.cancel_unknown(resp.watch_id);
            return;
        };
        let state = &mut self.watches[handle];
        state.next_rev = match update.events.as_deref().and_then(<[Event]>::last) {
            Some(last) => last.kv.as_ref().map_or(0, |kv| kv.mod_revision) + 1,
            None => update.header.revision,
        };
        let ends = update.err().is_some();
        self.ready.push_back(Delivery::Update(handle, update));
        if ends {
            self.active.remove(&resp.watch_id);
            self.ready.push_back(Delivery::Closed(handle));
        }
    }

    /// Events for a watch nobody holds: ask the server to stop it, once.
    fn cancel_unknown(&mut self, watch_id: i64) {
        if !self.canceling.insert(watch_id) {
            return;
        }
        if let Some(tx) = &self.sender {
            let _ = tx.unbounded_send(WatchRequest {
                request_union: Some(RequestUnion::CancelRequest(WatchCancelRequest { watch_id })),
            });
        }
    }
}

fn is_no_leader(status: &tonic::Status) -> bool {
    status.message() == rpc_error::NO_LEADER
}

/// Creation answers clientv3 retries the stream for (`shouldRetryWatch`).
fn is_stale_auth(reason: &str) -> bool {
    reason == rpc_error::INVALID_AUTH_TOKEN || reason == rpc_error::AUTH_OLD_REVISION
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use api::pb::mvccpb::KeyValue;

    fn header(revision: i64) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            revision,
            ..Default::default()
        })
    }

    fn watcher() -> Watcher {
        let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
        Watcher {
            channel,
            metadata: MetadataMap::new(),
            require_leader: false,
            sender: None,
            responses: None,
            watches: Vec::new(),
            pending: VecDeque::new(),
            active: BTreeMap::new(),
            canceling: BTreeSet::new(),
            progress: 0,
            ready: VecDeque::new(),
            backoff: Duration::from_millis(1),
        }
    }

    fn put(key: &[u8], rev: i64) -> Event {
        Event {
            r#type: 0,
            kv: Some(KeyValue {
                key: key.to_vec(),
                mod_revision: rev,
                ..Default::default()
            }),
            prev_kv: None,
        }
    }

    #[tokio::test]
    async fn routes_by_watch_id_and_swallows_creation() {
        let mut w = watcher();
        let a = w.watch(WatchCreateRequest::default());
        let b = w.watch(WatchCreateRequest {
            start_revision: 7,
            ..Default::default()
        });
        for id in [0, 1] {
            w.absorb(WatchResponse {
                header: header(5),
                watch_id: id,
                created: true,
                ..Default::default()
            });
        }
        assert!(w.ready.is_empty());
        assert_eq!(w.watches[a].next_rev, 5);
        assert_eq!(w.watches[b].next_rev, 7);
        w.absorb(WatchResponse {
            header: header(9),
            watch_id: 1,
            events: vec![put(b"k", 9)],
            ..Default::default()
        });
        assert_eq!(w.watches[b].next_rev, 10);
        match w.next().await {
            Delivery::Update(h, u) => {
                assert_eq!(h, b);
                assert_eq!(u.events.unwrap().len(), 1);
            }
            other => panic!("{other:?}"),
        }
        w.absorb(WatchResponse {
            header: header(11),
            watch_id: NO_WATCH,
            ..Default::default()
        });
        let got: Vec<Delivery> = w.ready.drain(..).collect();
        assert_eq!(got.len(), 2, "progress goes to every watch");
    }

    #[tokio::test]
    async fn compaction_is_delivered_then_closes_and_plain_cancel_just_closes() {
        let mut w = watcher();
        let a = w.watch(WatchCreateRequest::default());
        let b = w.watch(WatchCreateRequest::default());
        for id in [0, 1] {
            w.absorb(WatchResponse {
                header: header(3),
                watch_id: id,
                created: true,
                ..Default::default()
            });
        }
        w.absorb(WatchResponse {
            header: header(0),
            watch_id: 0,
            canceled: true,
            compact_revision: 2,
            ..Default::default()
        });
        match w.next().await {
            Delivery::Update(h, u) => {
                assert_eq!(h, a);
                assert_eq!(
                    u.err().unwrap(),
                    "etcdserver: mvcc: required revision has been compacted"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(w.next().await, Delivery::Closed(a));
        w.absorb(WatchResponse {
            watch_id: 1,
            canceled: true,
            ..Default::default()
        });
        assert_eq!(w.next().await, Delivery::Closed(b));
    }

    #[tokio::test]
    async fn a_failed_creation_reports_the_reason() {
        let mut w = watcher();
        let a = w.watch(WatchCreateRequest::default());
        w.absorb(WatchResponse {
            header: header(3),
            watch_id: NO_WATCH,
            created: true,
            canceled: true,
            cancel_reason: "mvcc: watcher range is empty".into(),
            ..Default::default()
        });
        match w.next().await {
            Delivery::Update(h, u) => {
                assert_eq!(h, a);
                assert!(u.canceled && u.events.is_none());
                assert_eq!(u.err().unwrap(), "mvcc: watcher range is empty");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn progress_notify_and_errors_follow_clientv3() {
        let progress = WatchUpdate {
            header: ResponseHeader {
                revision: 4,
                ..Default::default()
            },
            events: Some(Vec::new()),
            ..Default::default()
        };
        assert!(progress.is_progress_notify());
        assert_eq!(progress.err(), None);
        let canceled = WatchUpdate {
            canceled: true,
            cancel_reason: "etcdserver: permission denied".into(),
            ..Default::default()
        };
        assert_eq!(canceled.err().unwrap(), "etcdserver: permission denied");
        let other = WatchUpdate {
            canceled: true,
            cancel_reason: "odd".into(),
            ..Default::default()
        };
        assert_eq!(
            other.err().unwrap(),
            "rpc error: code = FailedPrecondition desc = odd"
        );
    }
}
