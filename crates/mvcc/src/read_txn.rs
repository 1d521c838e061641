//! Txns that only read (etcd's isTxnReadonly), served beside the write
//! path as etcd serves them: every compare and range of the txn reads the
//! same revision from one storage snapshot, so such a txn needs no write
//! batch, no raft entry, and never waits for the apply loop.

use api::pb::etcdserverpb::request_op::Request;
use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{
    RangeRequest, RangeResponse, ResponseHeader, ResponseOp, TxnRequest, TxnResponse,
};
use redb::ReadableDatabase;

use crate::store::Store;
use crate::tables::KV;
use crate::{Error, range, txn};

impl Store {
    /// Evaluates a txn whose branches only hold ranges. A txn that would
    /// write is refused: it must go through raft and a write batch.
    pub fn read_txn(&self, req: &TxnRequest) -> Result<TxnResponse, Error> {
        let core = &self.core;
        core.check()?;
        if !txn::is_read_only(req) {
            return Err(Error::Api(api::Error::InvalidArgument(
                "mvcc: a txn that writes cannot be served as a read".into(),
            )));
        }
        let (rev, compact_rev, snapshot) = {
            let shared = core.read_shared();
            // Taken under the lock, so it holds every revision up to `rev`.
            let snapshot = core.db.begin_read().map_err(Error::storage)?;
            (shared.current_rev, shared.compact_rev, snapshot)
        };
        let table = snapshot.open_table(KV).map_err(Error::storage)?;
        let mut reads = 0;
        let mut read = |r: &RangeRequest| -> Result<RangeResponse, Error> {
            reads += 1;
            let plan = range::plan(&core.read_shared().index, r, rev, compact_rev)?;
            range::execute(&table, r, plan)
        };

        let mut succeeded = true;
        for cmp in &req.compare {
            if !txn::compare_with(cmp, read(&txn::compare_range(cmp)))? {
                succeeded = false;
                break;
            }
        }
        let mut responses = Vec::new();
        for op in txn::chosen(req, succeeded) {
            let response = match &op.request {
                Some(Request::RequestRange(r)) => Some(Response::ResponseRange(read(r)?)),
                _ => None,
            };
            responses.push(ResponseOp { response });
        }
        core.counters.count_reads(reads);
        Ok(TxnResponse {
            header: Some(ResponseHeader {
                revision: rev,
                ..ResponseHeader::default()
            }),
            succeeded,
            responses,
        })
    }
}
