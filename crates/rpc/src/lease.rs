//! The Lease service. As etcd's v3rpc does, a TimeToLive of an unknown lease
//! is an answer (TTL -1), not an error, and a keepalive for an unknown lease
//! answers TTL 0; every answer carries a filled header.

use std::sync::Arc;

use api::pb::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, ResponseHeader, lease_server,
};
use api::{Error, HeaderSource, Lease, RequestStream, ResponseStream};
use futures::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::metrics::{CallGuard, CallType, Counted, GrpcMetrics, Method};
use crate::status::to_status;
use crate::{header, unary};

pub struct CheckedLease {
    pub(crate) inner: Arc<dyn Lease>,
    pub(crate) header: Arc<dyn HeaderSource>,
}

#[async_trait::async_trait]
impl Lease for CheckedLease {
    async fn lease_grant(&self, req: LeaseGrantRequest) -> Result<LeaseGrantResponse, Error> {
        let mut resp = self.inner.lease_grant(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn lease_revoke(&self, req: LeaseRevokeRequest) -> Result<LeaseRevokeResponse, Error> {
        let mut resp = self.inner.lease_revoke(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn lease_keep_alive(
        &self,
        requests: RequestStream<LeaseKeepAliveRequest>,
    ) -> ResponseStream<LeaseKeepAliveResponse> {
        let source = Arc::clone(&self.header);
        let responses = self.inner.lease_keep_alive(requests).await;
        Box::pin(responses.map(move |item| {
            item.map(|mut resp| {
                header::fill(source.as_ref(), &mut resp.header);
                resp
            })
        }))
    }

    async fn lease_time_to_live(
        &self,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, Error> {
        let id = req.id;
        let mut resp = match self.inner.lease_time_to_live(req).await {
            Err(Error::LeaseNotFound) => LeaseTimeToLiveResponse {
                header: Some(ResponseHeader::default()),
                id,
                ttl: -1,
                ..Default::default()
            },
            other => other?,
        };
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn lease_leases(&self, req: LeaseLeasesRequest) -> Result<LeaseLeasesResponse, Error> {
        let mut resp = self.inner.lease_leases(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }
}

pub struct GrpcLease {
    pub(crate) lease: Arc<dyn Lease>,
    pub(crate) metrics: GrpcMetrics,
}

const fn method(name: &'static str) -> Method {
    Method {
        service: "etcdserverpb.Lease",
        name,
        kind: CallType::Unary,
    }
}

const KEEP_ALIVE: Method = Method {
    service: "etcdserverpb.Lease",
    name: "LeaseKeepAlive",
    kind: CallType::BidiStream,
};

pub type KeepAliveStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<LeaseKeepAliveResponse, Status>> + Send>>;

#[tonic::async_trait]
impl lease_server::Lease for GrpcLease {
    type LeaseKeepAliveStream = KeepAliveStream;

    async fn lease_grant(
        &self,
        req: Request<LeaseGrantRequest>,
    ) -> Result<Response<LeaseGrantResponse>, Status> {
        unary(
            &self.metrics,
            method("LeaseGrant"),
            self.lease.lease_grant(req.into_inner()),
        )
        .await
    }

    async fn lease_revoke(
        &self,
        req: Request<LeaseRevokeRequest>,
    ) -> Result<Response<LeaseRevokeResponse>, Status> {
        unary(
            &self.metrics,
            method("LeaseRevoke"),
            self.lease.lease_revoke(req.into_inner()),
        )
        .await
    }

    async fn lease_keep_alive(
        &self,
        req: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Result<Response<Self::LeaseKeepAliveStream>, Status> {
        let guard = CallGuard::start(&self.metrics, KEEP_ALIVE);
        let metrics = self.metrics.clone();
        let requests = req
            .into_inner()
            .take_while(|r| futures::future::ready(r.is_ok()))
            .filter_map(move |r| {
                metrics.received(KEEP_ALIVE);
                futures::future::ready(r.ok())
            });
        let responses = self
            .lease
            .lease_keep_alive(Box::pin(requests))
            .await
            .map(|item| item.map_err(|err| to_status(&err)));
        Ok(Response::new(Box::pin(Counted::new(responses, guard))))
    }

    async fn lease_time_to_live(
        &self,
        req: Request<LeaseTimeToLiveRequest>,
    ) -> Result<Response<LeaseTimeToLiveResponse>, Status> {
        unary(
            &self.metrics,
            method("LeaseTimeToLive"),
            self.lease.lease_time_to_live(req.into_inner()),
        )
        .await
    }

    async fn lease_leases(
        &self,
        req: Request<LeaseLeasesRequest>,
    ) -> Result<Response<LeaseLeasesResponse>, Status> {
        unary(
            &self.metrics,
            method("LeaseLeases"),
            self.lease.lease_leases(req.into_inner()),
        )
        .await
    }
}
