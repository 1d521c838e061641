//! An in-memory stand-in for the server: every service trait, recording
//! what it was asked and answering with fixed, recognisable data or a
//! scripted error.

#![allow(dead_code, clippy::unwrap_used)]

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use api::pb::etcdserverpb::{
    AlarmMember, AlarmRequest, AlarmResponse, AlarmType, CompactionRequest, CompactionResponse,
    DefragmentRequest, DefragmentResponse, DeleteRangeRequest, DeleteRangeResponse, HashKvRequest,
    HashKvResponse, HashRequest, HashResponse, LeaseGrantRequest, LeaseGrantResponse,
    LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseLeasesRequest, LeaseLeasesResponse,
    LeaseRevokeRequest, LeaseRevokeResponse, LeaseStatus, LeaseTimeToLiveRequest,
    LeaseTimeToLiveResponse, Member, MemberListRequest, MemberListResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, ResponseHeader, ResponseOp, StatusRequest,
    StatusResponse, TxnRequest, TxnResponse, WatchRequest, WatchResponse, response_op,
    watch_request,
};
use api::pb::mvccpb::KeyValue;
use api::pb::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest,
    ProclaimResponse, ResignRequest, ResignResponse,
};
use api::pb::v3lockpb::{LockRequest, LockResponse, UnlockRequest, UnlockResponse};
use api::{
    Cluster, Election, Error, Kv, Lease, Lock, Maintenance, RequestStream, ResponseStream, Watch,
};
use bytes::Bytes;
use futures::channel::mpsc;
use futures::{Stream, StreamExt};
use gateway::{Gateway, GatewayBody, Limits, Services};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};

pub const CLUSTER_ID: u64 = 14841639068965178418;
pub const MEMBER_ID: u64 = 10276657743932975437;
/// The header every fake answer carries, as etcd writes it.
pub const HEADER_JSON: &str = r#"{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"2","raft_term":"3"}"#;

pub fn header() -> ResponseHeader {
    ResponseHeader {
        cluster_id: CLUSTER_ID,
        member_id: MEMBER_ID,
        revision: 2,
        raft_term: 3,
    }
}

/// The header of the etcd 3.4.23 the lease, election and lock answers were
/// recorded from, at `revision`.
pub fn etcd_header(revision: i64) -> ResponseHeader {
    ResponseHeader {
        cluster_id: 15118495548433857066,
        member_id: 13668033151171901709,
        revision,
        raft_term: 2,
    }
}

/// [`etcd_header`] as etcd writes it.
pub fn etcd_header_json(revision: i64) -> String {
    format!(
        r#"{{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"{revision}","raft_term":"2"}}"#
    )
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Range(RangeRequest),
    Put(PutRequest),
    DeleteRange(DeleteRangeRequest),
    Txn(TxnRequest),
    Compact(CompactionRequest),
    Alarm(AlarmRequest),
    Status(StatusRequest),
    Defragment(DefragmentRequest),
    Hash(HashRequest),
    HashKv(HashKvRequest),
    MemberList(MemberListRequest),
    LeaseGrant(LeaseGrantRequest),
    LeaseRevoke(LeaseRevokeRequest),
    LeaseKeepAlive(LeaseKeepAliveRequest),
    LeaseTimeToLive(LeaseTimeToLiveRequest),
    LeaseLeases(LeaseLeasesRequest),
    Campaign(CampaignRequest),
    Proclaim(ProclaimRequest),
    Leader(LeaderRequest),
    Observe(LeaderRequest),
    Resign(ResignRequest),
    Lock(LockRequest),
    Unlock(UnlockRequest),
}

/// The watch side: what the client sent, what the test sends back, and
/// whether the gateway let go of the response stream.
pub struct WatchSide {
    pub requests: Arc<Mutex<Vec<WatchRequest>>>,
    /// Set once the request stream has ended.
    pub requests_ended: Arc<AtomicBool>,
    /// Set once the response stream has been dropped.
    pub responses_dropped: Arc<AtomicBool>,
    events: mpsc::UnboundedSender<Result<WatchResponse, Error>>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Result<WatchResponse, Error>>>>,
}

