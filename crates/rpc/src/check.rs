//! The request checks etcd's gRPC layer makes before a request reaches the
//! server (etcdserver/api/v3rpc/key.go): empty keys, conflicting options,
//! the txn size limit and overlapping writes inside one txn.

use std::collections::HashSet;

use api::Error;
use api::pb::etcdserverpb::{
    DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, request_op::Request,
};

pub fn range(r: &RangeRequest) -> Result<(), Error> {
    if r.key.is_empty() {
        return Err(Error::EmptyKey);
    }
    Ok(())
}

pub fn put(r: &PutRequest) -> Result<(), Error> {
    if r.key.is_empty() {
        return Err(Error::EmptyKey);
    }
    if r.ignore_value && !r.value.is_empty() {
        return Err(Error::ValueProvided);
    }
    if r.ignore_lease && r.lease != 0 {
        return Err(Error::LeaseProvided);
    }
    Ok(())
}

pub fn delete_range(r: &DeleteRangeRequest) -> Result<(), Error> {
    if r.key.is_empty() {
        return Err(Error::EmptyKey);
    }
    Ok(())
}

/// Checks a txn: sizes and keys first, then (only if those pass, to keep the
/// cost linear in what was accepted) that no key is written twice.
pub fn txn(r: &TxnRequest, max_txn_ops: usize) -> Result<(), Error> {
    txn_shape(r, max_txn_ops)?;
    writes(&r.success)?;
    writes(&r.failure)?;
    Ok(())
}

/// Like etcd, the budget of a nested txn is what its parent left over, and
/// the size of a txn is its largest branch (compares, success or failure).
fn txn_shape(r: &TxnRequest, max_txn_ops: usize) -> Result<(), Error> {
    let ops = r.compare.len().max(r.success.len()).max(r.failure.len());
    if ops > max_txn_ops {
        return Err(Error::TooManyOps);
    }
    if r.compare.iter().any(|c| c.key.is_empty()) {
        return Err(Error::EmptyKey);
    }
    for op in r.success.iter().chain(&r.failure) {
        request_op(op, max_txn_ops - ops)?;
    }
    Ok(())
}

fn request_op(op: &RequestOp, max_txn_ops: usize) -> Result<(), Error> {
    match &op.request {
        Some(Request::RequestRange(r)) => range(r),
        Some(Request::RequestPut(r)) => put(r),
        Some(Request::RequestDeleteRange(r)) => delete_range(r),
        Some(Request::RequestTxn(r)) => txn_shape(r, max_txn_ops),
        None => Err(Error::KeyNotFound),
    }
}

/// A half-open key interval `[start, end)`; a single key `k` is `[k, k\0)`.
/// As in etcd, a delete's range end is taken literally, so a from-key delete
/// (`"\0"`) covers nothing here.
#[derive(Clone)]
struct Interval {
    start: Vec<u8>,
    end: Vec<u8>,
}

impl Interval {
    fn point(key: &[u8]) -> Self {
        let mut end = key.to_vec();
        end.push(0);
        Interval {
            start: key.to_vec(),
            end,
        }
    }

    fn of_delete(r: &DeleteRangeRequest) -> Self {
        if r.range_end.is_empty() {
            Interval::point(&r.key)
        } else {
            Interval {
                start: r.key.clone(),
                end: r.range_end.clone(),
            }
        }
    }

    fn contains(&self, key: &[u8]) -> bool {
        self.start.as_slice() <= key && key < self.end.as_slice()
    }
}

