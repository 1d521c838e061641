//! The watch stream through `Gateway::handle`: request decoding, one
//! `{"result":...}` line per response delivered as its own chunk, and the
//! ways a stream fails. Literal bodies were read from etcd 3.4.23.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use api::pb::etcdserverpb::{WatchResponse, watch_create_request, watch_request};
use api::pb::mvccpb::{Event, KeyValue, event};
use bytes::Bytes;
use gateway::{GatewayBody, Limits};
use http::Response;
use http_body_util::BodyExt;
use support::{Fake, HEADER_JSON, header, post};

const CREATED: &str = r#"{"result":{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"2","raft_term":"3"},"created":true}}
"#;

/// The next data chunk of a streaming body, or `None` at its end.
async fn next_chunk(resp: &mut Response<GatewayBody>) -> Option<String> {
    let frame = tokio::time::timeout(Duration::from_secs(5), resp.body_mut().frame())
        .await
        .expect("a chunk in time")?;
    let data: Bytes = frame.unwrap().into_data().unwrap();
    Some(String::from_utf8(data.to_vec()).unwrap())
}

#[tokio::test]
async fn events_arrive_one_line_each() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let mut resp = gw
        .handle(post(
            "/v3/watch",
            r#"{"create_request":{"key":"Zm9v","filters":["NOPUT"],"watch_id":"7","prev_kv":true}}"#,
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(
        resp.headers()["grpc-metadata-content-type"],
        "application/grpc"
    );
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        format!(
            "{{\"result\":{{\"header\":{HEADER_JSON},\"watch_id\":\"7\",\"created\":true}}}}\n"
        )
    );

    let side = fake.watch.get();
    let create = side.requests.lock().unwrap()[0].clone();
    let Some(watch_request::RequestUnion::CreateRequest(create)) = create.request_union else {
        panic!("a create request");
    };
    assert_eq!(create.key, b"foo");
    assert_eq!(create.watch_id, 7);
    assert!(create.prev_kv);
    assert_eq!(
        create.filters,
        [watch_create_request::FilterType::Noput as i32]
    );

    side.send(Ok(WatchResponse {
        header: Some(header()),
        watch_id: 7,
        events: vec![
            Event {
                r#type: event::EventType::Put as i32,
                kv: Some(KeyValue {
                    key: b"foo".to_vec(),
                    create_revision: 2,
                    mod_revision: 2,
                    version: 1,
                    value: b"bar".to_vec(),
                    lease: 0,
                }),
                prev_kv: None,
            },
            Event {
                r#type: event::EventType::Delete as i32,
                kv: Some(KeyValue {
                    key: b"foo".to_vec(),
                    mod_revision: 3,
                    ..Default::default()
                }),
                prev_kv: None,
            },
        ],
        ..Default::default()
    }));
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        format!(
            "{{\"result\":{{\"header\":{HEADER_JSON},\"watch_id\":\"7\",\"events\":[{{\"kv\":{{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"YmFy\"}}}},{{\"type\":\"DELETE\",\"kv\":{{\"key\":\"Zm9v\",\"mod_revision\":\"3\"}}}}]}}}}\n"
        )
    );

    side.send(Ok(WatchResponse {
        header: Some(header()),
        watch_id: -1,
        ..Default::default()
    }));
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        format!("{{\"result\":{{\"header\":{HEADER_JSON},\"watch_id\":\"-1\"}}}}\n")
    );

    drop(resp);
    assert!(
        side.responses_dropped.load(Ordering::SeqCst),
        "dropping the body drops the watch"
    );
}

#[tokio::test]
async fn several_requests_in_one_body() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let mut resp = gw
        .handle(post(
            "/v3beta/watch",
            r#"{"create_request":{"key":"Zm9v"}} {"cancel_request":{"watch_id":"0"}}{bad"#,
        ))
        .await;
    assert_eq!(next_chunk(&mut resp).await.unwrap(), CREATED);
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        format!("{{\"result\":{{\"header\":{HEADER_JSON},\"canceled\":true}}}}\n")
    );
    let side = fake.watch.get();
    // The bad third message ends the request side, not the response.
    for _ in 0..100 {
        if side.requests_ended.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(side.requests_ended.load(Ordering::SeqCst));
    assert_eq!(side.requests.lock().unwrap().len(), 2);
    side.send(Ok(WatchResponse {
        header: Some(header()),
        ..Default::default()
    }));
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        format!("{{\"result\":{{\"header\":{HEADER_JSON}}}}}\n")
    );
}

