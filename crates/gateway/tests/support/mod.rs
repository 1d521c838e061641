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
    HashKvResponse, HashRequest, HashResponse, Member, MemberListRequest, MemberListResponse,
    PutRequest, PutResponse, RangeRequest, RangeResponse, ResponseHeader, ResponseOp,
    StatusRequest, StatusResponse, TxnRequest, TxnResponse, WatchRequest, WatchResponse,
    response_op, watch_request,
};
use api::pb::mvccpb::KeyValue;
use api::{Cluster, Error, Kv, Maintenance, RequestStream, ResponseStream, Watch};
use bytes::Bytes;
use futures::channel::mpsc;
use futures::{Stream, StreamExt};
use gateway::{Gateway, GatewayBody, Limits};
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

#[derive(Default)]
pub struct Fake {
    pub calls: Mutex<Vec<Call>>,
    /// Returned by the next unary call instead of an answer.
    pub fail_next: Mutex<Option<Error>>,
    pub watch: WatchSideCell,
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

    pub fn gateway(self: &Arc<Self>, limits: Limits) -> Gateway {
        Gateway::new(
            Arc::clone(self) as Arc<dyn Kv>,
            Arc::clone(self) as Arc<dyn Watch>,
            Arc::clone(self) as Arc<dyn Maintenance>,
            Arc::clone(self) as Arc<dyn Cluster>,
            limits,
        )
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
