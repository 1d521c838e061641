//! The `fields` format: one `"Name" : value` line per field, strings
//! quoted with Go's `%q`.

use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{
    DeleteRangeResponse, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
    LeaseRevokeResponse, LeaseTimeToLiveResponse, MemberListResponse, PutResponse, RangeResponse,
    ResponseHeader, TxnResponse,
};
use api::pb::mvccpb::KeyValue;

use super::{EpHashKv, EpHealth, EpStatus, event_type};
use crate::client::WatchUpdate;
use crate::error::Error;
use crate::go::quote::quote;
use crate::io::Io;

fn kv(io: &mut Io<'_>, pfx: &str, kv: &KeyValue) {
    io.println(&format!("\"{pfx}Key\" : {}", quote(&kv.key)));
    io.println(&format!("\"{pfx}CreateRevision\" : {}", kv.create_revision));
    io.println(&format!("\"{pfx}ModRevision\" : {}", kv.mod_revision));
    io.println(&format!("\"{pfx}Version\" : {}", kv.version));
    io.println(&format!("\"{pfx}Value\" : {}", quote(&kv.value)));
    io.println(&format!("\"{pfx}Lease\" : {}", kv.lease));
}

fn hdr(io: &mut Io<'_>, h: Option<&ResponseHeader>) {
    let h = h.cloned().unwrap_or_default();
    io.println(&format!("\"ClusterID\" : {}", h.cluster_id));
    io.println(&format!("\"MemberID\" : {}", h.member_id));
    io.println(&format!("\"Revision\" : {}", h.revision));
    io.println(&format!("\"RaftTerm\" : {}", h.raft_term));
}

pub fn get(io: &mut Io<'_>, r: &RangeResponse) -> Result<(), Error> {
    hdr(io, r.header.as_ref());
    for x in &r.kvs {
        kv(io, "", x);
    }
    io.println(&format!("\"More\" : {}", r.more));
    io.println(&format!("\"Count\" : {}", r.count));
    Ok(())
}

pub fn put(io: &mut Io<'_>, r: &PutResponse) -> Result<(), Error> {
    hdr(io, r.header.as_ref());
    if let Some(prev) = &r.prev_kv {
        kv(io, "Prev", prev);
    }
    Ok(())
}

pub fn del(io: &mut Io<'_>, r: &DeleteRangeResponse) -> Result<(), Error> {
    hdr(io, r.header.as_ref());
    io.println(&format!("\"Deleted\" : {}", r.deleted));
    for x in &r.prev_kvs {
        kv(io, "Prev", x);
    }
    Ok(())
}

pub fn txn(io: &mut Io<'_>, r: &TxnResponse) -> Result<(), Error> {
    hdr(io, r.header.as_ref());
    io.println(&format!("\"Succeeded\" : {}", r.succeeded));
    for op in &r.responses {
        match &op.response {
            Some(Response::ResponseDeleteRange(x)) => del(io, x)?,
            Some(Response::ResponsePut(x)) => put(io, x)?,
            Some(Response::ResponseRange(x)) => get(io, x)?,
            other => io.println(&format!(
                "\"Unknown\" : {}",
                quote(format!("{other:?}").as_bytes())
            )),
        }
    }
    Ok(())
}

