//! Accepting connections. The client port speaks HTTP/1.1 and HTTP/2 (h2c,
//! or h2 by ALPN under TLS) on one socket: requests with a gRPC content type
//! go to the tonic routes, `/health`, `/version` and `/metrics` to the
//! endpoints, everything else to the JSON gateway.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::endpoints::Endpoints;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// Everything a client connection may be routed to.
#[derive(Clone)]
pub struct ClientRoutes {
    /// `--max-concurrent-streams`: HTTP/2 streams per client connection.
    pub max_concurrent_streams: u32,
    pub grpc: tonic::service::Routes,
    pub gateway: gateway::Gateway,
    pub endpoints: Arc<Endpoints>,
}

fn is_grpc<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

impl ClientRoutes {
    async fn route(self, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        if is_grpc(&req) {
            let resp = match self.grpc.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            };
            return Ok(resp.map(|b| b.map_err(BoxError::from).boxed_unsync()));
        }
        if let Some(resp) = self.endpoints.serve(req.method(), req.uri().path()).await {
            return Ok(resp.map(|b| b.map_err(|never| match never {}).boxed_unsync()));
        }
        let resp = self.gateway.handle(req).await;
        Ok(resp.map(|b| b.map_err(BoxError::from).boxed_unsync()))
    }
}

/// Serves `routes` on `listener` until `shutdown` turns true; open
/// connections are then dropped.
pub async fn client_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    routes: ClientRoutes,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(err) => {
                    tracing::warn!("accept failed: {err}");
                    continue;
                }
            },
            _ = shutdown.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let _ = stream.set_nodelay(true);
        let routes = routes.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http2()
                .max_concurrent_streams(routes.max_concurrent_streams);
            let service = hyper::service::service_fn(move |req| routes.clone().route(req));
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => {
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                    Err(err) => {
                        tracing::debug!("TLS handshake with {peer} failed: {err}");
                        return;
                    }
                },
                None => {
                    builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
            };
            if let Err(err) = result {
                tracing::debug!("connection from {peer} ended: {err}");
            }
        });
    }
    connections.abort_all();
}

/// What the peer port serves: the peer protocol's gRPC routes and, for
/// anything else, `/version` as etcd's peer handler answers it.
#[derive(Clone)]
pub struct PeerRoutes {
    pub grpc: tonic::service::Routes,
    pub version: String,
}

impl PeerRoutes {
    async fn route(self, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
        if is_grpc(&req) {
            let resp = match self.grpc.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            };
            return Ok(resp.map(|b| b.map_err(BoxError::from).boxed_unsync()));
        }
        let mut resp = Response::new(
            http_body_util::Full::new(Bytes::new())
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
        if req.uri().path() == "/version" {
            *resp.body_mut() = http_body_util::Full::new(Bytes::from(self.version))
                .map_err(|never| match never {})
                .boxed_unsync();
        } else {
            *resp.status_mut() = http::StatusCode::NOT_FOUND;
        }
        Ok(resp)
    }
}

/// A peer listener: TCP, or a unix socket for `unix://` peer URLs.
pub enum PeerListener {
    Tcp(TcpListener),
    Unix(tokio::net::UnixListener),
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> Io for T {}

impl PeerListener {
    async fn accept(&self) -> std::io::Result<Box<dyn Io>> {
        match self {
            PeerListener::Tcp(l) => {
                let (stream, _) = l.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok(Box::new(stream))
            }
            PeerListener::Unix(l) => Ok(Box::new(l.accept().await?.0)),
        }
    }
}

/// Serves the peer protocol on `listener` until `shutdown` turns true.
pub async fn peer_loop(
    listener: PeerListener,
    tls: Option<TlsAcceptor>,
    routes: PeerRoutes,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(err) => {
                    tracing::warn!("peer accept failed: {err}");
                    continue;
                }
            },
            _ = shutdown.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let tls = tls.clone();
        let routes = routes.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| routes.clone().route(req));
            let builder = auto::Builder::new(TokioExecutor::new());
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => {
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                    Err(err) => {
                        tracing::debug!("peer TLS handshake failed: {err}");
                        return;
                    }
                },
                None => {
                    builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
            };
            if let Err(err) = result {
                tracing::debug!("peer connection ended: {err}");
            }
        });
    }
    connections.abort_all();
}
