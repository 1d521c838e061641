//! The service traits. The server implements them; the gRPC layer and the
//! gateway call them. They speak the generated etcd types and [`Error`], and
//! never tonic, so any front end can sit on top.

use std::pin::Pin;

use futures::Stream;

use crate::Error;
use crate::pb::etcdserverpb::{
    AlarmRequest, AlarmResponse, CompactionRequest, CompactionResponse, DefragmentRequest,
    DefragmentResponse, DeleteRangeRequest, DeleteRangeResponse, HashKvRequest, HashKvResponse,
    HashRequest, HashResponse, MemberListRequest, MemberListResponse, PutRequest, PutResponse,
    RangeRequest, RangeResponse, ResponseHeader, StatusRequest, StatusResponse, TxnRequest,
    TxnResponse, WatchRequest, WatchResponse,
};

/// A stream of requests from one client call.
pub type RequestStream<T> = Pin<Box<dyn Stream<Item = T> + Send>>;
/// A stream of answers to one client call; it ends after the first error.
pub type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

/// etcd's KV service.
#[async_trait::async_trait]
pub trait Kv: Send + Sync + 'static {
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, Error>;
    async fn put(&self, req: PutRequest) -> Result<PutResponse, Error>;
    async fn delete_range(&self, req: DeleteRangeRequest) -> Result<DeleteRangeResponse, Error>;
    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, Error>;
    async fn compact(&self, req: CompactionRequest) -> Result<CompactionResponse, Error>;
}

/// etcd's Watch service: one call multiplexes many watchers.
#[async_trait::async_trait]
pub trait Watch: Send + Sync + 'static {
    async fn watch(&self, requests: RequestStream<WatchRequest>) -> ResponseStream<WatchResponse>;
}

/// The parts of etcd's Maintenance service that read server state.
#[async_trait::async_trait]
pub trait Maintenance: Send + Sync + 'static {
    async fn alarm(&self, req: AlarmRequest) -> Result<AlarmResponse, Error>;
    async fn status(&self, req: StatusRequest) -> Result<StatusResponse, Error>;
    async fn defragment(&self, req: DefragmentRequest) -> Result<DefragmentResponse, Error>;
    async fn hash(&self, req: HashRequest) -> Result<HashResponse, Error>;
    async fn hash_kv(&self, req: HashKvRequest) -> Result<HashKvResponse, Error>;
}

/// etcd's Cluster service (membership); this member's view of it.
#[async_trait::async_trait]
pub trait Cluster: Send + Sync + 'static {
    async fn member_list(&self, req: MemberListRequest) -> Result<MemberListResponse, Error>;
}

/// Where response headers come from: the identity of this member and the
/// state it has applied.
pub trait HeaderSource: Send + Sync + 'static {
    /// A header with cluster id, member id, raft term and the current
    /// revision filled in.
    fn header(&self) -> ResponseHeader;
}