/// The keys put and the intervals deleted by one branch, including nested
/// txns. Fails if a key is put twice or put and deleted, except that the two
/// branches of one nested txn may put the same key (only one of them runs).
fn writes(ops: &[RequestOp]) -> Result<(HashSet<Vec<u8>>, Vec<Interval>), Error> {
    let mut dels: Vec<Interval> = ops
        .iter()
        .filter_map(|op| match &op.request {
            Some(Request::RequestDeleteRange(d)) => Some(Interval::of_delete(d)),
            _ => None,
        })
        .collect();
    let deleted = |dels: &[Interval], key: &[u8]| dels.iter().any(|d| d.contains(key));

    let mut puts: HashSet<Vec<u8>> = HashSet::new();
    for op in ops {
        let Some(Request::RequestTxn(nested)) = &op.request else {
            continue;
        };
        let (puts_then, dels_then) = writes(&nested.success)?;
        let (puts_else, dels_else) = writes(&nested.failure)?;
        for key in &puts_then {
            if puts.contains(key) || deleted(&dels, key) {
                return Err(Error::DuplicateKey);
            }
        }
        puts.extend(puts_then.iter().cloned());
        for key in puts_else {
            if (puts.contains(&key) && !puts_then.contains(&key)) || deleted(&dels, &key) {
                return Err(Error::DuplicateKey);
            }
            puts.insert(key);
        }
        dels.extend(dels_then);
        dels.extend(dels_else);
    }

    for op in ops {
        let Some(Request::RequestPut(p)) = &op.request else {
            continue;
        };
        if puts.contains(&p.key) || deleted(&dels, &p.key) {
            return Err(Error::DuplicateKey);
        }
        puts.insert(p.key.clone());
    }
    Ok((puts, dels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_op(key: &str) -> RequestOp {
        RequestOp {
            request: Some(Request::RequestPut(PutRequest {
                key: key.into(),
                value: b"v".to_vec(),
                ..Default::default()
            })),
        }
    }

    fn del_op(key: &str, end: &str) -> RequestOp {
        RequestOp {
            request: Some(Request::RequestDeleteRange(DeleteRangeRequest {
                key: key.into(),
                range_end: end.into(),
                ..Default::default()
            })),
        }
    }

    fn txn_op(success: Vec<RequestOp>, failure: Vec<RequestOp>) -> RequestOp {
        RequestOp {
            request: Some(Request::RequestTxn(TxnRequest {
                compare: vec![],
                success,
                failure,
            })),
        }
    }

    fn txn_of(success: Vec<RequestOp>) -> TxnRequest {
        TxnRequest {
            compare: vec![],
            success,
            failure: vec![],
        }
    }

    #[test]
    fn single_requests() {
        assert_eq!(range(&RangeRequest::default()), Err(Error::EmptyKey));
        assert_eq!(
            delete_range(&DeleteRangeRequest::default()),
            Err(Error::EmptyKey)
        );
        let mut p = PutRequest {
            key: b"k".to_vec(),
            ..Default::default()
        };
        assert_eq!(put(&p), Ok(()));
        p.ignore_value = true;
        p.value = b"x".to_vec();
        assert_eq!(put(&p), Err(Error::ValueProvided));
        p.value.clear();
        p.ignore_lease = true;
        p.lease = 5;
        assert_eq!(put(&p), Err(Error::LeaseProvided));
    }

    #[test]
    fn too_many_ops_counts_the_largest_branch() {
        let ok = txn_of((0..128).map(|i| put_op(&format!("k{i}"))).collect());
        assert_eq!(txn(&ok, 128), Ok(()));
        let big = txn_of((0..129).map(|i| put_op(&format!("k{i}"))).collect());
        assert_eq!(txn(&big, 128), Err(Error::TooManyOps));
        let nested = txn_of(vec![txn_op(
            (0..128).map(|i| put_op(&format!("n{i}"))).collect(),
            vec![],
        )]);
        assert_eq!(txn(&nested, 128), Err(Error::TooManyOps));
    }

    #[test]
    fn empty_op_is_key_not_found() {
        let r = txn_of(vec![RequestOp { request: None }]);
        assert_eq!(txn(&r, 128), Err(Error::KeyNotFound));
    }

    #[test]
    fn duplicate_writes() {
        assert_eq!(
            txn(&txn_of(vec![put_op("a"), put_op("a")]), 128),
            Err(Error::DuplicateKey)
        );
        assert_eq!(
            txn(&txn_of(vec![put_op("b"), del_op("a", "c")]), 128),
            Err(Error::DuplicateKey)
        );
        assert_eq!(
            txn(&txn_of(vec![put_op("a"), del_op("a", "")]), 128),
            Err(Error::DuplicateKey)
        );
        assert_eq!(
            txn(&txn_of(vec![put_op("c"), del_op("a", "c")]), 128),
            Ok(())
        );
        // A from-key delete is taken literally by etcd and overlaps nothing.
        assert_eq!(
            txn(&txn_of(vec![put_op("b"), del_op("a", "\0")]), 128),
            Ok(())
        );
        // Both branches of a nested txn may write the same key ...
        let branches = txn_op(vec![put_op("x")], vec![put_op("x")]);
        assert_eq!(txn(&txn_of(vec![branches]), 128), Ok(()));
        // ... but not a key the outer level also writes.
        let clash = txn_op(vec![put_op("x")], vec![]);
        assert_eq!(
            txn(&txn_of(vec![clash, put_op("x")]), 128),
            Err(Error::DuplicateKey)
        );
        let under_delete = txn_op(vec![put_op("b")], vec![]);
        assert_eq!(
            txn(&txn_of(vec![under_delete, del_op("a", "c")]), 128),
            Err(Error::DuplicateKey)
        );
        // Reads never conflict.
        let read = RequestOp {
            request: Some(Request::RequestRange(RangeRequest {
                key: b"a".to_vec(),
                ..Default::default()
            })),
        };
        assert_eq!(txn(&txn_of(vec![read, put_op("a")]), 128), Ok(()));
    }
}
