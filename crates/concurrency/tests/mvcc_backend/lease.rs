//! Leases as the store keeps them; nothing expires and nothing is kept
//! alive, which these services never need.

use std::sync::atomic::Ordering;

use api::pb::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use api::{Error, RequestStream, ResponseStream};
use futures::stream;

use super::Backend;

fn unimplemented() -> Error {
    Error::Unimplemented("not needed by the concurrency tests".into())
}

#[async_trait::async_trait]
impl api::Lease for Backend {
    async fn lease_grant(&self, req: LeaseGrantRequest) -> Result<LeaseGrantResponse, Error> {
        let id = if req.id == 0 {
            self.next_lease.fetch_add(1, Ordering::Relaxed)
        } else {
            req.id
        };
        let mut batch = self.store.write_batch()?;
        batch.lease_grant(id, req.ttl)?;
        batch.commit(false)?;
        Ok(LeaseGrantResponse {
            header: self.header(),
            id,
            ttl: req.ttl,
            error: String::new(),
        })
    }

    async fn lease_revoke(&self, req: LeaseRevokeRequest) -> Result<LeaseRevokeResponse, Error> {
        let mut batch = self.store.write_batch()?;
        batch.lease_revoke(req.id)?;
        batch.commit(false)?;
        Ok(LeaseRevokeResponse {
            header: self.header(),
        })
    }

    async fn lease_keep_alive(
        &self,
        _requests: RequestStream<LeaseKeepAliveRequest>,
    ) -> ResponseStream<LeaseKeepAliveResponse> {
        Box::pin(stream::iter([Err(unimplemented())]))
    }

    async fn lease_time_to_live(
        &self,
        _req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, Error> {
        Err(unimplemented())
    }

    async fn lease_leases(&self, _req: LeaseLeasesRequest) -> Result<LeaseLeasesResponse, Error> {
        Err(unimplemented())
    }
}
