//! Txns that only read (etcd's isTxnReadonly), served beside the write
//! path as etcd serves them: every compare and range of the txn reads the
//! same revision from one storage snapshot, so such a txn needs no write
//! batch, no raft entry, and never waits for the apply loop.

use api::pb::etcdserverpb::request_op::Request;
use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{
    RangeRequest, RangeResponse, ResponseHeader, ResponseOp, TxnRequest, TxnResponse,
};

use crate::store::Store;
use crate::tables::KV;
use crate::{Error, range, txn};

impl Store {
    /// Evaluates a txn whose branches only hold ranges. A txn that would
    /// write is refused: it must go through raft and a write batch.
    pub fn read_txn(&self, req: &TxnRequest) -> Result<TxnResponse, Error> {
        self.core.check()?;
        if !txn::is_read_only(req) {
            return Err(Error::Api(api::Error::InvalidArgument(
                "mvcc: a txn that writes cannot be served as a read".into(),
            )));
        }
        loop {
            if let Some(resp) = self.evaluate(req)? {
                return Ok(resp);
            }
        }
    }

    /// One evaluation on one storage snapshot; None when a restore replaced
    /// the contents meanwhile, so the index no longer describes the
    /// snapshot and the txn must start over.
    fn evaluate(&self, req: &TxnRequest) -> Result<Option<TxnResponse>, Error> {
        let core = &self.core;
        let (rev, compact_rev, generation, snapshot) = {
            let shared = core.read_shared();
            // Taken under the lock, so it holds every revision up to `rev`.
            let snapshot = shared.begin_read()?;
            (
                shared.current_rev,
                shared.compact_rev,
                shared.generation,
                snapshot,
            )
        };
        let table = snapshot.open_table(KV).map_err(Error::storage)?;
        let mut reads = 0;
        let mut read = |r: &RangeRequest| -> Option<Result<RangeResponse, Error>> {
            reads += 1;
            let plan = {
                let shared = core.read_shared();
                if shared.generation != generation {
                    return None;
                }
                range::plan(&shared.index, r, rev, compact_rev)
            };
            Some(plan.and_then(|plan| range::execute(&table, r, plan)))
        };

        let mut succeeded = true;
        for cmp in &req.compare {
            let Some(found) = read(&txn::compare_range(cmp)) else {
                return Ok(None);
            };
            if !txn::compare_with(cmp, found)? {
                succeeded = false;
                break;
            }
        }
        let mut responses = Vec::new();
        for op in txn::chosen(req, succeeded) {
            let response = match &op.request {
                Some(Request::RequestRange(r)) => {
                    let Some(found) = read(r) else {
                        return Ok(None);
                    };
                    Some(Response::ResponseRange(found?))
                }
                _ => None,
            };
            responses.push(ResponseOp { response });
        }
        core.counters.count_reads(reads);
        Ok(Some(TxnResponse {
            header: Some(ResponseHeader {
                revision: rev,
                ..ResponseHeader::default()
            }),
            succeeded,
            responses,
        }))
    }
}