/// A server stream the test feeds, and whether the gateway let go of it.
pub struct Outlet<T> {
    /// Set once the stream has been dropped.
    pub dropped: Arc<AtomicBool>,
    events: mpsc::UnboundedSender<Result<T, Error>>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Result<T, Error>>>>,
}

impl<T: Send + 'static> Default for Outlet<T> {
    fn default() -> Self {
        let (events, receiver) = mpsc::unbounded();
        Self {
            dropped: Arc::default(),
            events,
            receiver: Mutex::new(Some(receiver)),
        }
    }
}

impl<T: Send + 'static> Outlet<T> {
    /// Sends a response (or error) down the open stream.
    pub fn send(&self, event: Result<T, Error>) {
        self.events.unbounded_send(event).unwrap();
    }

    /// Ends the stream cleanly.
    pub fn close(&self) {
        self.events.close_channel();
    }

    fn open(&self) -> ResponseStream<T> {
        let receiver = self.receiver.lock().unwrap().take().unwrap();
        Box::pin(DropFlag {
            inner: receiver,
            dropped: Arc::clone(&self.dropped),
        })
    }
}

#[derive(Default)]
pub struct Fake {
    pub calls: Arc<Mutex<Vec<Call>>>,
    /// Returned by the next unary call (or keepalive answer) instead of an
    /// answer.
    pub fail_next: Arc<Mutex<Option<Error>>>,
    pub watch: WatchSideCell,
    pub observe: Outlet<LeaderResponse>,
    /// Set once the request stream of a keepalive has ended.
    pub keep_alive_requests_ended: Arc<AtomicBool>,
    /// Makes campaign and lock wait until dropped, as they do while
    /// someone else leads or holds the lock.
    pub hold: AtomicBool,
    /// Set once a held call has been dropped (cancelled).
    pub held_dropped: Arc<AtomicBool>,
}

/// The watch side, created on first use.
#[derive(Default)]
pub struct WatchSideCell(Mutex<Option<Arc<WatchSide>>>);

impl WatchSideCell {
    pub fn get(&self) -> Arc<WatchSide> {
        let mut cell = self.0.lock().unwrap();
        Arc::clone(cell.get_or_insert_with(|| {
            let (events, receiver) = mpsc::unbounded();
            Arc::new(WatchSide {
                requests: Arc::default(),
                requests_ended: Arc::default(),
                responses_dropped: Arc::default(),
                events,
                receiver: Mutex::new(Some(receiver)),
            })
        }))
    }
}

impl WatchSide {
    /// Sends a response (or error) down the open watch.
    pub fn send(&self, event: Result<WatchResponse, Error>) {
        self.events.unbounded_send(event).unwrap();
    }
}

impl Fake {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The gateway over every service of this fake.
    pub fn gateway(self: &Arc<Self>, limits: Limits) -> Gateway {
        Gateway::new(
            Services {
                lease: Some(Arc::clone(self) as Arc<dyn Lease>),
                election: Some(Arc::clone(self) as Arc<dyn Election>),
                lock: Some(Arc::clone(self) as Arc<dyn Lock>),
                ..self.required_services()
            },
            limits,
        )
    }

    /// The gateway over a server that has no lease, election or lock
    /// service.
    pub fn gateway_without_optional_services(self: &Arc<Self>) -> Gateway {
        Gateway::new(self.required_services(), Limits::default())
    }

    fn required_services(self: &Arc<Self>) -> Services {
        Services {
            kv: Arc::clone(self) as Arc<dyn Kv>,
            watch: Arc::clone(self) as Arc<dyn Watch>,
            maintenance: Arc::clone(self) as Arc<dyn Maintenance>,
            cluster: Arc::clone(self) as Arc<dyn Cluster>,
            lease: None,
            election: None,
            lock: None,
        }
    }

    /// Waits forever if [`Fake::hold`] is set, flagging the drop.
    async fn maybe_hold(&self) {
        if self.hold.load(Ordering::SeqCst) {
            let _guard = DropFlag {
                inner: futures::stream::empty::<()>(),
                dropped: Arc::clone(&self.held_dropped),
            };
            futures::future::pending::<()>().await;
        }
    }

