//! Txn requests as etcd's applier runs them. First the compares of the txn
//! and of every nested txn on the chosen path are evaluated against the
//! state before the txn (giving the "path" of success/failure choices, in
//! pre-order); then the chosen requests are checked (ignore_value/lease
//! puts need an existing key, a put naming a lease needs that lease, ranges
//! a readable revision); requests on branches not taken are never checked,
//! as in etcd. Only then are the requests applied in order, all under one
//! revision. etcd would panic on a check that passes before the txn but
//! fails while applying it (an ignore_value put after a delete of the same
//! key); here the txn is taken back and refused with the same error.

use std::cmp::Ordering;

use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use api::pb::etcdserverpb::request_op::Request;
use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{
    Compare, RangeRequest, RangeResponse, RequestOp, ResponseHeader, ResponseOp, TxnRequest,
    TxnResponse,
};
use api::pb::mvccpb::KeyValue;

use crate::Error;
use crate::apply::{Apply, Op, validate_put};
use crate::counters::Unit;
use crate::range;

impl Apply<'_, '_> {
    /// Runs a txn as one request.
    pub fn txn(&mut self, op: &mut Op, req: &TxnRequest) -> Result<TxnResponse, Error> {
        validate_ops(req)?;
        let mut read_unit = Unit::default();
        let checked = self.evaluate(op, req, &mut read_unit);
        let path = match checked {
            Ok(path) => path,
            Err(err) => {
                self.state.tally.close(read_unit);
                return Err(err);
            }
        };
        // etcd ends its read transaction before opening the write one, and
        // meters each separately; a read-only txn stays a single unit.
        let mut unit = if is_read_only(req) {
            read_unit
        } else {
            self.state.tally.close(read_unit);
            Unit::default()
        };
        let mut cursor = 0;
        let applied = self.apply_txn(op, req, &path, &mut cursor, &mut unit);
        self.state.tally.close(unit);
        let mut resp = applied?;
        let revision = if op.has_changes() {
            op.write_rev()
        } else {
            op.view_rev()
        };
        resp.header = Some(ResponseHeader {
            revision,
            ..ResponseHeader::default()
        });
        Ok(resp)
    }

    /// Compares along the chosen path, then the checks etcd makes before
    /// applying anything.
    fn evaluate(&self, op: &Op, req: &TxnRequest, unit: &mut Unit) -> Result<Vec<bool>, Error> {
        let mut path = Vec::new();
        self.compare_path(op, req, unit, &mut path)?;
        if !is_read_only(req) {
            let mut cursor = 0;
            visit_chosen(req, &path, &mut cursor, &mut |request| match request {
                Request::RequestPut(put) => {
                    if put.ignore_value || put.ignore_lease {
                        unit.ranges += 1;
                        if self.get(op, &put.key)?.is_none() {
                            return Err(api::Error::KeyNotFound.into());
                        }
                    }
                    self.require_lease(put.lease)
                }
                _ => Ok(()),
            })?;
        }
        let mut cursor = 0;
        let compact_rev = self.state.compact_rev;
        visit_chosen(req, &path, &mut cursor, &mut |request| match request {
            Request::RequestRange(r) if r.revision != 0 => {
                range::read_revision(r.revision, op.view_rev(), compact_rev).map(|_| ())
            }
            _ => Ok(()),
        })?;
        Ok(path)
    }

    fn compare_path(
        &self,
        op: &Op,
        req: &TxnRequest,
        unit: &mut Unit,
        path: &mut Vec<bool>,
    ) -> Result<(), Error> {
        let mut succeeded = true;
        for cmp in &req.compare {
            if !self.compare(op, cmp, unit)? {
                succeeded = false;
                break;
            }
        }
        path.push(succeeded);
        for request in chosen(req, succeeded) {
            if let Some(Request::RequestTxn(nested)) = &request.request {
                self.compare_path(op, nested, unit, path)?;
            }
        }
        Ok(())
    }

    /// etcd's applyCompare: every key in the compare's range must satisfy
    /// it; a missing key compares as an empty key-value, except that a
    /// value compare on nothing always fails.
    fn compare(&self, op: &Op, cmp: &Compare, unit: &mut Unit) -> Result<bool, Error> {
        unit.ranges += 1;
        compare_with(cmp, self.range(op, &compare_range(cmp)))
    }