#[tokio::test]
async fn a_bad_first_message_fails_the_request() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let cases = [
        (
            "{bad",
            r#"{"error":"invalid character 'b' looking for beginning of object key string","message":"invalid character 'b' looking for beginning of object key string","code":2}"#,
        ),
        (
            "[]",
            r#"{"error":"json: cannot unmarshal array into Go value of type map[string]json.RawMessage","message":"json: cannot unmarshal array into Go value of type map[string]json.RawMessage","code":2}"#,
        ),
        (
            r#"{"create_request":{"key":5}}"#,
            r#"{"error":"json: cannot unmarshal number into Go value of type []uint8","message":"json: cannot unmarshal number into Go value of type []uint8","code":2}"#,
        ),
    ];
    for (body, want) in cases {
        let resp = gw.handle(post("/v3/watch", body)).await;
        assert_eq!(resp.status(), 500, "{body}");
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(support::text(resp).await, want);
    }
}

#[tokio::test]
async fn oversize_messages_end_the_stream() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits {
        max_request_bytes: 1000,
        ..Limits::default()
    });
    let big_key = "eHh4".repeat(200_000);
    let big = format!(r#"{{"create_request":{{"key":"{big_key}"}}}}"#);
    let chunk = r#"{"error":{"grpc_code":8,"http_code":429,"message":"grpc: received message larger than max (600008 vs. 525288)","http_status":"Too Many Requests"}}"#;

    // First: the status tells, the body is the error chunk alone.
    let resp = gw.handle(post("/v3/watch", &big)).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("grpc-metadata-content-type").is_none());
    assert_eq!(support::text(resp).await, chunk);

    // Later: the stream has started, so the error is its last chunk.
    let fake = Fake::new();
    let gw = fake.gateway(Limits {
        max_request_bytes: 1000,
        ..Limits::default()
    });
    let body = format!(r#"{{"create_request":{{"key":"Zm9v"}}}}{big}"#);
    let resp = gw.handle(post("/v3/watch", &body)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(support::text(resp).await, format!("{CREATED}{chunk}"));
    assert!(fake.watch.get().responses_dropped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn service_errors_end_the_stream() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let mut resp = gw
        .handle(post("/v3/watch", r#"{"create_request":{"key":"Zm9v"}}"#))
        .await;
    assert_eq!(next_chunk(&mut resp).await.unwrap(), CREATED);
    let side = fake.watch.get();
    side.send(Err(api::Error::NoLeader));
    side.send(Ok(WatchResponse::default()));
    assert_eq!(
        next_chunk(&mut resp).await.unwrap(),
        r#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}"#
    );
    assert_eq!(next_chunk(&mut resp).await, None, "nothing after the error");
    assert!(side.responses_dropped.load(Ordering::SeqCst));

    // An error before any response sets the status.
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    fake.watch.get().send(Err(api::Error::Compacted));
    let resp = gw.handle(post("/v3/watch", "")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        support::text(resp).await,
        r#"{"error":{"grpc_code":11,"http_code":400,"message":"etcdserver: mvcc: required revision has been compacted","http_status":"Bad Request"}}"#
    );
}

#[tokio::test]
async fn an_empty_body_waits_for_the_first_response() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits::default());
    let pending = gw.handle(post("/v3/watch", ""));
    tokio::pin!(pending);
    // Like etcd, nothing is sent until the watch says something.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), &mut pending)
            .await
            .is_err()
    );
    fake.watch.get().send(Ok(WatchResponse {
        header: Some(header()),
        created: true,
        ..Default::default()
    }));
    let mut resp = pending.await;
    assert_eq!(resp.status(), 200);
    assert_eq!(next_chunk(&mut resp).await.unwrap(), CREATED);
}

/// etcd's gateway forwards over one gRPC connection limited to
/// `--max-concurrent-streams`: a held watch occupies a stream, and further
/// calls wait for one to free up.
#[tokio::test]
async fn max_concurrent_streams_makes_calls_wait() {
    let fake = Fake::new();
    let gw = fake.gateway(Limits {
        max_concurrent_streams: 1,
        ..Limits::default()
    });
    let watching = gw
        .handle(post("/v3/watch", r#"{"create_request":{"key":"Zm9v"}}"#))
        .await;
    assert_eq!(watching.status(), 200);

    let range = gw.handle(post("/v3/kv/range", r#"{"key":"Zm9v"}"#));
    tokio::pin!(range);
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(200), &mut range)
            .await
            .is_err(),
        "the range must wait while the watch holds the only stream"
    );
    drop(watching);
    let answered = tokio::time::timeout(std::time::Duration::from_secs(5), range)
        .await
        .expect("the range runs once the watch is gone");
    assert_eq!(answered.status(), 200);
}
