//! The KV service: writes go through raft, reads are served from the store
//! (after a ReadIndex round unless the client asked for a serializable read).

use api::Error;
use api::pb::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
    InternalRaftRequest, PutRequest, PutResponse, RangeRequest, RangeResponse, TxnRequest,
    TxnResponse, request_op::Request,
};

use crate::apply::Applied;
use crate::error::storage_to_api;
use crate::server::EtcdServer;

fn unexpected(what: &Applied) -> Error {
    Error::Internal(format!("unexpected apply result {what:?}"))
}

/// etcd's isTxnReadonly: only ranges in both branches. Such a txn is
/// answered like a range, without a raft entry.
fn is_read_only(txn: &TxnRequest) -> bool {
    txn.success
        .iter()
        .chain(&txn.failure)
        .all(|op| matches!(op.request, Some(Request::RequestRange(_))))
}

/// A read-only txn whose every range asked for a serializable read.
fn is_serializable(txn: &TxnRequest) -> bool {
    txn.success
        .iter()
        .chain(&txn.failure)
        .all(|op| match &op.request {
            Some(Request::RequestRange(r)) => r.serializable,
            _ => false,
        })
}

#[async_trait::async_trait]
impl api::Kv for EtcdServer {
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, Error> {
        if !req.serializable {
            self.wait_linearizable().await?;
        }
        self.inner.store.range(&req).map_err(storage_to_api)
    }

    async fn put(&self, req: PutRequest) -> Result<PutResponse, Error> {
        let applied = self
            .raft_request(InternalRaftRequest {
                put: Some(req),
                ..Default::default()
            })
            .await?;
        match applied {
            Applied::Put(resp) => Ok(resp),
            other => Err(unexpected(&other)),
        }
    }

    async fn delete_range(&self, req: DeleteRangeRequest) -> Result<DeleteRangeResponse, Error> {
        let applied = self
            .raft_request(InternalRaftRequest {
                delete_range: Some(req),
                ..Default::default()
            })
            .await?;
        match applied {
            Applied::DeleteRange(resp) => Ok(resp),
            other => Err(unexpected(&other)),
        }
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, Error> {
        if is_read_only(&req) {
            if !is_serializable(&req) {
                self.wait_linearizable().await?;
            }
            return self.inner.store.read_txn(&req).map_err(storage_to_api);
        }
        let applied = self
            .raft_request(InternalRaftRequest {
                txn: Some(req),
                ..Default::default()
            })
            .await?;
        match applied {
            Applied::Txn(resp) => Ok(resp),
            other => Err(unexpected(&other)),
        }
    }

    async fn compact(&self, req: CompactionRequest) -> Result<CompactionResponse, Error> {
        let applied = self
            .raft_request(InternalRaftRequest {
                compaction: Some(req),
                ..Default::default()
            })
            .await?;
        match applied {
            Applied::Compaction(resp) => Ok(resp),
            other => Err(unexpected(&other)),
        }
    }
}
