//! The Maintenance service: status, hashes, alarms and defragmentation.

use std::sync::Arc;

use api::pb::etcdserverpb::{
    AlarmRequest, AlarmResponse, DefragmentRequest, DefragmentResponse, HashKvRequest,
    HashKvResponse, HashRequest, HashResponse, MoveLeaderRequest, MoveLeaderResponse,
    SnapshotRequest, SnapshotResponse, StatusRequest, StatusResponse, maintenance_server,
};
use api::{Error, HeaderSource, Maintenance};
use tonic::{Request, Response, Status};

use crate::metrics::{CallType, GrpcMetrics, Method};
use crate::{header, unary};

pub struct CheckedMaintenance {
    pub(crate) inner: Arc<dyn Maintenance>,
    pub(crate) header: Arc<dyn HeaderSource>,
}

#[async_trait::async_trait]
impl Maintenance for CheckedMaintenance {
    async fn alarm(&self, req: AlarmRequest) -> Result<AlarmResponse, Error> {
        let mut resp = self.inner.alarm(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn status(&self, req: StatusRequest) -> Result<StatusResponse, Error> {
        let mut resp = self.inner.status(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn defragment(&self, req: DefragmentRequest) -> Result<DefragmentResponse, Error> {
        let mut resp = self.inner.defragment(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn hash(&self, req: HashRequest) -> Result<HashResponse, Error> {
        let mut resp = self.inner.hash(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn hash_kv(&self, req: HashKvRequest) -> Result<HashKvResponse, Error> {
        let mut resp = self.inner.hash_kv(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn move_leader(&self, req: MoveLeaderRequest) -> Result<MoveLeaderResponse, Error> {
        let mut resp = self.inner.move_leader(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }
}

pub struct GrpcMaintenance {
    pub(crate) maintenance: Arc<dyn Maintenance>,
    pub(crate) metrics: GrpcMetrics,
}

const fn method(name: &'static str) -> Method {
    Method {
        service: "etcdserverpb.Maintenance",
        name,
        kind: CallType::Unary,
    }
}

pub type SnapshotStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<SnapshotResponse, Status>> + Send>>;

#[tonic::async_trait]
impl maintenance_server::Maintenance for GrpcMaintenance {
    type SnapshotStream = SnapshotStream;

    async fn alarm(&self, req: Request<AlarmRequest>) -> Result<Response<AlarmResponse>, Status> {
        unary(
            &self.metrics,
            method("Alarm"),
            self.maintenance.alarm(req.into_inner()),
        )
        .await
    }

    async fn status(
        &self,
        req: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        unary(
            &self.metrics,
            method("Status"),
            self.maintenance.status(req.into_inner()),
        )
        .await
    }

    async fn defragment(
        &self,
        req: Request<DefragmentRequest>,
    ) -> Result<Response<DefragmentResponse>, Status> {
        unary(
            &self.metrics,
            method("Defragment"),
            self.maintenance.defragment(req.into_inner()),
        )
        .await
    }

    async fn hash(&self, req: Request<HashRequest>) -> Result<Response<HashResponse>, Status> {
        unary(
            &self.metrics,
            method("Hash"),
            self.maintenance.hash(req.into_inner()),
        )
        .await
    }

    async fn hash_kv(
        &self,
        req: Request<HashKvRequest>,
    ) -> Result<Response<HashKvResponse>, Status> {
        unary(
            &self.metrics,
            method("HashKV"),
            self.maintenance.hash_kv(req.into_inner()),
        )
        .await
    }

    async fn snapshot(
        &self,
        _req: Request<SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        Err(Status::unimplemented(
            "snapshot is not supported by this server yet",
        ))
    }

    async fn move_leader(
        &self,
        req: Request<MoveLeaderRequest>,
    ) -> Result<Response<MoveLeaderResponse>, Status> {
        unary(
            &self.metrics,
            method("MoveLeader"),
            self.maintenance.move_leader(req.into_inner()),
        )
        .await
    }
}
