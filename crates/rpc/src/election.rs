//! The v3election and v3lock services: headers filled, errors mapped,
//! calls counted.

use std::sync::Arc;

use api::pb::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderRequest, LeaderResponse, ProclaimRequest,
    ProclaimResponse, ResignRequest, ResignResponse, election_server,
};
use api::pb::v3lockpb::{LockRequest, LockResponse, UnlockRequest, UnlockResponse, lock_server};
use api::{Election, Error, HeaderSource, Lock, ResponseStream};
use futures::StreamExt;
use tonic::{Request, Response, Status};

use crate::metrics::{CallGuard, CallType, Counted, GrpcMetrics, Method};
use crate::status::to_status;
use crate::{header, unary};

pub struct CheckedElection {
    pub(crate) inner: Arc<dyn Election>,
    pub(crate) header: Arc<dyn HeaderSource>,
}

#[async_trait::async_trait]
impl Election for CheckedElection {
    async fn campaign(&self, req: CampaignRequest) -> Result<CampaignResponse, Error> {
        let mut resp = self.inner.campaign(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn proclaim(&self, req: ProclaimRequest) -> Result<ProclaimResponse, Error> {
        let mut resp = self.inner.proclaim(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn leader(&self, req: LeaderRequest) -> Result<LeaderResponse, Error> {
        let mut resp = self.inner.leader(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn observe(&self, req: LeaderRequest) -> ResponseStream<LeaderResponse> {
        let source = Arc::clone(&self.header);
        let responses = self.inner.observe(req).await;
        Box::pin(responses.map(move |item| {
            item.map(|mut resp| {
                header::fill(source.as_ref(), &mut resp.header);
                resp
            })
        }))
    }

    async fn resign(&self, req: ResignRequest) -> Result<ResignResponse, Error> {
        let mut resp = self.inner.resign(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }
}

pub struct CheckedLock {
    pub(crate) inner: Arc<dyn Lock>,
    pub(crate) header: Arc<dyn HeaderSource>,
}

#[async_trait::async_trait]
impl Lock for CheckedLock {
    async fn lock(&self, req: LockRequest) -> Result<LockResponse, Error> {
        let mut resp = self.inner.lock(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn unlock(&self, req: UnlockRequest) -> Result<UnlockResponse, Error> {
        let mut resp = self.inner.unlock(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }
}

pub struct GrpcElection {
    pub(crate) election: Arc<dyn Election>,
    pub(crate) metrics: GrpcMetrics,
}

const fn election_method(name: &'static str) -> Method {
    Method {
        service: "v3electionpb.Election",
        name,
        kind: CallType::Unary,
    }
}

const OBSERVE: Method = Method {
    service: "v3electionpb.Election",
    name: "Observe",
    kind: CallType::ServerStream,
};

pub type ObserveStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<LeaderResponse, Status>> + Send>>;

#[tonic::async_trait]
impl election_server::Election for GrpcElection {
    type ObserveStream = ObserveStream;

    async fn campaign(
        &self,
        req: Request<CampaignRequest>,
    ) -> Result<Response<CampaignResponse>, Status> {
        unary(
            &self.metrics,
            election_method("Campaign"),
            self.election.campaign(req.into_inner()),
        )
        .await
    }

    async fn proclaim(
        &self,
        req: Request<ProclaimRequest>,
    ) -> Result<Response<ProclaimResponse>, Status> {
        unary(
            &self.metrics,
            election_method("Proclaim"),
            self.election.proclaim(req.into_inner()),
        )
        .await
    }

    async fn leader(
        &self,
        req: Request<LeaderRequest>,
    ) -> Result<Response<LeaderResponse>, Status> {
        unary(
            &self.metrics,
            election_method("Leader"),
            self.election.leader(req.into_inner()),
        )
        .await
    }

    async fn observe(
        &self,
        req: Request<LeaderRequest>,
    ) -> Result<Response<Self::ObserveStream>, Status> {
        let guard = CallGuard::start(&self.metrics, OBSERVE);
        let responses = self
            .election
            .observe(req.into_inner())
            .await
            .map(|item| item.map_err(|err| to_status(&err)));
        Ok(Response::new(Box::pin(Counted::new(responses, guard))))
    }

    async fn resign(
        &self,
        req: Request<ResignRequest>,
    ) -> Result<Response<ResignResponse>, Status> {
        unary(
            &self.metrics,
            election_method("Resign"),
            self.election.resign(req.into_inner()),
        )
        .await
    }
}

pub struct GrpcLock {
    pub(crate) lock: Arc<dyn Lock>,
    pub(crate) metrics: GrpcMetrics,
}

const fn lock_method(name: &'static str) -> Method {
    Method {
        service: "v3lockpb.Lock",
        name,
        kind: CallType::Unary,
    }
}

#[tonic::async_trait]
impl lock_server::Lock for GrpcLock {
    async fn lock(&self, req: Request<LockRequest>) -> Result<Response<LockResponse>, Status> {
        unary(
            &self.metrics,
            lock_method("Lock"),
            self.lock.lock(req.into_inner()),
        )
        .await
    }

    async fn unlock(
        &self,
        req: Request<UnlockRequest>,
    ) -> Result<Response<UnlockResponse>, Status> {
        unary(
            &self.metrics,
            lock_method("Unlock"),
            self.lock.unlock(req.into_inner()),
        )
        .await
    }
}
