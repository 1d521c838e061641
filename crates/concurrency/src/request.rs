//! The pieces of the transactions elections and locks are made of, and
//! reading their answers.

use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use api::pb::etcdserverpb::request_op::Request;
use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RangeResponse, RequestOp,
    ResponseHeader, TxnResponse,
};

use crate::Error;

/// `key` was created at `revision` (0: `key` does not exist).
pub(crate) fn created_at(key: &[u8], revision: i64) -> Compare {
    Compare {
        result: CompareResult::Equal as i32,
        target: CompareTarget::Create as i32,
        key: key.to_vec(),
        range_end: Vec::new(),
        target_union: Some(TargetUnion::CreateRevision(revision)),
    }
}

pub(crate) fn put(key: &[u8], value: Vec<u8>, lease: i64) -> RequestOp {
    op(Request::RequestPut(PutRequest {
        key: key.to_vec(),
        value,
        lease,
        ..PutRequest::default()
    }))
}

pub(crate) fn get(range: RangeRequest) -> RequestOp {
    op(Request::RequestRange(range))
}

pub(crate) fn get_key(key: &[u8]) -> RequestOp {
    get(RangeRequest {
        key: key.to_vec(),
        ..RangeRequest::default()
    })
}

pub(crate) fn delete(key: &[u8]) -> DeleteRangeRequest {
    DeleteRangeRequest {
        key: key.to_vec(),
        ..DeleteRangeRequest::default()
    }
}

pub(crate) fn delete_op(key: &[u8]) -> RequestOp {
    op(Request::RequestDeleteRange(delete(key)))
}

fn op(request: Request) -> RequestOp {
    RequestOp {
        request: Some(request),
    }
}

/// The answer of the `index`th operation of the branch that ran, if it was
/// a range.
pub(crate) fn range_result(resp: &TxnResponse, index: usize) -> Option<&RangeResponse> {
    match resp.responses.get(index)?.response.as_ref()? {
        Response::ResponseRange(range) => Some(range),
        _ => None,
    }
}

/// Revisions are read off headers, so a response without one cannot be
/// used.
pub(crate) fn header(header: Option<ResponseHeader>) -> Result<ResponseHeader, Error> {
    header.ok_or(Error::UnexpectedResponse("a response without a header"))
}
