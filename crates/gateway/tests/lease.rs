//! The Lease routes through `Gateway::handle`. The fake answers with the
//! data etcd 3.4.23 answered for the same requests, so every literal body
//! here is what that etcd's gateway sent, byte for byte. Request bodies
//! are written as etcd's e2e tests write them (Go's encoding/json: int64 as
//! numbers) or as jsonpb does (int64 as strings).

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use api::pb::etcdserverpb::{
    LeaseGrantRequest, LeaseKeepAliveRequest, LeaseLeasesRequest, LeaseRevokeRequest,
    LeaseTimeToLiveRequest,
};
use bytes::Bytes;
use gateway::{GatewayBody, Limits};
use http::Response;
use http_body_util::BodyExt;
use support::{Call, Fake, answer, etcd_header_json, post};

const JSON: &str = "application/json";

/// The next data chunk of a streaming body, or `None` at its end.
async fn next_chunk(resp: &mut Response<GatewayBody>) -> Option<String> {
    let frame = tokio::time::timeout(Duration::from_secs(5), resp.body_mut().frame())
        .await
        .expect("a chunk in time")?;
    let data: Bytes = frame.unwrap().into_data().unwrap();
    Some(String::from_utf8(data.to_vec()).unwrap())
}

#[tokio::test]
async fn unary_routes_answer_as_etcd() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let h1 = etcd_header_json(1);
    let h2 = etcd_header_json(2);
    let h3 = etcd_header_json(3);
    let leases =
        format!(r#"{{"header":{h2},"leases":[{{"ID":"4111120205334748679"}},{{"ID":"123"}}]}}"#);
    let cases: Vec<(&str, &str, Call, String)> = vec![
        (
            "/v3/lease/grant",
            r#"{"ID":123,"TTL":60}"#,
            Call::LeaseGrant(LeaseGrantRequest { ttl: 60, id: 123 }),
            format!(r#"{{"header":{h1},"ID":"123","TTL":"60"}}"#),
        ),
        (
            "/v3/lease/grant",
            r#"{"TTL":"20"}"#,
            Call::LeaseGrant(LeaseGrantRequest { ttl: 20, id: 0 }),
            format!(r#"{{"header":{h1},"ID":"4111120205334748679","TTL":"20"}}"#),
        ),
        (
            "/v3/lease/revoke",
            r#"{"ID":123}"#,
            Call::LeaseRevoke(LeaseRevokeRequest { id: 123 }),
            format!(r#"{{"header":{h3}}}"#),
        ),
        (
            "/v3/kv/lease/revoke",
            r#"{"ID":"123"}"#,
            Call::LeaseRevoke(LeaseRevokeRequest { id: 123 }),
            format!(r#"{{"header":{h3}}}"#),
        ),
        (
            "/v3/lease/timetolive",
            r#"{"ID":123,"keys":true}"#,
            Call::LeaseTimeToLive(LeaseTimeToLiveRequest {
                id: 123,
                keys: true,
            }),
            format!(r#"{{"header":{h2},"ID":"123","TTL":"56","grantedTTL":"60","keys":["Zm9v"]}}"#),
        ),
        (
            "/v3/kv/lease/timetolive",
            r#"{"ID":123}"#,
            Call::LeaseTimeToLive(LeaseTimeToLiveRequest {
                id: 123,
                keys: false,
            }),
            format!(r#"{{"header":{h2},"ID":"123","TTL":"56","grantedTTL":"60"}}"#),
        ),
        (
            "/v3/lease/timetolive",
            r#"{"ID":999}"#,
            Call::LeaseTimeToLive(LeaseTimeToLiveRequest {
                id: 999,
                keys: false,
            }),
            format!(r#"{{"header":{h2},"ID":"999","TTL":"-1"}}"#),
        ),
        (
            "/v3/lease/leases",
            "{}",
            Call::LeaseLeases(LeaseLeasesRequest {}),
            leases.clone(),
        ),
        (
            "/v3/kv/lease/leases",
            "",
            Call::LeaseLeases(LeaseLeasesRequest {}),
            leases,
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
            assert_eq!(support::text(resp).await, want, "{path} {body}");
            assert_eq!(fake.calls().last(), Some(&call), "{path}");
        }
    }
}

#[tokio::test]
async fn errors_answer_as_etcd() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let cases = [
        (
            "/v3/kv/lease/revoke",
            api::Error::LeaseNotFound,
            404,
            r#"{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}"#,
        ),
        (
            "/v3/lease/grant",
            api::Error::LeaseExist,
            412,
            r#"{"error":"etcdserver: lease already exists","message":"etcdserver: lease already exists","code":9}"#,
        ),
        (
            "/v3beta/lease/grant",
            api::Error::LeaseTtlTooLarge,
            400,
            r#"{"error":"etcdserver: too large lease TTL","message":"etcdserver: too large lease TTL","code":11}"#,
        ),
        (
            "/v3/lease/timetolive",
            api::Error::NoLeader,
            503,
            r#"{"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14}"#,
        ),
        (
            "/v3/kv/lease/leases",
            api::Error::Timeout,
            503,
            r#"{"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14}"#,
        ),
    ];
    for (path, err, status, want) in cases {
        fake.fail_next(err);
        let (got, content_type, text) = answer(&gw, post(path, r#"{"ID":123}"#)).await;
        assert_eq!(
            (got, content_type.as_str(), text.as_str()),
            (status, JSON, want),
            "{path}"
        );
    }

    // Malformed bodies never reach the service: Go's words, code 3.
    let calls = fake.calls().len();
    let cases = [
        (
            r#"{"ID":"x"}"#,
            r#"{"error":"invalid character 'x' looking for beginning of value","message":"invalid character 'x' looking for beginning of value","code":3}"#,
        ),
        (
            "{bad",
            r#"{"error":"invalid character 'b' looking for beginning of object key string","message":"invalid character 'b' looking for beginning of object key string","code":3}"#,
        ),
    ];
    for (body, want) in cases {
        for path in [
            "/v3/lease/grant",
            "/v3/kv/lease/revoke",
            "/v3/lease/timetolive",
        ] {
            let (status, _, text) = answer(&gw, post(path, body)).await;
            assert_eq!((status, text.as_str()), (400, want), "{path} {body}");
        }
    }
    assert_eq!(fake.calls().len(), calls);
}

/// etcd's tests/e2e/v3_curl_lease_test.go, gateway side: its bodies (Go's
/// encoding/json) and the texts it expects, against both prefixes.
#[tokio::test]
async fn etcd_curl_lease_tests_pass() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    for prefix in ["/v3", "/v3beta"] {
        let id = 7_587_846_362_437_015_923_i64;
        let steps: [(&str, String, String); 8] = [
            (
                "/lease/grant",
                format!(r#"{{"ID":{id}}}"#),
                format!(r#""ID":"{id}""#),
            ),
            (
                "/lease/grant",
                r#"{"TTL":20}"#.into(),
                r#""TTL":"20""#.into(),
            ),
            (
                "/kv/put",
                format!(r#"{{"key":"Zm9v","value":"YmFy","lease":{id}}}"#),
                r#""revision":""#.into(),
            ),
            (
                "/lease/timetolive",
                format!(r#"{{"ID":{id},"keys":true}}"#),
                r#""grantedTTL""#.into(),
            ),
            (
                "/kv/lease/timetolive",
                format!(r#"{{"ID":{id},"keys":true}}"#),
                r#""grantedTTL""#.into(),
            ),
            ("/lease/leases", "{}".into(), r#""ID":"123""#.into()),
            ("/kv/lease/leases", "{}".into(), r#""ID":"123""#.into()),
            (
                "/lease/revoke",
                format!(r#"{{"ID":{id}}}"#),
                r#""revision":""#.into(),
            ),
        ];
        for (endpoint, body, expected) in steps {
            let (_, _, text) = answer(&gw, post(&format!("{prefix}{endpoint}"), &body)).await;
            assert!(text.contains(&expected), "{prefix}{endpoint}: {text}");
        }
        fake.fail_next(api::Error::LeaseNotFound);
        let (_, _, text) = answer(
            &gw,
            post(
                &format!("{prefix}/kv/lease/revoke"),
                &format!(r#"{{"ID":{id}}}"#),
            ),
        )
        .await;
        assert!(
            text.contains("etcdserver: requested lease not found"),
            "{text}"
        );
        let resp = gw
            .handle(post(
                &format!("{prefix}/lease/keepalive"),
                &format!(r#"{{"ID":{id}}}"#),
            ))
            .await;
        let text = support::text(resp).await;
        assert!(text.contains(&format!(r#""ID":"{id}""#)), "{text}");
    }
}

#[tokio::test]
async fn keepalive_streams_one_line_per_answer() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let h2 = etcd_header_json(2);
    let answer_123 = format!("{{\"result\":{{\"header\":{h2},\"ID\":\"123\",\"TTL\":\"60\"}}}}\n");
    let cases = [
        (r#"{"ID":123}"#, answer_123.clone()),
        (r#"{"ID":"123"}"#, answer_123.clone()),
        (r#"{"ID":123}{"ID":123}"#, answer_123.repeat(2)),
        (
            r#"{"ID":999}"#,
            format!("{{\"result\":{{\"header\":{h2},\"ID\":\"999\"}}}}\n"),
        ),
        // A bad later message ends the requests, not the answers.
        (r#"{"ID":123} {bad"#, answer_123.clone()),
    ];
    for (body, want) in cases {
        for path in ["/v3/lease/keepalive", "/v3beta/lease/keepalive"] {
            let resp = gw.handle(post(path, body)).await;
            assert_eq!(resp.status(), 200, "{body}");
            assert_eq!(resp.headers()["content-type"], JSON);
            assert_eq!(
                resp.headers()["grpc-metadata-content-type"],
                "application/grpc"
            );
            assert_eq!(support::text(resp).await, want, "{body}");
        }
    }
    assert_eq!(
        fake.calls().first(),
        Some(&Call::LeaseKeepAlive(LeaseKeepAliveRequest { id: 123 }))
    );
    assert!(fake.keep_alive_requests_ended.load(Ordering::SeqCst));
}

#[tokio::test]
async fn keepalive_with_an_empty_body_ends_at_once() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    // etcd: 200, no gRPC metadata header (the call had no response
    // headers), an empty body.
    let resp = gw.handle(post("/v3/lease/keepalive", "")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], JSON);
    assert!(resp.headers().get("grpc-metadata-content-type").is_none());
    assert_eq!(support::text(resp).await, "");
}

#[tokio::test]
async fn keepalive_failures() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    // A bad first message fails the request; a stream's decode errors are
    // Unknown (code 2, 500).
    let cases = [
        (
            "{bad",
            r#"{"error":"invalid character 'b' looking for beginning of object key string","message":"invalid character 'b' looking for beginning of object key string","code":2}"#,
        ),
        (
            r#"{"ID":"x"}"#,
            r#"{"error":"invalid character 'x' looking for beginning of value","message":"invalid character 'x' looking for beginning of value","code":2}"#,
        ),
    ];
    for (body, want) in cases {
        let (status, content_type, text) = answer(&gw, post("/v3/lease/keepalive", body)).await;
        assert_eq!(
            (status, content_type.as_str(), text.as_str()),
            (500, JSON, want)
        );
    }
    assert!(fake.calls().is_empty());

    // A failure before the first answer sets the status.
    fake.fail_next(api::Error::NoLeader);
    let resp = gw
        .handle(post("/v3/lease/keepalive", r#"{"ID":123}"#))
        .await;
    assert_eq!(resp.status(), 503);
    assert_eq!(
        support::text(resp).await,
        r#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}"#
    );

    // A failure later is the last chunk.
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let mut resp = gw
        .handle(post("/v3/lease/keepalive", r#"{"ID":1}{"ID":2}{"ID":3}"#))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        format!(
            "{{\"result\":{{\"header\":{},\"ID\":\"1\",\"TTL\":\"60\"}}}}\n",
            etcd_header_json(2)
        )
    );
    fake.fail_next(api::Error::LeaseNotFound);
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        r#"{"error":{"grpc_code":5,"http_code":404,"message":"etcdserver: requested lease not found","http_status":"Not Found"}}"#
    );
    assert_eq!(next_chunk(&mut resp).await, None);
    assert_eq!(fake.calls().len(), 2, "nothing is asked after the error");
}
