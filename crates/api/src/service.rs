//! The service traits. The server implements them; the gRPC layer and the
//! gateway call them. They speak the generated etcd types and [`Error`], and
//! never tonic, so any front end can sit on top.

use std::pin::Pin;

use futures::Stream;

use crate::Error;
use crate::pb::etcdserverpb::{
    AlarmRequest, AlarmResponse, CompactionRequest, CompactionResponse, DefragmentRequest,
    DefragmentResponse, DeleteRangeRequest, DeleteRangeResponse, HashKvRequest, HashKvResponse,
    HashRequest, HashResponse, LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest,
    LeaseKeepAliveResponse, LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest,
    LeaseRevokeResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, MemberAddRequest,
    MemberAddResponse, MemberListRequest, MemberListResponse, MemberPromoteRequest,
    MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse, MemberUpdateRequest,
    MemberUpdateResponse, MoveLeaderRequest, MoveLeaderResponse, PutRequest, PutResponse,
    RangeRequest, RangeResponse, ResponseHeader, StatusRequest, StatusResponse, TxnRequest,
    TxnResponse, WatchRequest, WatchResponse,
};
use crate::pb::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderRequest, LeaderResponse, ProclaimRequest,
    ProclaimResponse, ResignRequest, ResignResponse,
};
use crate::pb::v3lockpb::{LockRequest, LockResponse, UnlockRequest, UnlockResponse};

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

/// etcd's Lease service. Keepalives are one stream per client call.
#[async_trait::async_trait]
pub trait Lease: Send + Sync + 'static {
    async fn lease_grant(&self, req: LeaseGrantRequest) -> Result<LeaseGrantResponse, Error>;
    async fn lease_revoke(&self, req: LeaseRevokeRequest) -> Result<LeaseRevokeResponse, Error>;
    async fn lease_keep_alive(
        &self,
        requests: RequestStream<LeaseKeepAliveRequest>,
    ) -> ResponseStream<LeaseKeepAliveResponse>;
    async fn lease_time_to_live(
        &self,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, Error>;
    async fn lease_leases(&self, req: LeaseLeasesRequest) -> Result<LeaseLeasesResponse, Error>;
}

/// What a follower asks the leader for: leases live on the leader alone,
/// so keepalives and time-to-live are answered there, and only the leader
/// knows whether a learner has caught up enough to be promoted.
#[async_trait::async_trait]
pub trait LeaderLink: Send + Sync + 'static {
    async fn lease_renew(&self, leader: u64, id: i64) -> Result<i64, Error>;
    async fn lease_time_to_live(
        &self,
        leader: u64,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, Error>;
    async fn member_promote(
        &self,
        leader: u64,
        req: MemberPromoteRequest,
    ) -> Result<MemberPromoteResponse, Error>;
}

/// etcd's v3election service: leader election on keys, leases and watches.
#[async_trait::async_trait]
pub trait Election: Send + Sync + 'static {
    /// Waits until the caller leads the election (or fails).
    async fn campaign(&self, req: CampaignRequest) -> Result<CampaignResponse, Error>;
    async fn proclaim(&self, req: ProclaimRequest) -> Result<ProclaimResponse, Error>;
    async fn leader(&self, req: LeaderRequest) -> Result<LeaderResponse, Error>;
    /// Every leader in turn, starting with the current one.
    async fn observe(&self, req: LeaderRequest) -> ResponseStream<LeaderResponse>;
    async fn resign(&self, req: ResignRequest) -> Result<ResignResponse, Error>;
}

/// etcd's v3lock service: a distributed mutex held as long as a lease lives.
#[async_trait::async_trait]
pub trait Lock: Send + Sync + 'static {
    /// Waits until the caller holds the lock (or fails).
    async fn lock(&self, req: LockRequest) -> Result<LockResponse, Error>;
    async fn unlock(&self, req: UnlockRequest) -> Result<UnlockResponse, Error>;
}

/// The parts of etcd's Maintenance service that read server state.
#[async_trait::async_trait]
pub trait Maintenance: Send + Sync + 'static {
    async fn alarm(&self, req: AlarmRequest) -> Result<AlarmResponse, Error>;
    async fn status(&self, req: StatusRequest) -> Result<StatusResponse, Error>;
    async fn defragment(&self, req: DefragmentRequest) -> Result<DefragmentResponse, Error>;
    async fn hash(&self, req: HashRequest) -> Result<HashResponse, Error>;
    async fn hash_kv(&self, req: HashKvRequest) -> Result<HashKvResponse, Error>;
    /// Hands leadership to another voting member; answered by the leader.
    async fn move_leader(&self, _req: MoveLeaderRequest) -> Result<MoveLeaderResponse, Error> {
        Err(Error::Unimplemented(
            "move-leader is not supported by this server".into(),
        ))
    }
}

/// etcd's Cluster service (membership); this member's view of it.
#[async_trait::async_trait]
pub trait Cluster: Send + Sync + 'static {
    async fn member_list(&self, req: MemberListRequest) -> Result<MemberListResponse, Error>;
    async fn member_add(&self, _req: MemberAddRequest) -> Result<MemberAddResponse, Error> {
        Err(Error::Unimplemented(
            "membership changes are not supported by this server".into(),
        ))
    }
    async fn member_remove(
        &self,
        _req: MemberRemoveRequest,
    ) -> Result<MemberRemoveResponse, Error> {
        Err(Error::Unimplemented(
            "membership changes are not supported by this server".into(),
        ))
    }
    async fn member_update(
        &self,
        _req: MemberUpdateRequest,
    ) -> Result<MemberUpdateResponse, Error> {
        Err(Error::Unimplemented(
            "membership changes are not supported by this server".into(),
        ))
    }
    async fn member_promote(
        &self,
        _req: MemberPromoteRequest,
    ) -> Result<MemberPromoteResponse, Error> {
        Err(Error::Unimplemented(
            "membership changes are not supported by this server".into(),
        ))
    }
}

/// Where response headers come from: the identity of this member and the
/// state it has applied.
pub trait HeaderSource: Send + Sync + 'static {
    /// A header with cluster id, member id, raft term and the current
    /// revision filled in.
    fn header(&self) -> ResponseHeader;
}
