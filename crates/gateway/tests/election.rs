//! The v3election and v3lock routes through `Gateway::handle`. The fake
//! answers with the data etcd 3.4.23 answered for the same requests, so
//! every literal body here is what that etcd's gateway sent.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use api::pb::mvccpb::KeyValue;
use api::pb::v3electionpb::{
    CampaignRequest, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest, ResignRequest,
};
use api::pb::v3lockpb::{LockRequest, UnlockRequest};
use bytes::Bytes;
use gateway::{GatewayBody, Limits};
use http::Response;
use http_body_util::BodyExt;
use support::{Call, Fake, answer, etcd_header, etcd_header_json, leader_kv, post};

const JSON: &str = "application/json";
/// `/election-prefix`, its leader key and value, base64.
const NAME: &str = "L2VsZWN0aW9uLXByZWZpeA==";
const KEY: &str = "L2VsZWN0aW9uLXByZWZpeC80ZA==";
const MISSING_LEADER: &str = r#"{"error":"\"leader\" field must be provided","message":"\"leader\" field must be provided","code":2}"#;

async fn next_chunk(resp: &mut Response<GatewayBody>) -> Option<String> {
    let frame = tokio::time::timeout(Duration::from_secs(5), resp.body_mut().frame())
        .await
        .expect("a chunk in time")?;
    let data: Bytes = frame.unwrap().into_data().unwrap();
    Some(String::from_utf8(data.to_vec()).unwrap())
}

fn leader_key() -> LeaderKey {
    LeaderKey {
        name: b"/election-prefix".to_vec(),
        key: b"/election-prefix/4d".to_vec(),
        rev: 4,
        lease: 77,
    }
}

