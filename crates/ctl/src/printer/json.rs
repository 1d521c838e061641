//! The `json` format: Go's encoding/json applied to the gogo-generated
//! structs, so integers are numbers, bytes are base64, fields carry their
//! proto names (`cluster_id`, but `dbSize`), zero values are omitted, and a
//! txn response op nests as `{"Response":{"ResponseRange":{..}}}`.

use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{
    DeleteRangeResponse, HashKvResponse, PutResponse, RangeResponse, ResponseHeader, ResponseOp,
    StatusResponse, TxnResponse,
};
use api::pb::mvccpb::KeyValue;

use super::{EpHashKv, EpHealth, EpStatus};
use crate::error::Error;
use crate::go::json::Object;
use crate::io::Io;

/// `printJSON`: the document and a newline.
pub fn print(io: &mut Io<'_>, doc: String) -> Result<(), Error> {
    io.println(&doc);
    Ok(())
}

fn header(o: &mut Object<'_>, h: Option<&ResponseHeader>) {
    let Some(h) = h else { return };
    let out = o.field("header");
    let mut f = Object::open(out);
    f.int("cluster_id", h.cluster_id);
    f.int("member_id", h.member_id);
    f.int("revision", h.revision);
    f.int("raft_term", h.raft_term);
    f.close();
}

fn key_value(out: &mut String, kv: &KeyValue) {
    let mut f = Object::open(out);
    f.bytes("key", &kv.key);
    f.int("create_revision", kv.create_revision);
    f.int("mod_revision", kv.mod_revision);
    f.int("version", kv.version);
    f.bytes("value", &kv.value);
    f.int("lease", kv.lease);
    f.close();
}

fn key_values(o: &mut Object<'_>, name: &str, kvs: &[KeyValue]) {
    if kvs.is_empty() {
        return;
    }
    let out = o.field(name);
    out.push('[');
    for (i, kv) in kvs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        key_value(out, kv);
    }
    out.push(']');
}

fn write_range(out: &mut String, r: &RangeResponse) {
    let mut o = Object::open(out);
    header(&mut o, r.header.as_ref());
    key_values(&mut o, "kvs", &r.kvs);
    o.flag("more", r.more);
    o.int("count", r.count);
    o.close();
}

fn write_put(out: &mut String, r: &PutResponse) {
    let mut o = Object::open(out);
    header(&mut o, r.header.as_ref());
    if let Some(prev) = &r.prev_kv {
        key_value(o.field("prev_kv"), prev);
    }
    o.close();
}

fn write_delete(out: &mut String, r: &DeleteRangeResponse) {
    let mut o = Object::open(out);
    header(&mut o, r.header.as_ref());
    o.int("deleted", r.deleted);
    key_values(&mut o, "prev_kvs", &r.prev_kvs);
    o.close();
}

fn write_op(out: &mut String, op: &ResponseOp) {
    let mut o = Object::open(out);
    let slot = o.field("Response");
    match &op.response {
        None => slot.push_str("null"),
        Some(resp) => {
            let mut inner = Object::open(slot);
            match resp {
                Response::ResponseRange(r) => write_range(inner.field("ResponseRange"), r),
                Response::ResponsePut(r) => write_put(inner.field("ResponsePut"), r),
                Response::ResponseDeleteRange(r) => {
                    write_delete(inner.field("ResponseDeleteRange"), r);
                }
                Response::ResponseTxn(r) => write_txn(inner.field("ResponseTxn"), r),
            }
            inner.close();
        }
    }
    o.close();
}

fn write_txn(out: &mut String, r: &TxnResponse) {
    let mut o = Object::open(out);
    header(&mut o, r.header.as_ref());
    o.flag("succeeded", r.succeeded);
    if !r.responses.is_empty() {
        let out = o.field("responses");
        out.push('[');
        for (i, op) in r.responses.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_op(out, op);
        }
        out.push(']');
    }
    o.close();
}

fn document(write: impl FnOnce(&mut String)) -> String {
    let mut s = String::new();
    write(&mut s);
    s
}

pub fn range(r: &RangeResponse) -> String {
    document(|s| write_range(s, r))
}

pub fn put(r: &PutResponse) -> String {
    document(|s| write_put(s, r))
}