    fn apply_txn(
        &mut self,
        op: &mut Op,
        req: &TxnRequest,
        path: &[bool],
        cursor: &mut usize,
        unit: &mut Unit,
    ) -> Result<TxnResponse, Error> {
        let succeeded = path.get(*cursor).copied().unwrap_or(false);
        *cursor += 1;
        let mut responses = Vec::new();
        for request in chosen(req, succeeded) {
            let response = match &request.request {
                Some(Request::RequestRange(r)) => {
                    unit.ranges += 1;
                    Some(Response::ResponseRange(self.range(op, r)?))
                }
                Some(Request::RequestPut(p)) => Some(Response::ResponsePut(self.put(op, p, unit)?)),
                Some(Request::RequestDeleteRange(d)) => Some(Response::ResponseDeleteRange(
                    self.delete_range(op, d, unit)?,
                )),
                Some(Request::RequestTxn(nested)) => {
                    let mut resp = self.apply_txn(op, nested, path, cursor, unit)?;
                    // etcd leaves nested txn headers empty
                    resp.header = Some(ResponseHeader::default());
                    Some(Response::ResponseTxn(resp))
                }
                None => None,
            };
            responses.push(ResponseOp { response });
        }
        Ok(TxnResponse {
            header: None,
            succeeded,
            responses,
        })
    }
}

/// The read a compare makes: every key in its range, at the txn's revision.
pub(crate) fn compare_range(cmp: &Compare) -> RangeRequest {
    RangeRequest {
        key: cmp.key.clone(),
        range_end: cmp.range_end.clone(),
        ..RangeRequest::default()
    }
}

/// etcd's applyCompare on what [`compare_range`] read: every key in the
/// compare's range must satisfy it; a missing key compares as an empty
/// key-value, except that a value compare on nothing always fails.
pub(crate) fn compare_with(
    cmp: &Compare,
    read: Result<RangeResponse, Error>,
) -> Result<bool, Error> {
    let kvs = match read {
        Ok(resp) => resp.kvs,
        Err(err) if err.is_request_error() => return Ok(false),
        Err(err) => return Err(err),
    };
    if kvs.is_empty() {
        if cmp.target == CompareTarget::Value as i32 {
            return Ok(false);
        }
        return Ok(compare_kv(cmp, &KeyValue::default()));
    }
    Ok(kvs.iter().all(|kv| compare_kv(cmp, kv)))
}

pub(crate) fn chosen(req: &TxnRequest, succeeded: bool) -> &[RequestOp] {
    if succeeded {
        &req.success
    } else {
        &req.failure
    }
}

/// etcd's isTxnReadonly: only ranges at the top level.
pub(crate) fn is_read_only(req: &TxnRequest) -> bool {
    req.success
        .iter()
        .chain(&req.failure)
        .all(|op| matches!(op.request, Some(Request::RequestRange(_))))
}

/// Calls `f` on every non-txn request of the chosen branches, consuming the
/// path in the same pre-order it was built in.
fn visit_chosen(
    req: &TxnRequest,
    path: &[bool],
    cursor: &mut usize,
    f: &mut dyn FnMut(&Request) -> Result<(), Error>,
) -> Result<(), Error> {
    let succeeded = path.get(*cursor).copied().unwrap_or(false);
    *cursor += 1;
    for request in chosen(req, succeeded) {
        match &request.request {
            Some(Request::RequestTxn(nested)) => visit_chosen(nested, path, cursor, f)?,
            Some(other) => f(other)?,
            None => {}
        }
    }
    Ok(())
}

/// The per-put checks of etcd's gRPC layer, on both branches of every
/// (nested) txn.
fn validate_ops(req: &TxnRequest) -> Result<(), Error> {
    for request in req.success.iter().chain(&req.failure) {
        match &request.request {
            Some(Request::RequestPut(put)) => validate_put(put)?,
            Some(Request::RequestTxn(nested)) => validate_ops(nested)?,
            _ => {}
        }
    }
    Ok(())
}

