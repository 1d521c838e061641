//! Every unary route through `Gateway::handle`: what reaches the service,
//! the JSON that comes back, and the error bodies and statuses. Literal
//! bodies were read from etcd 3.4.23's gateway for the same requests.

#![allow(clippy::unwrap_used)]

mod support;

use api::pb::etcdserverpb::{
    AlarmRequest, CompactionRequest, Compare, DeleteRangeRequest, HashRequest, MemberListRequest,
    PutRequest, RangeRequest, RequestOp, StatusRequest, TxnRequest, alarm_request, compare,
    range_request, request_op,
};
use gateway::Limits;
use support::{Call, Fake, HEADER_JSON, answer, post, request};

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

#[tokio::test]
async fn every_route_decodes_its_request_and_encodes_its_answer() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let cases: Vec<(&str, &str, Call, String)> = vec![
        (
            "/v3/kv/range",
            r#"{"key":"Zm9v","range_end":"Zm9w","limit":"1","sortOrder":"DESCEND","serializable":true}"#,
            Call::Range(RangeRequest {
                key: b"foo".to_vec(),
                range_end: b"fop".to_vec(),
                limit: 1,
                sort_order: range_request::SortOrder::Descend as i32,
                serializable: true,
                ..Default::default()
            }),
            format!(
                r#"{{"header":{HEADER_JSON},"kvs":[{{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}}],"count":"1"}}"#
            ),
        ),
        (
            "/v3/kv/put",
            r#"{"key":"Zm9v","value":"YmFy","lease":"7","prev_kv":true}"#,
            Call::Put(PutRequest {
                key: b"foo".to_vec(),
                value: b"bar".to_vec(),
                lease: 7,
                prev_kv: true,
                ..Default::default()
            }),
            format!(r#"{{"header":{HEADER_JSON}}}"#),
        ),
        (
            "/v3/kv/deleterange",
            r#"{"key":"Zm9v","prevKv":true}"#,
            Call::DeleteRange(DeleteRangeRequest {
                key: b"foo".to_vec(),
                prev_kv: true,
                ..Default::default()
            }),
            format!(r#"{{"header":{HEADER_JSON},"deleted":"1"}}"#),
        ),
        (
            "/v3/kv/compaction",
            r#"{"revision":"5","physical":true}"#,
            Call::Compact(CompactionRequest {
                revision: 5,
                physical: true,
            }),
            format!(r#"{{"header":{HEADER_JSON}}}"#),
        ),
        (
            "/v3/maintenance/alarm",
            r#"{"action":"ACTIVATE","memberID":"13668033151171901709","alarm":"NOSPACE"}"#,
            Call::Alarm(AlarmRequest {
                action: alarm_request::AlarmAction::Activate as i32,
                member_id: 13668033151171901709,
                alarm: api::pb::etcdserverpb::AlarmType::Nospace as i32,
            }),
            format!(
                r#"{{"header":{HEADER_JSON},"alarms":[{{"memberID":"10276657743932975437","alarm":"NOSPACE"}}]}}"#
            ),
        ),
        (
            "/v3/maintenance/status",
            "{}",
            Call::Status(StatusRequest {}),
            format!(
                r#"{{"header":{HEADER_JSON},"version":"3.4.23","dbSize":"20480","leader":"10276657743932975437","raftIndex":"5","raftTerm":"3","raftAppliedIndex":"5","dbSizeInUse":"16384"}}"#
            ),
        ),
        (
            "/v3/maintenance/defragment",
            "{}",
            Call::Defragment(Default::default()),
            "{}".to_owned(),
        ),
        (
            "/v3/maintenance/hash",
            "{}",
            Call::Hash(HashRequest {}),
            format!(r#"{{"header":{HEADER_JSON},"hash":2833519315}}"#),
        ),
        (
            "/v3/cluster/member/list",
            "{}",
            Call::MemberList(MemberListRequest {}),
            r#"{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","raft_term":"3"},"members":[{"ID":"10276657743932975437","name":"gw","peerURLs":["http://127.0.0.1:2380"],"clientURLs":["http://127.0.0.1:2379"]}]}"#.to_owned(),
        ),
    ];
    for (path, body, call, want) in cases {
        for prefix in ["/v3/", "/v3beta/"] {
            let path = path.replacen("/v3/", prefix, 1);
            let resp = gw.handle(post(&path, body)).await;
            assert_eq!(resp.status(), 200, "{path}");
            assert_eq!(resp.headers()["content-type"], JSON);
            assert_eq!(
                resp.headers()["grpc-metadata-content-type"],
                "application/grpc"
            );
            assert_eq!(resp.headers()["access-control-allow-origin"], "*");
            assert_eq!(support::text(resp).await, want, "{path}");
            assert_eq!(fake.calls().last(), Some(&call), "{path}");
        }
    }
}

#[tokio::test]
async fn txn_matches_etcds_curl_test() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    // The body etcd's e2e test builds with jsonpb (enum names, int64 as a
    // string).
    let body = r#"{"compare":[{"key":"Zm9v","create_revision":"0"}],"success":[{"request_put":{"key":"Zm9v","value":"YmFy"}}]}"#;
    let (status, _, text) = answer(&gw, post("/v3/kv/txn", body)).await;
    assert_eq!(status, 200);
    assert!(
        text.contains(
            r#""succeeded":true,"responses":[{"response_put":{"header":{"revision":"2"}}}]"#
        ),
        "{text}"
    );
    let Call::Txn(txn) = fake.calls().pop().unwrap() else {
        panic!("txn expected");
    };
    assert_eq!(
        txn.compare[0].target_union,
        Some(compare::TargetUnion::CreateRevision(0))
    );
    assert!(matches!(
        txn.success[0].request,
        Some(request_op::Request::RequestPut(ref put)) if put.key == b"foo" && put.value == b"bar"
    ));

    // "was crashing etcd server": Go field names are unknown fields to the
    // gateway, so the ops arrive empty and the server refuses them.
    let malformed = r#"{"compare":[{"result":0,"target":1,"key":"Zm9v","TargetUnion":null}],"success":[{"Request":{"RequestPut":{"key":"Zm9v","value":"YmFy"}}}]}"#;
    let (status, content_type, text) = answer(&gw, post("/v3/kv/txn", malformed)).await;
    assert_eq!(
        (status, content_type.as_str(), text.as_str()),
        (
            400,
            JSON,
            r#"{"error":"etcdserver: key not found","message":"etcdserver: key not found","code":3}"#
        )
    );
    let Call::Txn(txn) = fake.calls().pop().unwrap() else {
        panic!("txn expected");
    };
    assert_eq!(
        txn,
        TxnRequest {
            compare: vec![Compare {
                target: compare::CompareTarget::Create as i32,
                key: b"foo".to_vec(),
                ..Default::default()
            }],
            success: vec![RequestOp::default()],
            failure: vec![],
        }
    );
}

#[tokio::test]
async fn malformed_json_is_refused_with_gos_words() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let cases = [
        (
            "{bad",
            r#"{"error":"invalid character 'b' looking for beginning of object key string","message":"invalid character 'b' looking for beginning of object key string","code":3}"#,
        ),
        (
            "{",
            r#"{"error":"unexpected EOF","message":"unexpected EOF","code":3}"#,
        ),
        (
            "[]",
            r#"{"error":"json: cannot unmarshal array into Go value of type map[string]json.RawMessage","message":"json: cannot unmarshal array into Go value of type map[string]json.RawMessage","code":3}"#,
        ),
        (
            "<",
            r#"{"error":"invalid character '\u003c' looking for beginning of value","message":"invalid character '\u003c' looking for beginning of value","code":3}"#,
        ),
        (
            "\u{1}",
            r#"{"error":"invalid character '\\x01' looking for beginning of value","message":"invalid character '\\x01' looking for beginning of value","code":3}"#,
        ),
    ];
    for (body, want) in cases {
        for path in ["/v3/kv/put", "/v3/kv/range", "/v3beta/maintenance/status"] {
            let (status, content_type, text) = answer(&gw, post(path, body)).await;
            assert_eq!((status, content_type.as_str()), (400, JSON), "{body}");
            assert_eq!(text, want, "{body} to {path}");
        }
    }
    let (status, _, text) = answer(
        &gw,
        post("/v3/kv/range", r#"{"key":"Zm9v","sort_order":"<&>"}"#),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        text,
        r#"{"error":"unknown value \"\u003c\u0026\u003e\" for enum etcdserverpb.RangeRequest_SortOrder","message":"unknown value \"\u003c\u0026\u003e\" for enum etcdserverpb.RangeRequest_SortOrder","code":3}"#
    );
    assert!(
        fake.calls().is_empty(),
        "nothing malformed reaches the service"
    );
}

#[tokio::test]
async fn empty_and_trailing_bodies_decode_like_go() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    for body in ["", "   ", "null", "{}garbage", "{}{", r#"{"foo":1}"#] {
        let (status, _, _) = answer(&gw, post("/v3/kv/range", body)).await;
        assert_eq!(status, 200, "{body:?}");
        assert_eq!(
            fake.calls().pop(),
            Some(Call::Range(RangeRequest::default())),
            "{body:?}"
        );
    }
}

#[tokio::test]
async fn service_errors_map_to_grpc_gateway_statuses() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let cases = [
        (api::Error::EmptyKey, 400, 3),
        (api::Error::FutureRev, 400, 11),
        (api::Error::Compacted, 400, 11),
        (api::Error::NoSpace, 429, 8),
        (api::Error::LeaseNotFound, 404, 5),
        (api::Error::NotLeader, 412, 9),
        (api::Error::PermissionDenied, 403, 7),
        (api::Error::InvalidAuthToken, 401, 16),
        (api::Error::NoLeader, 503, 14),
        (api::Error::Corrupt, 500, 15),
        (api::Error::Canceled, 408, 1),
        (api::Error::DeadlineExceeded, 504, 4),
        (api::Error::Unimplemented("unknown method".into()), 501, 12),
        (api::Error::Internal("disk failure".into()), 500, 2),
    ];
    for (err, http, code) in cases {
        let message = err.to_string();
        fake.fail_next(err);
        let (status, content_type, text) =
            answer(&gw, post("/v3/kv/put", r#"{"key":"Zm9v"}"#)).await;
        assert_eq!((status, content_type.as_str()), (http, JSON), "{message}");
        assert_eq!(
            text,
            format!(r#"{{"error":"{message}","message":"{message}","code":{code}}}"#)
        );
    }
    // The exact answer of etcd 3.4 for a put without a key.
    fake.fail_next(api::Error::EmptyKey);
    let (_, _, text) = answer(&gw, post("/v3/kv/put", "")).await;
    assert_eq!(
        text,
        r#"{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}"#
    );
}

#[tokio::test]
async fn oversize_requests_are_refused_as_etcds_grpc_server_does() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits {
        max_request_bytes: 1000,
        ..Limits::default()
    });
    // etcd --max-request-bytes 1000, a 600000-byte value: etcd answers this.
    let value = base64_of(&vec![b'x'; 600_000]);
    let body = format!(r#"{{"key":"Zm9v","value":"{value}"}}"#);
    let (status, content_type, text) = answer(&gw, post("/v3/kv/put", &body)).await;
    assert_eq!((status, content_type.as_str()), (429, JSON));
    assert_eq!(
        text,
        r#"{"error":"grpc: received message larger than max (600009 vs. 525288)","message":"grpc: received message larger than max (600009 vs. 525288)","code":8}"#
    );
    assert!(fake.calls().is_empty());

    // Just under the gRPC limit the request reaches the service, which is
    // where etcd's own "request is too large" comes from.
    let value = base64_of(&vec![b'x'; 525_000]);
    let body = format!(r#"{{"key":"Zm9v","value":"{value}"}}"#);
    let (status, _, _) = answer(&gw, post("/v3/kv/put", &body)).await;
    assert_eq!(status, 200);

    // JSON far beyond any message the limit allows is not buffered.
    let padded = format!(r#"{{"key":"Zm9v"{}}}"#, " ".repeat(7 * 525_288));
    let (status, _, text) = answer(&gw, post("/v3/kv/put", &padded)).await;
    assert_eq!(status, 429);
    assert!(
        text.contains("grpc: received message larger than max ("),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_paths_methods_and_preflight() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let not_found = (404, TEXT.to_owned(), "Not Found\n".to_owned());
    let no_page = (404, TEXT.to_owned(), "404 page not found\n".to_owned());
    let not_allowed = (405, TEXT.to_owned(), "Method Not Allowed\n".to_owned());
    let cases = [
        (request("POST", "/v3/nothing"), not_found.clone()),
        (request("POST", "/v3/kv/range/"), not_found.clone()),
        (request("POST", "/v3/kv"), not_found.clone()),
        (request("POST", "/v3/kv/Range"), not_found.clone()),
        (request("POST", "/v3/kv/range:x"), not_found.clone()),
        (request("POST", "/v3/"), not_found.clone()),
        (request("POST", "/v3beta/"), not_found.clone()),
        (request("POST", "/v3/auth/enable"), not_found.clone()),
        (request("POST", "/v3/lock"), not_found.clone()),
        (request("POST", "/v3/kv/lease/grant"), not_found.clone()),
        (request("POST", "/v3/lease/keepalive/"), not_found.clone()),
        (request("GET", "/v3/lease/leases"), not_allowed.clone()),
        (
            request("GET", "/v3beta/election/observe"),
            not_allowed.clone(),
        ),
        (request("POST", "/v3alpha/kv/range"), no_page.clone()),
        (request("POST", "/foo"), no_page.clone()),
        (request("POST", "/"), no_page.clone()),
        (request("POST", "/v3beta"), no_page.clone()),
        (request("POST", "/V3/kv/range"), no_page.clone()),
        (request("GET", "/v3/kv/range"), not_allowed.clone()),
        (request("PUT", "/v3/kv/put"), not_allowed.clone()),
        (request("DELETE", "/v3beta/watch"), not_allowed.clone()),
        (request("GET", "/v3/nothing"), not_found.clone()),
        (
            request("OPTIONS", "/anything"),
            (200, String::new(), String::new()),
        ),
    ];
    for (req, want) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let resp = gw.handle(req).await;
        assert_eq!(
            resp.headers()["access-control-allow-methods"],
            "POST, GET, OPTIONS, PUT, DELETE"
        );
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert_eq!(
            (status, content_type, support::text(resp).await),
            want,
            "{what}"
        );
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn paths_are_decoded_and_cleaned_like_go() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    for path in [
        "/v3/kv/%72ange",
        "/v3%2Fkv/range",
        "/v3beta%2Fkv/range",
        "/v3/kv/range?x=1",
    ] {
        let (status, _, _) = answer(&gw, post(path, r#"{"key":"Zm9v"}"#)).await;
        assert_eq!(status, 200, "{path}");
    }
    let cases = [
        ("POST", "/v3//kv/range", "/v3/kv/range"),
        ("POST", "/v3//kv/range?a=b", "/v3/kv/range?a=b"),
        ("POST", "/v3beta/../v3/kv/range", "/v3/kv/range"),
        ("POST", "/v3", "/v3/"),
        ("GET", "/v3//kv/range", "/v3/kv/range"),
    ];
    for (method, path, location) in cases {
        let resp = gw.handle(request(method, path)).await;
        assert_eq!(resp.status(), 301, "{path}");
        assert_eq!(resp.headers()["location"], location, "{path}");
        let body = support::text(resp).await;
        if method == "GET" {
            assert_eq!(
                body,
                format!("<a href=\"{location}\">Moved Permanently</a>.\n\n")
            );
        } else {
            assert_eq!(body, "");
        }
    }
    let resp = gw.handle(request("POST", "/v3/kv/%zz")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["connection"], "close");
    assert_eq!(support::text(resp).await, "400 Bad Request");
}

fn base64_of(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A server without lease, election or lock services: their routes answer
/// as etcd's gateway does when its gRPC server lacks the service (501,
/// Unimplemented), after decoding the request as usual.
#[tokio::test]
async fn absent_services_answer_unimplemented() {
    let fake = Fake::new();
    let gw = fake.gateway_without_optional_services();
    let unary = [
        ("/v3/lease/grant", "etcdserverpb.Lease"),
        ("/v3/lease/revoke", "etcdserverpb.Lease"),
        ("/v3/kv/lease/revoke", "etcdserverpb.Lease"),
        ("/v3/lease/timetolive", "etcdserverpb.Lease"),
        ("/v3/kv/lease/timetolive", "etcdserverpb.Lease"),
        ("/v3/lease/leases", "etcdserverpb.Lease"),
        ("/v3/kv/lease/leases", "etcdserverpb.Lease"),
        ("/v3/election/campaign", "v3electionpb.Election"),
        ("/v3/election/proclaim", "v3electionpb.Election"),
        ("/v3/election/leader", "v3electionpb.Election"),
        ("/v3beta/election/resign", "v3electionpb.Election"),
        ("/v3/lock/lock", "v3lockpb.Lock"),
        ("/v3beta/lock/unlock", "v3lockpb.Lock"),
    ];
    for (path, service) in unary {
        let (status, content_type, text) = answer(&gw, post(path, "{}")).await;
        assert_eq!((status, content_type.as_str()), (501, JSON), "{path}");
        assert_eq!(
            text,
            format!(
                r#"{{"error":"unknown service {service}","message":"unknown service {service}","code":12}}"#
            )
        );
        let (status, _, _) = answer(&gw, post(path, "{bad")).await;
        assert_eq!(status, 400, "{path}: the body is decoded first");
    }
    let streams = [
        ("/v3/lease/keepalive", "etcdserverpb.Lease"),
        ("/v3beta/election/observe", "v3electionpb.Election"),
    ];
    for (path, service) in streams {
        let (status, content_type, text) = answer(&gw, post(path, "{}")).await;
        assert_eq!((status, content_type.as_str()), (501, JSON), "{path}");
        assert_eq!(
            text,
            format!(
                r#"{{"error":{{"grpc_code":12,"http_code":501,"message":"unknown service {service}","http_status":"Not Implemented"}}}}"#
            )
        );
    }
    // The other services are unaffected.
    let (status, _, _) = answer(&gw, post("/v3/kv/range", "{}")).await;
    assert_eq!(status, 200);
    assert_eq!(fake.calls(), [Call::Range(RangeRequest::default())]);
}