pub fn delete(r: &DeleteRangeResponse) -> String {
    document(|s| write_delete(s, r))
}

pub fn txn(r: &TxnResponse) -> String {
    document(|s| write_txn(s, r))
}

fn array<T>(items: &[T], mut write: impl FnMut(&mut String, &T)) -> String {
    let mut s = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        write(&mut s, item);
    }
    s.push(']');
    s
}

pub fn endpoint_health(list: &[EpHealth]) -> String {
    array(list, |s, h| {
        let mut o = Object::open(s);
        o.string_always("endpoint", &h.endpoint);
        o.bool_always("health", h.health);
        o.string_always("took", &h.took);
        o.string("error", &h.error);
        o.close();
    })
}

fn write_status(out: &mut String, r: &StatusResponse) {
    let mut o = Object::open(out);
    header(&mut o, r.header.as_ref());
    o.string("version", &r.version);
    o.int("dbSize", r.db_size);
    o.int("leader", r.leader);
    o.int("raftIndex", r.raft_index);
    o.int("raftTerm", r.raft_term);
    o.int("raftAppliedIndex", r.raft_applied_index);
    o.strings("errors", &r.errors);
    o.int("dbSizeInUse", r.db_size_in_use);
    o.flag("isLearner", r.is_learner);
    o.close();
}

pub fn endpoint_status(list: &[EpStatus]) -> String {
    array(list, |s, ep| {
        let mut o = Object::open(s);
        o.string_always("Endpoint", &ep.endpoint);
        write_status(o.field("Status"), &ep.status);
        o.close();
    })
}

fn write_hashkv(out: &mut String, r: &HashKvResponse) {
    let mut o = Object::open(out);
    header(&mut o, r.header.as_ref());
    o.int("hash", r.hash);
    o.int("compact_revision", r.compact_revision);
    o.close();
}

pub fn endpoint_hashkv(list: &[EpHashKv]) -> String {
    array(list, |s, h| {
        let mut o = Object::open(s);
        o.string_always("Endpoint", &h.endpoint);
        write_hashkv(o.field("HashKV"), &h.hash);
        o.close();
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use api::pb::etcdserverpb::ResponseOp;

    fn hdr(rev: i64) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            cluster_id: 324952591200643719,
            member_id: 3319814642761637952,
            revision: rev,
            raft_term: 2,
        })
    }

    #[test]
    fn range_matches_etcdctl() {
        let r = RangeResponse {
            header: hdr(3),
            kvs: vec![KeyValue {
                key: b"foo".to_vec(),
                create_revision: 2,
                mod_revision: 3,
                version: 2,
                value: b"baz".to_vec(),
                lease: 0,
            }],
            more: false,
            count: 1,
        };
        assert_eq!(
            range(&r),
            r#"{"header":{"cluster_id":324952591200643719,"member_id":3319814642761637952,"revision":3,"raft_term":2},"kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":3,"version":2,"value":"YmF6"}],"count":1}"#
        );
    }

    #[test]
    fn txn_nests_ops_like_gogo() {
        let r = TxnResponse {
            header: hdr(5),
            succeeded: true,
            responses: vec![
                ResponseOp {
                    response: Some(Response::ResponsePut(PutResponse {
                        header: Some(ResponseHeader {
                            revision: 5,
                            ..Default::default()
                        }),
                        prev_kv: None,
                    })),
                },
                ResponseOp { response: None },
            ],
        };
        assert_eq!(
            txn(&r),
            r#"{"header":{"cluster_id":324952591200643719,"member_id":3319814642761637952,"revision":5,"raft_term":2},"succeeded":true,"responses":[{"Response":{"ResponsePut":{"header":{"revision":5}}}},{"Response":null}]}"#
        );
    }

    #[test]
    fn endpoint_health_keeps_unomitted_fields() {
        let list = [EpHealth {
            endpoint: "127.0.0.1:2379".into(),
            health: false,
            took: String::new(),
            error: "context deadline exceeded".into(),
        }];
        assert_eq!(
            endpoint_health(&list),
            r#"[{"endpoint":"127.0.0.1:2379","health":false,"took":"","error":"context deadline exceeded"}]"#
        );
    }
}
