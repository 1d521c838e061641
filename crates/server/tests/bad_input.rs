//! Bad input gets etcd's error, and the server keeps serving afterwards.

#![allow(clippy::unwrap_used)]

use std::ffi::OsString;
use std::time::Duration;

use api::pb::etcdserverpb::kv_client::KvClient;
use api::pb::etcdserverpb::{
    CompactionRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, request_op::Request,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::Code;
use tonic::transport::Channel;

async fn start(extra: &[&str]) -> (server::Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<OsString> = [
        "etcd",
        "--name",
        "m0",
        "--listen-client-urls",
        "http://127.0.0.1:0",
        "--advertise-client-urls",
        "http://127.0.0.1:2379",
        "--listen-peer-urls",
        "http://127.0.0.1:0",
        "--initial-advertise-peer-urls",
        "http://127.0.0.1:2380",
        "--initial-cluster",
        "m0=http://127.0.0.1:2380",
        "--data-dir",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(dir.path().join("data").into());
    args.extend(extra.iter().map(OsString::from));
    let flags = server::Flags::from_env_and_args(args).ok().unwrap();
    (server::start(flags).await.unwrap(), dir)
}

async fn client(running: &server::Running) -> KvClient<Channel> {
    let ep = format!("http://{}", running.client_addrs[0]);
    KvClient::connect(ep)
        .await
        .unwrap()
        .max_encoding_message_size(64 << 20)
}

fn put(key: &[u8], value: Vec<u8>) -> PutRequest {
    PutRequest {
        key: key.to_vec(),
        value,
        ..Default::default()
    }
}

fn put_op(key: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestPut(put(key.as_bytes(), b"v".to_vec()))),
    }
}

async fn expect_err<T: std::fmt::Debug>(
    call: impl std::future::Future<Output = Result<T, tonic::Status>>,
    code: Code,
    message: &str,
) {
    let status = call.await.unwrap_err();
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(status.message(), message);
}

/// After every error the server must still answer.
async fn still_serving(kv: &mut KvClient<Channel>) {
    kv.put(put(b"alive", b"yes".to_vec())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_errors_are_etcds() {
    let (running, _dir) = start(&["--max-request-bytes", "4096", "--max-txn-ops", "4"]).await;
    let mut kv = client(&running).await;

    expect_err(
        kv.put(put(b"", b"v".to_vec())),
        Code::InvalidArgument,
        "etcdserver: key is not provided",
    )
    .await;
    still_serving(&mut kv).await;

    expect_err(
        kv.put(put(b"big", vec![b'x'; 5000])),
        Code::InvalidArgument,
        "etcdserver: request is too large",
    )
    .await;
    still_serving(&mut kv).await;
    // Far above the limit, gRPC itself refuses to decode the message.
    let status = kv.put(put(b"huge", vec![b'x'; 2 << 20])).await.unwrap_err();
    assert_ne!(status.code(), Code::Ok);
    still_serving(&mut kv).await;

    let leased = PutRequest {
        lease: 42,
        ..put(b"k", b"v".to_vec())
    };
    expect_err(
        kv.put(leased),
        Code::NotFound,
        "etcdserver: requested lease not found",
    )
    .await;
    still_serving(&mut kv).await;

    let too_many = TxnRequest {
        success: (0..5).map(|i| put_op(&format!("k{i}"))).collect(),
        ..Default::default()
    };
    expect_err(
        kv.txn(too_many),
        Code::InvalidArgument,
        "etcdserver: too many operations in txn request",
    )
    .await;
    let dup = TxnRequest {
        success: vec![put_op("a"), put_op("a")],
        ..Default::default()
    };
    expect_err(
        kv.txn(dup),
        Code::InvalidArgument,
        "etcdserver: duplicate key given in txn request",
    )
    .await;
    still_serving(&mut kv).await;

    for i in 0..5 {
        kv.put(put(b"key", format!("v{i}").into_bytes()))
            .await
            .unwrap();
    }
    let rev = kv
        .range(RangeRequest {
            key: b"key".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let current = rev.header.unwrap().revision;
    expect_err(
        kv.range(RangeRequest {
            key: b"key".to_vec(),
            revision: current + 10,
            ..Default::default()
        }),
        Code::OutOfRange,
        "etcdserver: mvcc: required revision is a future revision",
    )
    .await;
    kv.compact(CompactionRequest {
        revision: current - 1,
        physical: true,
    })
    .await
    .unwrap();
    expect_err(
        kv.range(RangeRequest {
            key: b"key".to_vec(),
            revision: current - 2,
            ..Default::default()
        }),
        Code::OutOfRange,
        "etcdserver: mvcc: required revision has been compacted",
    )
    .await;
    expect_err(
        kv.compact(CompactionRequest {
            revision: current - 2,
            physical: false,
        }),
        Code::OutOfRange,
        "etcdserver: mvcc: required revision has been compacted",
    )
    .await;
    still_serving(&mut kv).await;
    running.shutdown().await;
}

/// A raw HTTP/1.1 exchange; returns the status code and the body.
async fn http(addr: std::net::SocketAddr, request: String) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_errors_and_vanishing_clients() {
    let (running, _dir) = start(&[]).await;
    let addr = running.client_addrs[0];
    let mut kv = client(&running).await;

    let (status, body) = http(
        addr,
        post(
            "/v3/kv/put",
            r#"{"key":"bXlrZXk=","value":"dGhpcyBpcyBhd2Vzb21l"}"#,
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""revision":"2""#), "{body}");

    let (status, body) = http(addr, post("/v3/kv/put", r#"{"key": "#)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"error\""), "{body}");

    let (status, body) = http(addr, post("/v3/kv/put", r#"{"value":"dg=="}"#)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("etcdserver: key is not provided"), "{body}");

    let (status, _) = http(addr, post("/v3/no/such/path", "{}")).await;
    assert_eq!(status, 404);
    still_serving(&mut kv).await;

    // A client that promises a body and disappears halfway.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"key\":")
        .await
        .unwrap();
    drop(stream);
    // A gRPC caller that gives up before the answer.
    let mut impatient = kv.clone();
    let _ = tokio::time::timeout(
        Duration::from_micros(1),
        impatient.put(put(b"gone", b"v".to_vec())),
    )
    .await;
    still_serving(&mut kv).await;
    let (status, body) = http(addr, post("/v3/kv/range", r#"{"key":"YWxpdmU="}"#)).await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""value":"eWVz""#), "{body}");
    running.shutdown().await;
}
