//! The stand-in for a service the server does not offer. Every call fails
//! the way etcd's gRPC server fails a call to a service it has not
//! registered, which its gateway passes on: Unimplemented, "unknown service
//! <full name>". Requests are still decoded first, as Go's gateway decodes
//! before it calls.

use api::pb::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use api::pb::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderRequest, LeaderResponse, ProclaimRequest,
    ProclaimResponse, ResignRequest, ResignResponse,
};
use api::pb::v3lockpb::{LockRequest, LockResponse, UnlockRequest, UnlockResponse};
use api::{Election, Error, Lease, Lock, RequestStream, ResponseStream};
use futures::stream;

const LEASE: &str = "etcdserverpb.Lease";
const ELECTION: &str = "v3electionpb.Election";
const LOCK: &str = "v3lockpb.Lock";

/// Answers every call of the service it stands in for with Unimplemented.
pub(crate) struct UnknownService;

fn unknown(service: &str) -> Error {
    Error::Unimplemented(format!("unknown service {service}"))
}

fn failed_stream<T: Send + 'static>(service: &str) -> ResponseStream<T> {
    Box::pin(stream::iter([Err(unknown(service))]))
}

#[async_trait::async_trait]
impl Lease for UnknownService {
    async fn lease_grant(&self, _: LeaseGrantRequest) -> Result<LeaseGrantResponse, Error> {
        Err(unknown(LEASE))
    }

    async fn lease_revoke(&self, _: LeaseRevokeRequest) -> Result<LeaseRevokeResponse, Error> {
        Err(unknown(LEASE))
    }

    async fn lease_keep_alive(
        &self,
        _: RequestStream<LeaseKeepAliveRequest>,
    ) -> ResponseStream<LeaseKeepAliveResponse> {
        failed_stream(LEASE)
    }

    async fn lease_time_to_live(
        &self,
        _: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, Error> {
        Err(unknown(LEASE))
    }

    async fn lease_leases(&self, _: LeaseLeasesRequest) -> Result<LeaseLeasesResponse, Error> {
        Err(unknown(LEASE))
    }
}

#[async_trait::async_trait]
impl Election for UnknownService {
    async fn campaign(&self, _: CampaignRequest) -> Result<CampaignResponse, Error> {
        Err(unknown(ELECTION))
    }

    async fn proclaim(&self, _: ProclaimRequest) -> Result<ProclaimResponse, Error> {
        Err(unknown(ELECTION))
    }

    async fn leader(&self, _: LeaderRequest) -> Result<LeaderResponse, Error> {
        Err(unknown(ELECTION))
    }

    async fn observe(&self, _: LeaderRequest) -> ResponseStream<LeaderResponse> {
        failed_stream(ELECTION)
    }

    async fn resign(&self, _: ResignRequest) -> Result<ResignResponse, Error> {
        Err(unknown(ELECTION))
    }
}

#[async_trait::async_trait]
impl Lock for UnknownService {
    async fn lock(&self, _: LockRequest) -> Result<LockResponse, Error> {
        Err(unknown(LOCK))
    }

    async fn unlock(&self, _: UnlockRequest) -> Result<UnlockResponse, Error> {
        Err(unknown(LOCK))
    }
}
