//! The `simple` format: keys and values on their own lines, `OK`,
//! `SUCCESS`/`FAILURE`, comma-separated endpoint rows.

use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{
    DeleteRangeResponse, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
    LeaseTimeToLiveResponse, MemberListResponse, PutResponse, RangeResponse, ResponseHeader,
    TxnResponse,
};
use api::pb::mvccpb::KeyValue;

use super::{Display, EpHashKv, EpHealth, EpStatus, event_type, lease_hex};
use crate::client::WatchUpdate;
use crate::error::Error;
use crate::io::Io;

/// `--hex` form: every byte as `\xNN`.
fn hex(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|b| format!("\\x{b:02x}").into_bytes())
        .collect()
}

/// etcdctl's `printKV`.
fn kv(io: &mut Io<'_>, d: &Display, kv: &KeyValue) {
    let (k, v) = if d.hex {
        (hex(&kv.key), hex(&kv.value))
    } else {
        (kv.key.clone(), kv.value.clone())
    };
    if !d.value_only {
        io.write(&k);
        io.write(b"\n");
    }
    io.write(&v);
    io.write(b"\n");
}

pub fn get(io: &mut Io<'_>, d: &Display, r: &RangeResponse) -> Result<(), Error> {
    for x in &r.kvs {
        kv(io, d, x);
    }
    Ok(())
}

pub fn put(io: &mut Io<'_>, d: &Display, r: &PutResponse) -> Result<(), Error> {
    io.println("OK");
    if let Some(prev) = &r.prev_kv {
        kv(io, d, prev);
    }
    Ok(())
}

pub fn del(io: &mut Io<'_>, d: &Display, r: &DeleteRangeResponse) -> Result<(), Error> {
    io.println(&r.deleted.to_string());
    for x in &r.prev_kvs {
        kv(io, d, x);
    }
    Ok(())
}

pub fn txn(io: &mut Io<'_>, d: &Display, r: &TxnResponse) -> Result<(), Error> {
    io.println(if r.succeeded { "SUCCESS" } else { "FAILURE" });
    for op in &r.responses {
        io.println("");
        match &op.response {
            Some(Response::ResponseDeleteRange(x)) => del(io, d, x)?,
            Some(Response::ResponsePut(x)) => put(io, d, x)?,
            Some(Response::ResponseRange(x)) => get(io, d, x)?,
            other => io.println(&format!("unexpected response {other:?}")),
        }
    }
    Ok(())
}

