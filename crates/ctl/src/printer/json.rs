//! The `json` format: Go's encoding/json applied to the gogo-generated
//! structs, so integers are numbers, bytes are base64, fields carry their
//! proto names (`cluster_id`, but `dbSize`), zero values are omitted, and a
//! txn response op nests as `{"Response":{"ResponseRange":{..}}}`.

use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{
    DeleteRangeResponse, HashKvResponse, LeaseGrantResponse, LeaseKeepAliveResponse,
    LeaseLeasesResponse, LeaseRevokeResponse, LeaseTimeToLiveResponse, Member, MemberAddResponse,
    MoveLeaderResponse, PutResponse, RangeResponse, ResponseHeader, ResponseOp, StatusResponse,
    TxnResponse,
};
use api::pb::mvccpb::{Event, KeyValue};

use super::{EpHashKv, EpHealth, EpStatus};
use crate::client::WatchUpdate;
use crate::error::Error;
use base64::Engine as _;

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

/// A header's fields written into `o` itself, as encoding/json flattens
/// the `*pb.ResponseHeader` clientv3's lease structs embed.
fn embedded_header(o: &mut Object<'_>, h: Option<&ResponseHeader>) {
    let Some(h) = h else { return };
    o.int("cluster_id", h.cluster_id);
    o.int("member_id", h.member_id);
    o.int("revision", h.revision);
    o.int("raft_term", h.raft_term);
}

fn write_event(out: &mut String, e: &Event) {
    let mut o = Object::open(out);
    o.int("type", e.r#type);
    if let Some(kv) = &e.kv {
        key_value(o.field("kv"), kv);
    }
    if let Some(prev) = &e.prev_kv {
        key_value(o.field("prev_kv"), prev);
    }
    o.close();
}

/// clientv3's `WatchResponse`: exported fields without json tags, the
/// header a struct rather than a pointer.
pub fn watch(r: &WatchUpdate) -> String {
    document(|s| {
        let mut o = Object::open(s);
        {
            let out = o.field("Header");
            let mut h = Object::open(out);
            embedded_header(&mut h, Some(&r.header));
            h.close();
        }
        let out = o.field("Events");
        match &r.events {
            None => out.push_str("null"),
            Some(events) => {
                out.push('[');
                for (i, e) in events.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_event(out, e);
                }
                out.push(']');
            }
        }
        o.int_always("CompactRevision", r.compact_revision);
        o.bool_always("Canceled", r.canceled);
        o.bool_always("Created", r.created);
        o.close();
    })
}

pub fn grant(r: &LeaseGrantResponse) -> String {
    document(|s| {
        let mut o = Object::open(s);
        embedded_header(&mut o, r.header.as_ref());
        o.int_always("ID", r.id);
        o.int_always("TTL", r.ttl);
        o.string_always("Error", &r.error);
        o.close();
    })
}

pub fn revoke(r: &LeaseRevokeResponse) -> String {
    document(|s| {
        let mut o = Object::open(s);
        header(&mut o, r.header.as_ref());
        o.close();
    })
}

pub fn keep_alive(r: &LeaseKeepAliveResponse) -> String {
    document(|s| {
        let mut o = Object::open(s);
        embedded_header(&mut o, r.header.as_ref());
        o.int_always("ID", r.id);
        o.int_always("TTL", r.ttl);
        o.close();
    })
}

pub fn time_to_live(r: &LeaseTimeToLiveResponse) -> String {
    document(|s| {
        let mut o = Object::open(s);
        embedded_header(&mut o, r.header.as_ref());
        o.int_always("id", r.id);
        o.int_always("ttl", r.ttl);
        o.int_always("granted-ttl", r.granted_ttl);
        let out = o.field("keys");
        if r.keys.is_empty() {
            out.push_str("null");
        } else {
            out.push('[');
            for (i, k) in r.keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::go::json::push_str(
                    out,
                    &base64::engine::general_purpose::STANDARD.encode(k),
                );
            }
            out.push(']');
        }
        o.close();
    })
}

pub fn leases(r: &LeaseLeasesResponse) -> String {
    document(|s| {
        let mut o = Object::open(s);
        embedded_header(&mut o, r.header.as_ref());
        let out = o.field("leases");
        out.push('[');
        for (i, l) in r.leases.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut item = Object::open(out);
            item.int_always("id", l.id);
            item.close();
        }
        out.push(']');
        o.close();
    })
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

fn write_member(out: &mut String, m: &Member) {
    let mut o = Object::open(out);
    o.int("ID", m.id);
    o.string("name", &m.name);
    o.strings("peerURLs", &m.peer_ur_ls);
    o.strings("clientURLs", &m.client_ur_ls);
    o.flag("isLearner", m.is_learner);
    o.close();
}

