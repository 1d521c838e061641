//! Kv over the store: every write is one committed batch.

use api::Error;
use api::pb::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse,
};

use super::Backend;

#[async_trait::async_trait]
impl api::Kv for Backend {
    async fn range(&self, req: RangeRequest) -> Result<RangeResponse, Error> {
        Ok(self.store.range(&req)?)
    }

    async fn put(&self, req: PutRequest) -> Result<PutResponse, Error> {
        let mut batch = self.store.write_batch()?;
        let resp = batch.put(&req)?;
        batch.commit(false)?;
        Ok(resp)
    }

    async fn delete_range(&self, req: DeleteRangeRequest) -> Result<DeleteRangeResponse, Error> {
        let mut batch = self.store.write_batch()?;
        let resp = batch.delete_range(&req)?;
        batch.commit(false)?;
        Ok(resp)
    }

    async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, Error> {
        let mut batch = self.store.write_batch()?;
        let resp = batch.txn(&req)?;
        batch.commit(false)?;
        Ok(resp)
    }

    async fn compact(&self, req: CompactionRequest) -> Result<CompactionResponse, Error> {
        let mut batch = self.store.write_batch()?;
        let resp = batch.compact(&req)?;
        batch.commit(false)?;
        Ok(resp)
    }
}