/// etcd's compareKV.
fn compare_kv(cmp: &Compare, kv: &KeyValue) -> bool {
    let int_target = |pick: fn(&TargetUnion) -> Option<i64>| {
        cmp.target_union.as_ref().and_then(pick).unwrap_or(0)
    };
    let ordering = match CompareTarget::try_from(cmp.target) {
        Ok(CompareTarget::Value) => {
            let wanted: &[u8] = match &cmp.target_union {
                Some(TargetUnion::Value(v)) => v,
                _ => &[],
            };
            kv.value.as_slice().cmp(wanted)
        }
        Ok(CompareTarget::Create) => kv.create_revision.cmp(&int_target(|t| match t {
            TargetUnion::CreateRevision(r) => Some(*r),
            _ => None,
        })),
        Ok(CompareTarget::Mod) => kv.mod_revision.cmp(&int_target(|t| match t {
            TargetUnion::ModRevision(r) => Some(*r),
            _ => None,
        })),
        Ok(CompareTarget::Version) => kv.version.cmp(&int_target(|t| match t {
            TargetUnion::Version(v) => Some(*v),
            _ => None,
        })),
        Ok(CompareTarget::Lease) => kv.lease.cmp(&int_target(|t| match t {
            TargetUnion::Lease(l) => Some(*l),
            _ => None,
        })),
        Err(_) => Ordering::Equal,
    };
    match CompareResult::try_from(cmp.result) {
        Ok(CompareResult::Equal) => ordering == Ordering::Equal,
        Ok(CompareResult::NotEqual) => ordering != Ordering::Equal,
        Ok(CompareResult::Greater) => ordering == Ordering::Greater,
        Ok(CompareResult::Less) => ordering == Ordering::Less,
        Err(_) => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cmp(target: CompareTarget, result: CompareResult, union: Option<TargetUnion>) -> Compare {
        Compare {
            result: result as i32,
            target: target as i32,
            key: b"k".to_vec(),
            range_end: Vec::new(),
            target_union: union,
        }
    }

    fn kv() -> KeyValue {
        KeyValue {
            key: b"k".to_vec(),
            create_revision: 2,
            mod_revision: 5,
            version: 3,
            value: b"bar".to_vec(),
            lease: 7,
        }
    }

    #[test]
    fn compare_each_target() {
        use CompareResult::*;
        use CompareTarget::*;
        let kv = kv();
        assert!(compare_kv(
            &cmp(Value, Equal, Some(TargetUnion::Value(b"bar".to_vec()))),
            &kv
        ));
        assert!(compare_kv(
            &cmp(Value, Greater, Some(TargetUnion::Value(b"ba".to_vec()))),
            &kv
        ));
        assert!(compare_kv(
            &cmp(Value, Less, Some(TargetUnion::Value(b"baz".to_vec()))),
            &kv
        ));
        assert!(compare_kv(
            &cmp(Create, Equal, Some(TargetUnion::CreateRevision(2))),
            &kv
        ));
        assert!(compare_kv(
            &cmp(Mod, Greater, Some(TargetUnion::ModRevision(4))),
            &kv
        ));
        assert!(compare_kv(
            &cmp(Version, NotEqual, Some(TargetUnion::Version(2))),
            &kv
        ));
        assert!(compare_kv(
            &cmp(Lease, Equal, Some(TargetUnion::Lease(7))),
            &kv
        ));
        assert!(!compare_kv(
            &cmp(Lease, Less, Some(TargetUnion::Lease(7))),
            &kv
        ));
    }

    #[test]
    fn mismatched_union_compares_against_zero() {
        use CompareTarget::*;
        let kv = kv();
        // a version compare carrying a mod revision: etcd compares with 0
        assert!(compare_kv(
            &cmp(
                Version,
                CompareResult::Greater,
                Some(TargetUnion::ModRevision(100))
            ),
            &kv
        ));
        assert!(compare_kv(&cmp(Value, CompareResult::Greater, None), &kv));
        assert!(compare_kv(
            &cmp(Create, CompareResult::Equal, None),
            &KeyValue::default()
        ));
    }

    #[test]
    fn unknown_result_is_true() {
        let mut c = cmp(
            CompareTarget::Version,
            CompareResult::Equal,
            Some(TargetUnion::Version(9)),
        );
        c.result = 42;
        assert!(compare_kv(&c, &kv()));
    }

    #[test]
    fn read_only_means_only_top_level_ranges() {
        let range = RequestOp {
            request: Some(Request::RequestRange(RangeRequest::default())),
        };
        let nested = RequestOp {
            request: Some(Request::RequestTxn(TxnRequest::default())),
        };
        assert!(is_read_only(&TxnRequest {
            success: vec![range.clone()],
            failure: vec![range.clone()],
            ..TxnRequest::default()
        }));
        assert!(!is_read_only(&TxnRequest {
            success: vec![range, nested],
            ..TxnRequest::default()
        }));
        assert!(is_read_only(&TxnRequest::default()));
    }
}