#[tokio::test]
async fn unary_routes_answer_as_etcd() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let leader_json = format!(
        r#"{{"key":"{KEY}","create_revision":"4","mod_revision":"4","version":"1","value":"djE=","lease":"77"}}"#
    );
    let cases: Vec<(&str, String, Call, String)> = vec![
        (
            "/v3/election/campaign",
            format!(r#"{{"name":"{NAME}","value":"djE=","lease":77}}"#),
            Call::Campaign(CampaignRequest {
                name: b"/election-prefix".to_vec(),
                lease: 77,
                value: b"v1".to_vec(),
            }),
            format!(
                r#"{{"header":{},"leader":{{"name":"{NAME}","key":"{KEY}","rev":"4","lease":"77"}}}}"#,
                etcd_header_json(4)
            ),
        ),
        (
            "/v3/election/proclaim",
            format!(
                r#"{{"leader":{{"name":"{NAME}","key":"{KEY}","rev":"4","lease":"77"}},"value":"djI="}}"#
            ),
            Call::Proclaim(ProclaimRequest {
                leader: Some(leader_key()),
                value: b"v2".to_vec(),
            }),
            format!(r#"{{"header":{}}}"#, etcd_header_json(54)),
        ),
        (
            "/v3/election/leader",
            format!(r#"{{"name":"{NAME}"}}"#),
            Call::Leader(LeaderRequest {
                name: b"/election-prefix".to_vec(),
            }),
            format!(r#"{{"header":{},"kv":{leader_json}}}"#, etcd_header_json(4)),
        ),
        (
            "/v3/election/resign",
            format!(r#"{{"leader":{{"name":"{NAME}","key":"{KEY}","rev":4,"lease":77}}}}"#),
            Call::Resign(ResignRequest {
                leader: Some(leader_key()),
            }),
            format!(r#"{{"header":{}}}"#, etcd_header_json(55)),
        ),
        (
            "/v3/lock/lock",
            r#"{"name":"bXlsb2Nr","lease":77}"#.to_owned(),
            Call::Lock(LockRequest {
                name: b"mylock".to_vec(),
                lease: 77,
            }),
            format!(
                r#"{{"header":{},"key":"bXlsb2NrLzRk"}}"#,
                etcd_header_json(5)
            ),
        ),
        (
            "/v3/lock/unlock",
            r#"{"key":"bXlsb2NrLzRk"}"#.to_owned(),
            Call::Unlock(UnlockRequest {
                key: b"mylock/4d".to_vec(),
            }),
            format!(r#"{{"header":{}}}"#, etcd_header_json(10)),
        ),
    ];
    for (path, body, call, want) in cases {
        for prefix in ["/v3/", "/v3beta/"] {
            let path = path.replacen("/v3/", prefix, 1);
            let resp = gw.handle(post(&path, &body)).await;
            assert_eq!(resp.status(), 200, "{path}");
            assert_eq!(resp.headers()["content-type"], JSON);
            assert_eq!(
                resp.headers()["grpc-metadata-content-type"],
                "application/grpc"
            );
            assert_eq!(support::text(resp).await, want, "{path}");
            assert_eq!(fake.calls().last(), Some(&call), "{path}");
        }
    }
}

#[tokio::test]
async fn errors_answer_as_etcd() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    // The election and lock servers hand on plain Go errors, which gRPC
    // reports as Unknown (code 2, 500).
    let cases = [
        (
            "/v3/election/leader",
            api::Error::Internal("election: no leader".into()),
            r#"{"error":"election: no leader","message":"election: no leader","code":2}"#,
        ),
        (
            "/v3/election/proclaim",
            api::Error::Internal("election: not leader".into()),
            r#"{"error":"election: not leader","message":"election: not leader","code":2}"#,
        ),
        (
            "/v3/lock/unlock",
            api::Error::Internal("etcdserver: key is not provided".into()),
            r#"{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":2}"#,
        ),
    ];
    for (path, err, want) in cases {
        fake.fail_next(err);
        let (status, content_type, text) = answer(&gw, post(path, "{}")).await;
        assert_eq!(
            (status, content_type.as_str(), text.as_str()),
            (500, JSON, want)
        );
    }
    let (status, _, text) = answer(&gw, post("/v3beta/election/resign", "")).await;
    assert_eq!((status, text.as_str()), (500, MISSING_LEADER));

    let calls = fake.calls().len();
    let (status, _, text) = answer(&gw, post("/v3/election/campaign", r#"{"name":5}"#)).await;
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            r#"{"error":"json: cannot unmarshal number into Go value of type []uint8","message":"json: cannot unmarshal number into Go value of type []uint8","code":3}"#
        )
    );
    assert_eq!(fake.calls().len(), calls, "a bad body reaches no service");
}

/// etcd's TestV3CurlCampaignNoTLS, TestV3CurlProclaimMissiongLeaderKeyNoTLS
/// and TestV3CurlResignMissiongLeaderKeyNoTLS (tests/e2e/v3_curl_test.go),
/// gateway side: their bodies (Go's encoding/json) and expected texts.
#[tokio::test]
async fn etcd_curl_election_tests_pass() {
    // Go's campaignResponse: absent fields stay empty.
    #[derive(serde::Deserialize)]
    struct Campaign {
        leader: Leader,
    }
    #[derive(Default, serde::Deserialize)]
    #[serde(default)]
    struct Leader {
        name: String,
        key: String,
        rev: String,
        lease: String,
    }

    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    for prefix in ["/v3", "/v3beta"] {
        let (_, _, text) = answer(
            &gw,
            post(
                &format!("{prefix}/election/campaign"),
                r#"{"name":"L2VsZWN0aW9uLXByZWZpeA==","value":"djE="}"#,
            ),
        )
        .await;
        assert!(text.contains(r#""leader":{"name":""#), "{text}");
        assert_eq!(text.lines().count(), 1);
        let campaign: Campaign = serde_json::from_str(&text).unwrap();
        let leader = campaign.leader;
        let rev: i64 = leader.rev.parse().unwrap();
        let lease: i64 = leader.lease.parse().unwrap_or(0);
        let proclaim = format!(
            r#"{{"leader":{{"name":"{}","key":"{}","rev":{rev},"lease":{lease}}},"value":"djI="}}"#,
            leader.name, leader.key
        );
        let (_, _, text) =
            answer(&gw, post(&format!("{prefix}/election/proclaim"), &proclaim)).await;
        assert!(text.contains(r#""revision":"#), "{text}");
        assert_eq!(
            fake.calls().last(),
            Some(&Call::Proclaim(ProclaimRequest {
                leader: Some(LeaderKey {
                    name: b"/election-prefix".to_vec(),
                    key: b"/election-prefix/4d".to_vec(),
                    rev: 4,
                    lease: 0,
                }),
                value: b"v2".to_vec(),
            }))
        );

        let (_, _, text) = answer(
            &gw,
            post(
                &format!("{prefix}/election/proclaim"),
                r#"{"value":"djI="}"#,
            ),
        )
        .await;
        assert!(text.contains(MISSING_LEADER), "{text}");
        let (_, _, text) = answer(&gw, post(&format!("{prefix}/election/resign"), "{}")).await;
        assert!(text.contains(MISSING_LEADER), "{text}");
    }
}

#[tokio::test]
async fn observe_streams_each_leader() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    // Nothing is sent until the first leader is known.
    let pending = gw.handle(post("/v3beta/election/observe", r#"{"name":"ZTM="}"#));
    tokio::pin!(pending);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), &mut pending)
            .await
            .is_err()
    );
    let kv = KeyValue {
        key: b"e3/4d".to_vec(),
        create_revision: 56,
        mod_revision: 56,
        version: 1,
        value: b"a".to_vec(),
        lease: 77,
    };
    fake.observe.send(Ok(LeaderResponse {
        header: Some(etcd_header(56)),
        kv: Some(kv.clone()),
    }));
    let mut resp = pending.await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], JSON);
    assert_eq!(
        resp.headers()["grpc-metadata-content-type"],
        "application/grpc"
    );
    assert_eq!(
        fake.calls(),
        [Call::Observe(LeaderRequest {
            name: b"e3".to_vec()
        })]
    );
    // Both lines as etcd sent them for a campaign and a proclaim.
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        format!(
            "{{\"result\":{{\"header\":{},\"kv\":{{\"key\":\"ZTMvNGQ=\",\"create_revision\":\"56\",\"mod_revision\":\"56\",\"version\":\"1\",\"value\":\"YQ==\",\"lease\":\"77\"}}}}}}\n",
            etcd_header_json(56)
        )
    );
    fake.observe.send(Ok(LeaderResponse {
        header: Some(etcd_header(57)),
        kv: Some(KeyValue {
            mod_revision: 57,
            version: 2,
            value: b"b".to_vec(),
            ..kv
        }),
    }));
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        format!(
            "{{\"result\":{{\"header\":{},\"kv\":{{\"key\":\"ZTMvNGQ=\",\"create_revision\":\"56\",\"mod_revision\":\"57\",\"version\":\"2\",\"value\":\"Yg==\",\"lease\":\"77\"}}}}}}\n",
            etcd_header_json(57)
        )
    );
    fake.observe.send(Err(api::Error::NoLeader));
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        r#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}"#
    );
    assert_eq!(next_chunk(&mut resp).await, None);
    assert!(fake.observe.dropped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn observe_ends_with_the_service_stream_or_the_body() {
    // A stream that ends after the current leader: etcd's line for
    // /election-prefix, then the end of the body.
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    fake.observe.send(Ok(LeaderResponse {
        header: Some(etcd_header(4)),
        kv: Some(leader_kv()),
    }));
    fake.observe.close();
    let body = format!(r#"{{"name":"{NAME}"}}"#);
    let resp = gw.handle(post("/v3/election/observe", &body)).await;
    assert_eq!(
        support::text(resp).await,
        format!(
            "{{\"result\":{{\"header\":{},\"kv\":{{\"key\":\"{KEY}\",\"create_revision\":\"4\",\"mod_revision\":\"4\",\"version\":\"1\",\"value\":\"djE=\",\"lease\":\"77\"}}}}}}\n",
            etcd_header_json(4)
        )
    );

    // A stream that ends at once: 200 and nothing, as for a keepalive.
    // An empty body asks for the empty name; values after the first are
    // not read as requests.
    for body in ["", "{} not json"] {
        let fake = Fake::new();
        let gw = fake.gateway(Limits::default());
        fake.observe.close();
        let resp = gw.handle(post("/v3/election/observe", body)).await;
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().get("grpc-metadata-content-type").is_none());
        assert_eq!(support::text(resp).await, "");
        assert_eq!(fake.calls(), [Call::Observe(LeaderRequest::default())]);
    }

    // Dropping the body drops the service's stream.
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    fake.observe.send(Ok(LeaderResponse::default()));
    let mut resp = gw.handle(post("/v3/election/observe", "{}")).await;
    assert_eq!(next_chunk(&mut resp).await.unwrap(), "{\"result\":{}}\n");
    assert!(!fake.observe.dropped.load(Ordering::SeqCst));
    drop(resp);
    assert!(fake.observe.dropped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn observe_failures() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    // A bad request is refused as a unary call's is (code 3, 400).
    let cases = [
        (
            "{bad",
            r#"{"error":"invalid character 'b' looking for beginning of object key string","message":"invalid character 'b' looking for beginning of object key string","code":3}"#,
        ),
        (
            "[]",
            r#"{"error":"json: cannot unmarshal array into Go value of type map[string]json.RawMessage","message":"json: cannot unmarshal array into Go value of type map[string]json.RawMessage","code":3}"#,
        ),
    ];
    for (body, want) in cases {
        let (status, content_type, text) = answer(&gw, post("/v3/election/observe", body)).await;
        assert_eq!(
            (status, content_type.as_str(), text.as_str()),
            (400, JSON, want)
        );
    }
    assert!(fake.calls().is_empty());

    // An oversize request fails the started stream, as etcd's gRPC server
    // does (etcd: 2200005 vs. 2097152 at the default limit).
    let gw = fake.gateway(Limits {
        max_request_bytes: 1000,
        ..Limits::default()
    });
    let big = format!(r#"{{"name":"{}"}}"#, "eHh4".repeat(200_000));
    let resp = gw.handle(post("/v3/election/observe", &big)).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("grpc-metadata-content-type").is_none());
    assert_eq!(
        support::text(resp).await,
        r#"{"error":{"grpc_code":8,"http_code":429,"message":"grpc: received message larger than max (600004 vs. 525288)","http_status":"Too Many Requests"}}"#
    );
    assert!(fake.calls().is_empty());

    // A failure before the first leader sets the status.
    let gw = fake.gateway(Limits::default());
    fake.observe.send(Err(api::Error::Canceled));
    let resp = gw.handle(post("/v3/election/observe", "{}")).await;
    assert_eq!(resp.status(), 408);
    assert_eq!(
        support::text(resp).await,
        r#"{"error":{"grpc_code":1,"http_code":408,"message":"context canceled","http_status":"Request Timeout"}}"#
    );
}