    pub fn fail_next(&self, err: Error) {
        *self.fail_next.lock().unwrap() = Some(err);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, call: Call) -> Result<(), Error> {
        self.calls.lock().unwrap().push(call);
        match self.fail_next.lock().unwrap().take() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl Kv for Fake {
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, Error> {
        self.record(Call::Range(req.clone()))?;
        Ok(RangeResponse {
            header: Some(header()),
            kvs: vec![KeyValue {
                key: req.key,
                create_revision: 2,
                mod_revision: 2,
                version: 1,
                value: b"bar".to_vec(),
                lease: 0,
            }],
            more: false,
            count: 1,
        })
    }

    async fn put(&self, req: PutRequest) -> Result<PutResponse, Error> {
        self.record(Call::Put(req))?;
        Ok(PutResponse {
            header: Some(header()),
            prev_kv: None,
        })
    }

    async fn delete_range(&self, req: DeleteRangeRequest) -> Result<DeleteRangeResponse, Error> {
        self.record(Call::DeleteRange(req))?;
        Ok(DeleteRangeResponse {
            header: Some(header()),
            deleted: 1,
            prev_kvs: vec![],
        })
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, Error> {
        self.record(Call::Txn(req.clone()))?;
        // etcd refuses operations that carry no request.
        if req.success.iter().any(|op| op.request.is_none()) {
            return Err(Error::KeyNotFound);
        }
        Ok(TxnResponse {
            header: Some(header()),
            succeeded: true,
            responses: vec![ResponseOp {
                response: Some(response_op::Response::ResponsePut(PutResponse {
                    header: Some(ResponseHeader {
                        revision: 2,
                        ..Default::default()
                    }),
                    prev_kv: None,
                })),
            }],
        })
    }

    async fn compact(&self, req: CompactionRequest) -> Result<CompactionResponse, Error> {
        self.record(Call::Compact(req))?;
        Ok(CompactionResponse {
            header: Some(header()),
        })
    }
}

#[async_trait::async_trait]
impl Maintenance for Fake {
    async fn alarm(&self, req: AlarmRequest) -> Result<AlarmResponse, Error> {
        self.record(Call::Alarm(req))?;
        Ok(AlarmResponse {
            header: Some(header()),
            alarms: vec![AlarmMember {
                member_id: MEMBER_ID,
                alarm: AlarmType::Nospace as i32,
            }],
        })
    }

    async fn status(&self, req: StatusRequest) -> Result<StatusResponse, Error> {
        self.record(Call::Status(req))?;
        Ok(StatusResponse {
            header: Some(header()),
            version: "3.4.23".into(),
            db_size: 20480,
            leader: MEMBER_ID,
            raft_index: 5,
            raft_term: 3,
            raft_applied_index: 5,
            errors: vec![],
            db_size_in_use: 16384,
            is_learner: false,
        })
    }

    async fn defragment(&self, req: DefragmentRequest) -> Result<DefragmentResponse, Error> {
        self.record(Call::Defragment(req))?;
        Ok(DefragmentResponse { header: None })
    }

    async fn hash(&self, req: HashRequest) -> Result<HashResponse, Error> {
        self.record(Call::Hash(req))?;
        Ok(HashResponse {
            header: Some(header()),
            hash: 2833519315,
        })
    }

    async fn hash_kv(&self, req: HashKvRequest) -> Result<HashKvResponse, Error> {
        self.record(Call::HashKv(req))?;
        Ok(HashKvResponse {
            header: Some(header()),
            hash: 1,
            compact_revision: 1,
        })
    }
}

#[async_trait::async_trait]
impl Cluster for Fake {
    async fn member_list(&self, req: MemberListRequest) -> Result<MemberListResponse, Error> {
        self.record(Call::MemberList(req))?;
        Ok(MemberListResponse {
            header: Some(ResponseHeader {
                revision: 0,
                ..header()
            }),
            members: vec![Member {
                id: MEMBER_ID,
                name: "gw".into(),
                peer_ur_ls: vec!["http://127.0.0.1:2380".into()],
                client_ur_ls: vec!["http://127.0.0.1:2379".into()],
                is_learner: false,
            }],
        })
    }
}

#[async_trait::async_trait]
impl Watch for Fake {
    /// Answers each create request with `created` and each cancel with
    /// `canceled`; anything else comes from [`WatchSide::send`].
    async fn watch(
        &self,
        mut requests: RequestStream<WatchRequest>,
    ) -> ResponseStream<WatchResponse> {
        let side = self.watch.get();
        let receiver = side.receiver.lock().unwrap().take().unwrap();
        let replies = side.events.clone();
        let seen = Arc::clone(&side.requests);
        let ended = Arc::clone(&side.requests_ended);
        tokio::spawn(async move {
            while let Some(req) = requests.next().await {
                seen.lock().unwrap().push(req.clone());
                let reply = match req.request_union {
                    Some(watch_request::RequestUnion::CreateRequest(create)) => WatchResponse {
                        header: Some(header()),
                        watch_id: create.watch_id,
                        created: true,
                        ..Default::default()
                    },
                    Some(watch_request::RequestUnion::CancelRequest(cancel)) => WatchResponse {
                        header: Some(header()),
                        watch_id: cancel.watch_id,
                        canceled: true,
                        ..Default::default()
                    },
                    _ => continue,
                };
                let _ = replies.unbounded_send(Ok(reply));
            }
            ended.store(true, Ordering::SeqCst);
        });
        Box::pin(DropFlag {
            inner: receiver,
            dropped: Arc::clone(&side.responses_dropped),
        })
    }
}

/// Lease answers shaped like etcd 3.4.23's for the same requests (see
/// tests/lease.rs): lease 999 is unknown, every other one was granted
/// with a TTL of 60 and has 56 seconds left.
#[async_trait::async_trait]
impl Lease for Fake {
    async fn lease_grant(&self, req: LeaseGrantRequest) -> Result<LeaseGrantResponse, Error> {
        self.record(Call::LeaseGrant(req))?;
        Ok(LeaseGrantResponse {
            header: Some(etcd_header(1)),
            id: if req.id == 0 {
                4111120205334748679
            } else {
                req.id
            },
            ttl: req.ttl,
            error: String::new(),
        })
    }

    async fn lease_revoke(&self, req: LeaseRevokeRequest) -> Result<LeaseRevokeResponse, Error> {
        self.record(Call::LeaseRevoke(req))?;
        Ok(LeaseRevokeResponse {
            header: Some(etcd_header(3)),
        })
    }

    /// Answers each request in turn, lease 999 with no TTL as etcd does
    /// for an unknown lease; a scripted failure ends the stream, and the
    /// stream ends when the requests do.
    async fn lease_keep_alive(
        &self,
        requests: RequestStream<LeaseKeepAliveRequest>,
    ) -> ResponseStream<LeaseKeepAliveResponse> {
        let state = (
            requests,
            Arc::clone(&self.calls),
            Arc::clone(&self.fail_next),
            Arc::clone(&self.keep_alive_requests_ended),
        );
        Box::pin(futures::stream::unfold(Some(state), |state| async move {
            let (mut requests, calls, fail_next, ended) = state?;
            let Some(req) = requests.next().await else {
                ended.store(true, Ordering::SeqCst);
                return None;
            };
            calls.lock().unwrap().push(Call::LeaseKeepAlive(req));
            if let Some(err) = fail_next.lock().unwrap().take() {
                return Some((Err(err), None));
            }
            let answer = LeaseKeepAliveResponse {
                header: Some(etcd_header(2)),
                id: req.id,
                ttl: if req.id == 999 { 0 } else { 60 },
            };
            Some((Ok(answer), Some((requests, calls, fail_next, ended))))
        }))
    }

    async fn lease_time_to_live(
        &self,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, Error> {
        self.record(Call::LeaseTimeToLive(req))?;
        let known = req.id != 999;
        Ok(LeaseTimeToLiveResponse {
            header: Some(etcd_header(2)),
            id: req.id,
            ttl: if known { 56 } else { -1 },
            granted_ttl: if known { 60 } else { 0 },
            keys: if known && req.keys {
                vec![b"foo".to_vec()]
            } else {
                vec![]
            },
        })
    }

    async fn lease_leases(&self, req: LeaseLeasesRequest) -> Result<LeaseLeasesResponse, Error> {
        self.record(Call::LeaseLeases(req))?;
        Ok(LeaseLeasesResponse {
            header: Some(etcd_header(2)),
            leases: vec![
                LeaseStatus {
                    id: 4111120205334748679,
                },
                LeaseStatus { id: 123 },
            ],
        })
    }
}

/// Election answers shaped like etcd 3.4.23's (see tests/election.rs).
/// A missing leader key fails as etcd's election server fails it, with an
/// error gRPC reports as Unknown.
#[async_trait::async_trait]
impl Election for Fake {
    async fn campaign(&self, req: CampaignRequest) -> Result<CampaignResponse, Error> {
        self.record(Call::Campaign(req.clone()))?;
        self.maybe_hold().await;
        let mut key = req.name.clone();
        key.extend_from_slice(b"/4d");
        Ok(CampaignResponse {
            header: Some(etcd_header(4)),
            leader: Some(LeaderKey {
                name: req.name,
                key,
                rev: 4,
                lease: req.lease,
            }),
        })
    }

    async fn proclaim(&self, req: ProclaimRequest) -> Result<ProclaimResponse, Error> {
        self.record(Call::Proclaim(req.clone()))?;
        if req.leader.is_none() {
            return Err(missing_leader());
        }
        Ok(ProclaimResponse {
            header: Some(etcd_header(54)),
        })
    }

    async fn leader(&self, req: LeaderRequest) -> Result<LeaderResponse, Error> {
        self.record(Call::Leader(req))?;
        Ok(LeaderResponse {
            header: Some(etcd_header(4)),
            kv: Some(leader_kv()),
        })
    }

    async fn observe(&self, req: LeaderRequest) -> ResponseStream<LeaderResponse> {
        self.calls.lock().unwrap().push(Call::Observe(req));
        self.observe.open()
    }

    async fn resign(&self, req: ResignRequest) -> Result<ResignResponse, Error> {
        self.record(Call::Resign(req.clone()))?;
        if req.leader.is_none() {
            return Err(missing_leader());
        }
        Ok(ResignResponse {
            header: Some(etcd_header(55)),
        })
    }
}

/// etcd's `ErrMissingLeaderKey`, a plain Go error.
pub fn missing_leader() -> Error {
    Error::Internal("\"leader\" field must be provided".into())
}

/// The leader key of `/election-prefix` in the recorded etcd.
pub fn leader_kv() -> KeyValue {
    KeyValue {
        key: b"/election-prefix/4d".to_vec(),
        create_revision: 4,
        mod_revision: 4,
        version: 1,
        value: b"v1".to_vec(),
        lease: 77,
    }
}

#[async_trait::async_trait]
impl Lock for Fake {
    async fn lock(&self, req: LockRequest) -> Result<LockResponse, Error> {
        self.record(Call::Lock(req.clone()))?;
        self.maybe_hold().await;
        let mut key = req.name;
        key.extend_from_slice(b"/4d");
        Ok(LockResponse {
            header: Some(etcd_header(5)),
            key,
        })
    }

    async fn unlock(&self, req: UnlockRequest) -> Result<UnlockResponse, Error> {
        self.record(Call::Unlock(req))?;
        Ok(UnlockResponse {
            header: Some(etcd_header(10)),
        })
    }
}

/// A stream that raises a flag when dropped.
struct DropFlag<S> {
    inner: S,
    dropped: Arc<AtomicBool>,
}

impl<S: Stream + Unpin> Stream for DropFlag<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl<S> Drop for DropFlag<S> {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// A POST with `body`.
pub fn post(path: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post(path)
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

pub fn request(method: &str, path: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// The whole body of a response, as text.
pub async fn text(resp: Response<GatewayBody>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Status, content type and body of a finished response.
pub async fn answer(gateway: &Gateway, req: Request<Full<Bytes>>) -> (u16, String, String) {
    let resp = gateway.handle(req).await;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, text(resp).await)
}
