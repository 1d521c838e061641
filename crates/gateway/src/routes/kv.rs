//! The KV service: range, put, delete, txn, compaction.

use std::sync::Arc;

use api::pb::etcdserverpb::{
    CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest,
};

use super::{Route, Services};
use crate::unary::{Unary, UnaryReply};

pub(super) const ROUTES: &[Route] = &[
    Route::unary("/v3/kv/range", range),
    Route::unary("/v3/kv/put", put),
    Route::unary("/v3/kv/deleterange", delete_range),
    Route::unary("/v3/kv/txn", txn),
    Route::unary("/v3/kv/compaction", compact),
];

fn range(services: &Services, call: Unary) -> UnaryReply {
    let kv = Arc::clone(&services.kv);
    call.call(
        "etcdserverpb.RangeRequest",
        move |req: RangeRequest| async move { kv.range(req).await },
    )
}

fn put(services: &Services, call: Unary) -> UnaryReply {
    let kv = Arc::clone(&services.kv);
    call.call(
        "etcdserverpb.PutRequest",
        move |req: PutRequest| async move { kv.put(req).await },
    )
}

fn delete_range(services: &Services, call: Unary) -> UnaryReply {
    let kv = Arc::clone(&services.kv);
    call.call(
        "etcdserverpb.DeleteRangeRequest",
        move |req: DeleteRangeRequest| async move { kv.delete_range(req).await },
    )
}

fn txn(services: &Services, call: Unary) -> UnaryReply {
    let kv = Arc::clone(&services.kv);
    call.call(
        "etcdserverpb.TxnRequest",
        move |req: TxnRequest| async move { kv.txn(req).await },
    )
}

fn compact(services: &Services, call: Unary) -> UnaryReply {
    let kv = Arc::clone(&services.kv);
    call.call(
        "etcdserverpb.CompactionRequest",
        move |req: CompactionRequest| async move { kv.compact(req).await },
    )
}