fn members(o: &mut Object<'_>, list: &[Member]) {
    if list.is_empty() {
        return;
    }
    let out = o.field("members");
    out.push('[');
    for (i, m) in list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_member(out, m);
    }
    out.push(']');
}

/// The member list, remove, update and promote responses, which share
/// their shape: a header and the members.
pub fn membership(h: Option<&ResponseHeader>, list: &[Member]) -> String {
    document(|s| {
        let mut o = Object::open(s);
        header(&mut o, h);
        members(&mut o, list);
        o.close();
    })
}

pub fn member_add(r: &MemberAddResponse) -> String {
    document(|s| {
        let mut o = Object::open(s);
        header(&mut o, r.header.as_ref());
        if let Some(m) = &r.member {
            write_member(o.field("member"), m);
        }
        members(&mut o, &r.members);
        o.close();
    })
}

pub fn move_leader(r: &MoveLeaderResponse) -> String {
    document(|s| {
        let mut o = Object::open(s);
        header(&mut o, r.header.as_ref());
        o.close();
    })
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
    fn watch_and_lease_structs_match_etcdctl() {
        let r = WatchUpdate {
            header: hdr(20).unwrap(),
            events: Some(vec![Event {
                r#type: 1,
                kv: Some(KeyValue {
                    key: b"w1".to_vec(),
                    mod_revision: 20,
                    ..Default::default()
                }),
                prev_kv: None,
            }]),
            ..Default::default()
        };
        assert_eq!(
            watch(&r),
            r#"{"Header":{"cluster_id":324952591200643719,"member_id":3319814642761637952,"revision":20,"raft_term":2},"Events":[{"type":1,"kv":{"key":"dzE=","mod_revision":20}}],"CompactRevision":0,"Canceled":false,"Created":false}"#
        );
        let failed = WatchUpdate {
            canceled: true,
            ..Default::default()
        };
        assert_eq!(
            watch(&failed),
            r#"{"Header":{},"Events":null,"CompactRevision":0,"Canceled":true,"Created":false}"#
        );
        let g = LeaseGrantResponse {
            header: hdr(13),
            id: 77,
            ttl: 5,
            error: String::new(),
        };
        assert_eq!(
            grant(&g),
            r#"{"cluster_id":324952591200643719,"member_id":3319814642761637952,"revision":13,"raft_term":2,"ID":77,"TTL":5,"Error":""}"#
        );
        let t = LeaseTimeToLiveResponse {
            header: None,
            id: 4660,
            ttl: -1,
            granted_ttl: 0,
            keys: Vec::new(),
        };
        assert_eq!(
            time_to_live(&t),
            r#"{"id":4660,"ttl":-1,"granted-ttl":0,"keys":null}"#
        );
        let l = LeaseLeasesResponse {
            header: None,
            leases: Vec::new(),
        };
        assert_eq!(leases(&l), r#"{"leases":[]}"#);
        assert_eq!(
            revoke(&LeaseRevokeResponse { header: hdr(3) }),
            r#"{"header":{"cluster_id":324952591200643719,"member_id":3319814642761637952,"revision":3,"raft_term":2}}"#
        );
    }

    #[test]
    fn members_match_etcdctl() {
        let learner = Member {
            id: 13192005674679874666,
            name: String::new(),
            peer_ur_ls: vec!["http://127.0.0.1:24010".into()],
            client_ur_ls: Vec::new(),
            is_learner: true,
        };
        let started = Member {
            id: 9588533091670351884,
            name: "m0".into(),
            peer_ur_ls: vec!["http://127.0.0.1:23791".into()],
            client_ur_ls: vec!["http://127.0.0.1:23790".into()],
            is_learner: false,
        };
        let r = MemberAddResponse {
            header: Some(ResponseHeader {
                cluster_id: 3019897565802275017,
                member_id: 14262357235947879811,
                revision: 0,
                raft_term: 2,
            }),
            member: Some(learner.clone()),
            members: vec![started, learner],
        };
        assert_eq!(
            member_add(&r),
            r#"{"header":{"cluster_id":3019897565802275017,"member_id":14262357235947879811,"raft_term":2},"member":{"ID":13192005674679874666,"peerURLs":["http://127.0.0.1:24010"],"isLearner":true},"members":[{"ID":9588533091670351884,"name":"m0","peerURLs":["http://127.0.0.1:23791"],"clientURLs":["http://127.0.0.1:23790"]},{"ID":13192005674679874666,"peerURLs":["http://127.0.0.1:24010"],"isLearner":true}]}"#
        );
        assert_eq!(membership(None, &[]), "{}");
        assert_eq!(
            move_leader(&MoveLeaderResponse { header: hdr(0) }),
            r#"{"header":{"cluster_id":324952591200643719,"member_id":3319814642761637952,"raft_term":2}}"#
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
