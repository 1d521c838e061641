//! The gateway behind hyper's server on a real socket, spoken to in raw
//! HTTP/1.1: a unary call, a chunked watch, and a client that hangs up
//! mid-watch, which must release the watch.

#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;

use api::pb::etcdserverpb::WatchResponse;
use gateway::{Gateway, Limits};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use support::{Fake, HEADER_JSON, header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves `gateway` on a fresh port until the test ends.
async fn serve(gateway: Gateway) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let gateway = gateway.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, Infallible>(gateway.handle(req).await) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Reads until `needle` has arrived; returns everything read.
async fn read_until(stream: &mut TcpStream, seen: &mut String, needle: &str) {
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("data in time")
            .unwrap();
        assert!(n > 0, "connection closed before {needle:?}; got {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[tokio::test]
async fn unary_call_over_http1() {
    let fake = Fake::new();
    let addr = serve(fake.gateway(Limits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = r#"{"key":"Zm9v","value":"YmFy"}"#;
    let request = format!(
        "POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let want_body = format!(r#"{{"header":{HEADER_JSON}}}"#);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.contains("content-type: application/json\r\n"),
        "{response}"
    );
    assert!(
        response.contains(&format!("content-length: {}\r\n", want_body.len())),
        "{response}"
    );
    assert!(
        response.ends_with(&format!("\r\n\r\n{want_body}")),
        "{response}"
    );
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test]
async fn watch_streams_over_http1_and_is_released_on_hang_up() {
    let fake = Fake::new();
    let addr = serve(fake.gateway(Limits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // A chunked body the client keeps open, as a long-lived watch does.
    let create = r#"{"create_request":{"key":"Zm9v"}}"#;
    let request = format!(
        "POST /v3/watch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{create}\r\n",
        create.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "\"created\":true}}\n").await;
    assert!(seen.starts_with("HTTP/1.1 200 OK\r\n"), "{seen}");
    assert!(seen.contains("transfer-encoding: chunked\r\n"), "{seen}");

    let side = fake.watch.get();
    side.send(Ok(WatchResponse {
        header: Some(header()),
        watch_id: 0,
        compact_revision: 5,
        ..Default::default()
    }));
    read_until(&mut stream, &mut seen, "\"compact_revision\":\"5\"}}\n").await;

    // A second request on the same body reaches the watch.
    let cancel = r#"{"cancel_request":{"watch_id":"0"}}"#;
    stream
        .write_all(format!("{:x}\r\n{cancel}\r\n", cancel.len()).as_bytes())
        .await
        .unwrap();
    read_until(&mut stream, &mut seen, "\"canceled\":true}}\n").await;
    assert_eq!(side.requests.lock().unwrap().len(), 2);

    drop(stream);
    for _ in 0..500 {
        if side.responses_dropped.load(Ordering::SeqCst)
            && side.requests_ended.load(Ordering::SeqCst)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the watch outlived its client: responses dropped {}, requests ended {}",
        side.responses_dropped.load(Ordering::SeqCst),
        side.requests_ended.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn watch_with_a_finished_body_is_released_on_hang_up() {
    let fake = Fake::new();
    let addr = serve(fake.gateway(Limits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let create = r#"{"create_request":{"key":"Zm9v"}}"#;
    let request = format!(
        "POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{create}",
        create.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "\"created\":true}}\n").await;
    let side = fake.watch.get();
    drop(stream);
    for _ in 0..500 {
        if side.responses_dropped.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the watch outlived its client");
}

#[tokio::test]
async fn watch_that_never_answered_is_released_on_hang_up() {
    let fake = Fake::new();
    let addr = serve(fake.gateway(Limits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    let side = fake.watch.get();
    // Wait until the watch is open: the fake's request side ends at once.
    for _ in 0..500 {
        if side.requests_ended.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(side.requests_ended.load(Ordering::SeqCst));
    drop(stream);
    for _ in 0..500 {
        if side.responses_dropped.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the watch outlived its client");
}