pub fn watch(io: &mut Io<'_>, d: &Display, r: &WatchUpdate) -> Result<(), Error> {
    for e in r.events.iter().flatten() {
        io.println(&event_type(e.r#type));
        if let Some(prev) = &e.prev_kv {
            kv(io, d, prev);
        }
        kv(io, d, &e.kv.clone().unwrap_or_default());
    }
    Ok(())
}

pub fn grant(io: &mut Io<'_>, r: &LeaseGrantResponse) -> Result<(), Error> {
    io.println(&format!(
        "lease {} granted with TTL({}s)",
        lease_hex(r.id),
        r.ttl
    ));
    Ok(())
}

pub fn revoke(io: &mut Io<'_>, id: i64) -> Result<(), Error> {
    io.println(&format!("lease {} revoked", lease_hex(id)));
    Ok(())
}

pub fn keep_alive(io: &mut Io<'_>, r: &LeaseKeepAliveResponse) -> Result<(), Error> {
    io.println(&format!(
        "lease {} keepalived with TTL({})",
        lease_hex(r.id),
        r.ttl
    ));
    Ok(())
}

pub fn time_to_live(io: &mut Io<'_>, r: &LeaseTimeToLiveResponse, keys: bool) -> Result<(), Error> {
    if r.granted_ttl == 0 && r.ttl == -1 {
        io.println(&format!("lease {} already expired", lease_hex(r.id)));
        return Ok(());
    }
    let mut text = format!(
        "lease {} granted with TTL({}s), remaining({}s)",
        lease_hex(r.id),
        r.granted_ttl,
        r.ttl
    )
    .into_bytes();
    if keys {
        // Go's %v of a []string: the raw strings, space-separated.
        text.extend_from_slice(b", attached keys([");
        text.extend_from_slice(&r.keys.join(&b' '));
        text.extend_from_slice(b"])");
    }
    io.write(&text);
    io.write(b"\n");
    Ok(())
}

pub fn leases(io: &mut Io<'_>, r: &LeaseLeasesResponse) -> Result<(), Error> {
    io.println(&format!("found {} leases", r.leases.len()));
    for l in &r.leases {
        io.println(&lease_hex(l.id));
    }
    Ok(())
}

pub fn endpoint_health(io: &mut Io<'_>, list: &[EpHealth]) -> Result<(), Error> {
    for h in list {
        if h.error.is_empty() {
            io.eprint(&format!(
                "{} is healthy: successfully committed proposal: took = {}\n",
                h.endpoint, h.took
            ));
        } else {
            io.eprint(&format!(
                "{} is unhealthy: failed to commit proposal: {}\n",
                h.endpoint, h.error
            ));
        }
    }
    Ok(())
}

fn rows(io: &mut Io<'_>, rows: Vec<Vec<String>>) -> Result<(), Error> {
    for row in rows {
        io.println(&row.join(", "));
    }
    Ok(())
}

/// `Member <id> <done> cluster <cluster id>`, both ids as Go's `%16x`.
pub fn membership(
    io: &mut Io<'_>,
    id: u64,
    done: &str,
    h: Option<&ResponseHeader>,
) -> Result<(), Error> {
    let cluster = h.map_or(0, |h| h.cluster_id);
    io.println(&format!("Member {id:16x} {done} cluster {cluster:16x}"));
    Ok(())
}

pub fn member_list(io: &mut Io<'_>, r: &MemberListResponse) -> Result<(), Error> {
    rows(io, super::member_rows(r))
}

pub fn move_leader(io: &mut Io<'_>, leader: u64, target: u64) -> Result<(), Error> {
    io.println(&format!(
        "Leadership transferred from {leader:x} to {target:x}"
    ));
    Ok(())
}

pub fn endpoint_status(io: &mut Io<'_>, list: &[EpStatus]) -> Result<(), Error> {
    rows(io, super::status_rows(list))
}

pub fn endpoint_hashkv(io: &mut Io<'_>, list: &[EpHashKv]) -> Result<(), Error> {
    rows(io, super::hashkv_rows(list))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::printer::Format;
    use api::pb::etcdserverpb::ResponseOp;

    fn printed(f: impl FnOnce(&mut Io<'_>)) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: Box::new(&b""[..]),
            out: &mut out,
            err: &mut err,
        };
        f(&mut io);
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn display(hex: bool, value_only: bool) -> Display {
        Display {
            format: Format::Simple,
            hex,
            value_only,
        }
    }

    fn kv(k: &[u8], v: &[u8]) -> KeyValue {
        KeyValue {
            key: k.to_vec(),
            value: v.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn prints_keys_values_hex_and_values_only() {
        let r = RangeResponse {
            kvs: vec![kv(b"foo", b"bar")],
            ..Default::default()
        };
        let (out, _) = printed(|io| get(io, &display(false, false), &r).unwrap());
        assert_eq!(out, "foo\nbar\n");
        let (out, _) = printed(|io| get(io, &display(true, false), &r).unwrap());
        assert_eq!(out, "\\x66\\x6f\\x6f\n\\x62\\x61\\x72\n");
        let (out, _) = printed(|io| get(io, &display(false, true), &r).unwrap());
        assert_eq!(out, "bar\n");
    }

    #[test]
    fn prints_watch_events_and_lease_texts() {
        use api::pb::mvccpb::Event;
        let r = WatchUpdate {
            events: Some(vec![
                Event {
                    r#type: 0,
                    kv: Some(kv(b"k", b"v2")),
                    prev_kv: Some(kv(b"k", b"v1")),
                },
                Event {
                    r#type: 1,
                    kv: Some(kv(b"k", b"")),
                    prev_kv: None,
                },
            ]),
            ..Default::default()
        };
        let (out, _) = printed(|io| watch(io, &display(false, false), &r).unwrap());
        assert_eq!(out, "PUT\nk\nv1\nk\nv2\nDELETE\nk\n\n");
        let g = LeaseGrantResponse {
            id: 0x694d7bd6e7dcd13a,
            ttl: 60,
            ..Default::default()
        };
        let (out, _) = printed(|io| grant(io, &g).unwrap());
        assert_eq!(out, "lease 694d7bd6e7dcd13a granted with TTL(60s)\n");
        let (out, _) = printed(|io| revoke(io, 0x4d).unwrap());
        assert_eq!(out, "lease 000000000000004d revoked\n");
        let (out, _) = printed(|io| revoke(io, -1).unwrap());
        assert_eq!(out, "lease -000000000000001 revoked\n");
        let t = LeaseTimeToLiveResponse {
            id: 0x1234,
            ttl: 57,
            granted_ttl: 60,
            keys: vec![b"a".to_vec(), b"b c".to_vec()],
            ..Default::default()
        };
        let (out, _) = printed(|io| time_to_live(io, &t, true).unwrap());
        assert_eq!(
            out,
            "lease 0000000000001234 granted with TTL(60s), remaining(57s), attached keys([a b c])\n"
        );
        let expired = LeaseTimeToLiveResponse {
            id: 0x1234,
            ttl: -1,
            ..Default::default()
        };
        let (out, _) = printed(|io| time_to_live(io, &expired, true).unwrap());
        assert_eq!(out, "lease 0000000000001234 already expired\n");
        let l = LeaseLeasesResponse {
            header: None,
            leases: vec![api::pb::etcdserverpb::LeaseStatus { id: 0x4d }],
        };
        let (out, _) = printed(|io| leases(io, &l).unwrap());
        assert_eq!(out, "found 1 leases\n000000000000004d\n");
    }

    #[test]
    fn pads_member_ids_like_go() {
        let h = ResponseHeader {
            cluster_id: 0x29e8d4d603b620c9,
            ..Default::default()
        };
        let (out, _) =
            printed(|io| membership(io, 0xd6dda07f8a95da1, "added to", Some(&h)).unwrap());
        assert_eq!(
            out,
            "Member  d6dda07f8a95da1 added to cluster 29e8d4d603b620c9\n"
        );
        let (out, _) = printed(|io| move_leader(io, 0xd3a7ceca07b0f091, 0x1).unwrap());
        assert_eq!(out, "Leadership transferred from d3a7ceca07b0f091 to 1\n");
    }

    #[test]
    fn prints_txn_sections_and_health_on_stderr() {
        let r = TxnResponse {
            succeeded: false,
            responses: vec![ResponseOp {
                response: Some(Response::ResponseDeleteRange(DeleteRangeResponse {
                    deleted: 1,
                    prev_kvs: vec![kv(b"k", b"v")],
                    ..Default::default()
                })),
            }],
            ..Default::default()
        };
        let (out, _) = printed(|io| txn(io, &display(false, false), &r).unwrap());
        assert_eq!(out, "FAILURE\n\n1\nk\nv\n");
        let list = [EpHealth {
            endpoint: "e:1".into(),
            health: true,
            took: "1ms".into(),
            error: String::new(),
        }];
        let (out, err) = printed(|io| endpoint_health(io, &list).unwrap());
        assert_eq!(out, "");
        assert_eq!(
            err,
            "e:1 is healthy: successfully committed proposal: took = 1ms\n"
        );
    }
}
