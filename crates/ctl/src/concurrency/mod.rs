//! clientv3's concurrency recipes as etcdctl's `elect` and `lock` use them,
//! built on plain KV, Lease and Watch calls (not the v3election/v3lock
//! services): a [`session::Session`] is a lease kept alive in the
//! background, a candidate or lock waiter is the key `<name>/<lease id in
//! hex>` created under it, and the oldest such key (by create revision)
//! wins; the others wait, each for the deletion of the next older key.

pub mod deletion;
pub mod election;
pub mod mutex;
pub mod session;

use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use api::pb::etcdserverpb::range_request::{SortOrder, SortTarget};
use api::pb::etcdserverpb::request_op::Request;
use api::pb::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnResponse,
};

use crate::error::Error;
use crate::exit;
use crate::keys::prefix_end;

/// Go's `%x` of a lease id.
fn hex_id(id: i64) -> String {
    if id < 0 {
        format!("-{:x}", id.unsigned_abs())
    } else {
        format!("{id:x}")
    }
}

/// The key a session holds under `prefix` (which ends with `/`).
fn session_key(prefix: &[u8], lease: i64) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(hex_id(lease).as_bytes());
    key
}

/// `withTop(SortByCreateRevision, order)`: the one key under `prefix` with
/// the smallest or largest create revision.
fn by_create(prefix: &[u8], order: SortOrder) -> RangeRequest {
    RangeRequest {
        key: prefix.to_vec(),
        range_end: prefix_end(prefix),
        limit: 1,
        sort_order: order as i32,
        sort_target: SortTarget::Create as i32,
        ..Default::default()
    }
}

fn create_revision_is(key: &[u8], rev: i64) -> Compare {
    Compare {
        result: CompareResult::Equal as i32,
        target: CompareTarget::Create as i32,
        key: key.to_vec(),
        range_end: Vec::new(),
        target_union: Some(TargetUnion::CreateRevision(rev)),
    }
}

fn put(key: &[u8], value: &[u8], lease: i64) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestPut(PutRequest {
            key: key.to_vec(),
            value: value.to_vec(),
            lease,
            ..Default::default()
        })),
    }
}

fn get(req: RangeRequest) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestRange(req)),
    }
}

fn get_key(key: &[u8]) -> RequestOp {
    get(RangeRequest {
        key: key.to_vec(),
        ..Default::default()
    })
}

fn delete(key: &[u8]) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestDeleteRange(DeleteRangeRequest {
            key: key.to_vec(),
            ..Default::default()
        })),
    }
}

/// The first key of the range response at `index` of a txn's answers.
fn first_kv_of(resp: &TxnResponse, index: usize) -> Option<&api::pb::mvccpb::KeyValue> {
    use api::pb::etcdserverpb::response_op::Response;
    match resp.responses.get(index).and_then(|r| r.response.as_ref()) {
        Some(Response::ResponseRange(r)) => r.kvs.first(),
        _ => None,
    }
}

/// What Go does when a recipe indexes an answer that is not there.
fn missing() -> Error {
    Error::Panic("runtime error: index out of range [0] with length 0".to_string())
}

fn failed(text: &str) -> Error {
    Error::exit(exit::ERROR, text)
}
