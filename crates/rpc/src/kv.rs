//! The KV service: checked and header-filled as [`api::Kv`] (what the
//! gateway calls), and served over gRPC by [`GrpcKv`].

use std::sync::Arc;

use api::pb::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse, kv_server,
};
use api::{Error, HeaderSource, Kv};
use tonic::{Request, Response, Status};

use crate::metrics::{CallType, GrpcMetrics, Method};
use crate::{check, header, unary};

/// [`Kv`] with etcd's request checks in front and headers filled behind.
pub struct CheckedKv {
    pub(crate) inner: Arc<dyn Kv>,
    pub(crate) header: Arc<dyn HeaderSource>,
    pub(crate) max_txn_ops: usize,
}

#[async_trait::async_trait]
impl Kv for CheckedKv {
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, Error> {
        check::range(&req)?;
        let mut resp = self.inner.range(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn put(&self, req: PutRequest) -> Result<PutResponse, Error> {
        check::put(&req)?;
        let mut resp = self.inner.put(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn delete_range(&self, req: DeleteRangeRequest) -> Result<DeleteRangeResponse, Error> {
        check::delete_range(&req)?;
        let mut resp = self.inner.delete_range(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, Error> {
        check::txn(&req, self.max_txn_ops)?;
        let mut resp = self.inner.txn(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }

    async fn compact(&self, req: CompactionRequest) -> Result<CompactionResponse, Error> {
        let mut resp = self.inner.compact(req).await?;
        header::fill(self.header.as_ref(), &mut resp.header);
        Ok(resp)
    }
}

/// The tonic face of a (checked) [`Kv`].
pub struct GrpcKv {
    pub(crate) kv: Arc<dyn Kv>,
    pub(crate) metrics: GrpcMetrics,
}

const fn method(name: &'static str) -> Method {
    Method {
        service: "etcdserverpb.KV",
        name,
        kind: CallType::Unary,
    }
}

#[tonic::async_trait]
impl kv_server::Kv for GrpcKv {
    async fn range(&self, req: Request<RangeRequest>) -> Result<Response<RangeResponse>, Status> {
        unary(
            &self.metrics,
            method("Range"),
            self.kv.range(req.into_inner()),
        )
        .await
    }

    async fn put(&self, req: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        unary(&self.metrics, method("Put"), self.kv.put(req.into_inner())).await
    }

    async fn delete_range(
        &self,
        req: Request<DeleteRangeRequest>,
    ) -> Result<Response<DeleteRangeResponse>, Status> {
        unary(
            &self.metrics,
            method("DeleteRange"),
            self.kv.delete_range(req.into_inner()),
        )
        .await
    }

    async fn txn(&self, req: Request<TxnRequest>) -> Result<Response<TxnResponse>, Status> {
        unary(&self.metrics, method("Txn"), self.kv.txn(req.into_inner())).await
    }

    async fn compact(
        &self,
        req: Request<CompactionRequest>,
    ) -> Result<Response<CompactionResponse>, Status> {
        unary(
            &self.metrics,
            method("Compact"),
            self.kv.compact(req.into_inner()),
        )
        .await
    }
}
