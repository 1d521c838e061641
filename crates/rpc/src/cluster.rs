//! The Cluster service: membership as this member sees it.

use std::sync::Arc;

use api::pb::etcdserverpb::{
    MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse, cluster_server,
};
use api::{Cluster, Error, HeaderSource};
use tonic::{Request, Response, Status};

use crate::metrics::{CallType, GrpcMetrics, Method};
use crate::{header, unary};

pub struct CheckedCluster {
    pub(crate) inner: Arc<dyn Cluster>,
    pub(crate) header: Arc<dyn HeaderSource>,
}

#[async_trait::async_trait]
impl Cluster for CheckedCluster {
    async fn member_list(&self, req: MemberListRequest) -> Result<MemberListResponse, Error> {
        let mut resp = self.inner.member_list(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn member_add(&self, req: MemberAddRequest) -> Result<MemberAddResponse, Error> {
        let mut resp = self.inner.member_add(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn member_remove(&self, req: MemberRemoveRequest) -> Result<MemberRemoveResponse, Error> {
        let mut resp = self.inner.member_remove(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn member_update(&self, req: MemberUpdateRequest) -> Result<MemberUpdateResponse, Error> {
        let mut resp = self.inner.member_update(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn member_promote(
        &self,
        req: MemberPromoteRequest,
    ) -> Result<MemberPromoteResponse, Error> {
        let mut resp = self.inner.member_promote(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }
}

pub struct GrpcCluster {
    pub(crate) cluster: Arc<dyn Cluster>,
    pub(crate) metrics: GrpcMetrics,
}

const fn method(name: &'static str) -> Method {
    Method {
        service: "etcdserverpb.Cluster",
        name,
        kind: CallType::Unary,
    }
}

#[tonic::async_trait]
impl cluster_server::Cluster for GrpcCluster {
    async fn member_add(
        &self,
        req: Request<MemberAddRequest>,
    ) -> Result<Response<MemberAddResponse>, Status> {
        unary(
            &self.metrics,
            method("MemberAdd"),
            self.cluster.member_add(req.into_inner()),
        )
        .await
    }

    async fn member_remove(
        &self,
        req: Request<MemberRemoveRequest>,
    ) -> Result<Response<MemberRemoveResponse>, Status> {
        unary(
            &self.metrics,
            method("MemberRemove"),
            self.cluster.member_remove(req.into_inner()),
        )
        .await
    }

    async fn member_update(
        &self,
        req: Request<MemberUpdateRequest>,
    ) -> Result<Response<MemberUpdateResponse>, Status> {
        unary(
            &self.metrics,
            method("MemberUpdate"),
            self.cluster.member_update(req.into_inner()),
        )
        .await
    }

    async fn member_list(
        &self,
        req: Request<MemberListRequest>,
    ) -> Result<Response<MemberListResponse>, Status> {
        unary(
            &self.metrics,
            method("MemberList"),
            self.cluster.member_list(req.into_inner()),
        )
        .await
    }

    async fn member_promote(
        &self,
        req: Request<MemberPromoteRequest>,
    ) -> Result<Response<MemberPromoteResponse>, Status> {
        unary(
            &self.metrics,
            method("MemberPromote"),
            self.cluster.member_promote(req.into_inner()),
        )
        .await
    }
}