pub fn watch(io: &mut Io<'_>, r: &WatchUpdate) -> Result<(), Error> {
    hdr(io, Some(&r.header));
    for e in r.events.iter().flatten() {
        io.println(&format!("\"Type\" : {}", event_type(e.r#type)));
        if let Some(prev) = &e.prev_kv {
            kv(io, "Prev", prev);
        }
        kv(io, "", &e.kv.clone().unwrap_or_default());
    }
    Ok(())
}

fn id_and_ttl(io: &mut Io<'_>, id: i64, ttl: i64) {
    io.println(&format!("\"ID\" : {id}"));
    io.println(&format!("\"TTL\" : {ttl}"));
}

pub fn grant(io: &mut Io<'_>, r: &LeaseGrantResponse) -> Result<(), Error> {
    hdr(io, r.header.as_ref());
    id_and_ttl(io, r.id, r.ttl);
    Ok(())
}

pub fn revoke(io: &mut Io<'_>, r: &LeaseRevokeResponse) -> Result<(), Error> {
    hdr(io, r.header.as_ref());
    Ok(())
}

pub fn keep_alive(io: &mut Io<'_>, r: &LeaseKeepAliveResponse) -> Result<(), Error> {
    hdr(io, r.header.as_ref());
    id_and_ttl(io, r.id, r.ttl);
    Ok(())
}

pub fn time_to_live(io: &mut Io<'_>, r: &LeaseTimeToLiveResponse) -> Result<(), Error> {
    hdr(io, r.header.as_ref());
    id_and_ttl(io, r.id, r.ttl);
    io.println(&format!("\"GrantedTTL\" : {}", r.granted_ttl));
    for k in &r.keys {
        io.println(&format!("\"Key\" : {}", quote(k)));
    }
    Ok(())
}

pub fn leases(io: &mut Io<'_>, r: &LeaseLeasesResponse) -> Result<(), Error> {
    hdr(io, r.header.as_ref());
    for l in &r.leases {
        io.println(&format!("\"ID\" : {}", l.id));
    }
    Ok(())
}

pub fn member_list(io: &mut Io<'_>, r: &MemberListResponse) -> Result<(), Error> {
    hdr(io, r.header.as_ref());
    for m in &r.members {
        io.println(&format!("\"ID\" : {}", m.id));
        io.println(&format!("\"Name\" : {}", quote(m.name.as_bytes())));
        for u in &m.peer_ur_ls {
            io.println(&format!("\"PeerURL\" : {}", quote(u.as_bytes())));
        }
        for u in &m.client_ur_ls {
            io.println(&format!("\"ClientURL\" : {}", quote(u.as_bytes())));
        }
        io.println(&format!("\"IsLearner\" : {}", m.is_learner));
        io.println("");
    }
    Ok(())
}

pub fn endpoint_health(io: &mut Io<'_>, list: &[EpHealth]) -> Result<(), Error> {
    for h in list {
        io.println(&format!("\"Endpoint\" : {}", quote(h.endpoint.as_bytes())));
        io.println(&format!("\"Health\" : {}", h.health));
        io.println(&format!("\"Took\" : {}", h.took));
        io.println(&format!("\"Error\" : {}", h.error));
        io.println("");
    }
    Ok(())
}

pub fn endpoint_status(io: &mut Io<'_>, list: &[EpStatus]) -> Result<(), Error> {
    for ep in list {
        let r = &ep.status;
        hdr(io, r.header.as_ref());
        io.println(&format!("\"Version\" : {}", quote(r.version.as_bytes())));
        io.println(&format!("\"DBSize\" : {}", r.db_size));
        io.println(&format!("\"Leader\" : {}", r.leader));
        io.println(&format!("\"IsLearner\" : {}", r.is_learner));
        io.println(&format!("\"RaftIndex\" : {}", r.raft_index));
        io.println(&format!("\"RaftTerm\" : {}", r.raft_term));
        io.println(&format!("\"RaftAppliedIndex\" : {}", r.raft_applied_index));
        io.println(&format!("\"Errors\" : [{}]", r.errors.join(" ")));
        io.println(&format!("\"Endpoint\" : {}", quote(ep.endpoint.as_bytes())));
        io.println("");
    }
    Ok(())
}

pub fn endpoint_hashkv(io: &mut Io<'_>, list: &[EpHashKv]) -> Result<(), Error> {
    for h in list {
        hdr(io, h.hash.header.as_ref());
        io.println(&format!("\"Endpoint\" : {}", quote(h.endpoint.as_bytes())));
        io.println(&format!("\"Hash\" : {}", h.hash.hash));
        io.println("");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn watch_names_event_types() {
        use api::pb::mvccpb::Event;
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut io = Io {
            stdin: Box::new(&b""[..]),
            out: &mut out,
            err: &mut err,
        };
        let r = WatchUpdate {
            events: Some(vec![Event {
                r#type: 1,
                kv: Some(KeyValue {
                    key: b"k".to_vec(),
                    mod_revision: 9,
                    ..Default::default()
                }),
                prev_kv: None,
            }]),
            ..Default::default()
        };
        watch(&mut io, &r).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"RaftTerm\" : 0\n\"Type\" : DELETE\n\"Key\" : \"k\"\n"));
        assert!(
            text.ends_with(
                "\"ModRevision\" : 9\n\"Version\" : 0\n\"Value\" : \"\"\n\"Lease\" : 0\n"
            )
        );
    }

    #[test]
    fn quotes_strings_like_go() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: Box::new(&b""[..]),
            out: &mut out,
            err: &mut err,
        };
        let r = PutResponse {
            header: None,
            prev_kv: Some(KeyValue {
                key: b"a\"b".to_vec(),
                value: b"line\n\xff".to_vec(),
                lease: 7,
                ..Default::default()
            }),
        };
        put(&mut io, &r).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            "\"ClusterID\" : 0\n\"MemberID\" : 0\n\"Revision\" : 0\n\"RaftTerm\" : 0\n"
        ));
        assert!(text.contains("\"PrevKey\" : \"a\\\"b\"\n"));
        assert!(text.contains("\"PrevValue\" : \"line\\n\\xff\"\n"));
        assert!(text.ends_with("\"PrevLease\" : 7\n"));
    }
}
