//! The gateway behind hyper's server on a real socket, spoken to in raw
//! HTTP/1.1: a unary call, chunked watch and keepalive streams, and
//! clients that hang up mid-call, which must release the call (a watch, an
//! observe, a campaign or lock that is still waiting).

#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use api::pb::etcdserverpb::WatchResponse;
use api::pb::v3electionpb::LeaderResponse;
use gateway::{Gateway, Limits};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use support::{Fake, HEADER_JSON, etcd_header, header};
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

/// Waits up to five seconds for `flag`.
async fn raised(flag: &AtomicBool) -> bool {
    for _ in 0..500 {
        if flag.load(Ordering::SeqCst) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn keepalive_streams_over_http1() {
    let fake = Fake::new();
    let addr = serve(fake.gateway(Limits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let first = r#"{"ID":123}"#;
    let request = format!(
        "POST /v3/lease/keepalive HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{first}\r\n",
        first.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "\"ID\":\"123\",\"TTL\":\"60\"}}\n").await;
    assert!(seen.starts_with("HTTP/1.1 200 OK\r\n"), "{seen}");
    assert!(seen.contains("transfer-encoding: chunked\r\n"), "{seen}");

    // Each keepalive on the open body is answered as it arrives.
    let second = r#"{"ID":"456"}"#;
    stream
        .write_all(format!("{:x}\r\n{second}\r\n", second.len()).as_bytes())
        .await
        .unwrap();
    read_until(&mut stream, &mut seen, "\"ID\":\"456\",\"TTL\":\"60\"}}\n").await;

    // Ending the body ends the keepalives, and so the response.
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    read_until(&mut stream, &mut seen, "\r\n0\r\n\r\n").await;
    assert!(fake.keep_alive_requests_ended.load(Ordering::SeqCst));
}

#[tokio::test]
async fn waiting_campaign_and_lock_are_cancelled_on_hang_up() {
    let cases = [
        ("/v3/election/campaign", r#"{"name":"ZTE=","value":"djE="}"#),
        ("/v3/lock/lock", r#"{"name":"bXlsb2Nr"}"#),
    ];
    // With the body finished, and with a chunked body still open after
    // the request.
    for (path, body) in cases {
        for framing in ["content-length", "chunked"] {
            let request = if framing == "chunked" {
                format!(
                    "POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n",
                    body.len()
                )
            } else {
                format!(
                    "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
            };
            hang_up_while_held(path, &request).await;
        }
    }
}

async fn hang_up_while_held(path: &str, request: &str) {
    let fake = Fake::new();
    fake.hold.store(true, Ordering::SeqCst);
    let addr = serve(fake.gateway(Limits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    for _ in 0..500 {
        if !fake.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.calls().len(), 1, "{request} reached the service");
    assert!(!fake.held_dropped.load(Ordering::SeqCst));
    drop(stream);
    assert!(
        raised(&fake.held_dropped).await,
        "{path} outlived its client: {request}"
    );
}

#[tokio::test]
async fn observe_is_released_on_hang_up() {
    // Before the first leader, with the body finished.
    let fake = Fake::new();
    let addr = serve(fake.gateway(Limits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = r#"{"name":"ZTM="}"#;
    let request = format!(
        "POST /v3/election/observe HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    for _ in 0..500 {
        if !fake.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.calls().len(), 1);
    drop(stream);
    assert!(
        raised(&fake.observe.dropped).await,
        "observe outlived its client"
    );

    // Streaming, with the body still open after the request.
    let fake = Fake::new();
    let addr = serve(fake.gateway(Limits::default())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /v3/election/observe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    fake.observe.send(Ok(LeaderResponse {
        header: Some(etcd_header(56)),
        kv: None,
    }));
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "\"raft_term\":\"2\"}}}\n").await;
    drop(stream);
    assert!(
        raised(&fake.observe.dropped).await,
        "observe outlived its client"
    );
}
