//! Opening a gRPC channel to one peer URL: TCP or a unix socket, then TLS
//! when the scheme asks for it, then HTTP/2.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

use crate::peer_url::{Network, PeerUrl};
use crate::{ClientTls, Error};

/// HTTP/2 pings on idle connections, so that a peer that vanished without
/// closing its socket (power loss, partition) is noticed.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(3);

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

type Connecting = Pin<Box<dyn Future<Output = Result<TokioIo<Box<dyn Io>>, Error>> + Send>>;

/// The connector tonic calls for (re)connecting a channel.
#[derive(Clone)]
struct Dialer {
    url: PeerUrl,
    tls: Option<ClientTls>,
}

impl Dialer {
    async fn dial(self) -> Result<TokioIo<Box<dyn Io>>, Error> {
        let failed = |reason: String| Error::Connect {
            url: self.url.url.clone(),
            reason,
        };
        let plain: Box<dyn Io> = match self.url.network {
            Network::Tcp => {
                let tcp = TcpStream::connect(&self.url.address)
                    .await
                    .map_err(|e| failed(e.to_string()))?;
                // Raft heartbeats are tiny and latency-bound.
                let _ = tcp.set_nodelay(true);
                Box::new(tcp)
            }
            Network::Unix => Box::new(
                UnixStream::connect(&self.url.address)
                    .await
                    .map_err(|e| failed(e.to_string()))?,
            ),
        };
        if !self.url.tls {
            return Ok(TokioIo::new(plain));
        }
        let tls = self
            .tls
            .as_ref()
            .ok_or_else(|| failed("no client TLS configured for a secure peer URL".into()))?;
        let name = ServerName::try_from(self.url.server_name.clone())
            .map_err(|e| failed(format!("bad TLS server name: {e}")))?;
        let stream = TlsConnector::from(tls.config())
            .connect(name, plain)
            .await
            .map_err(|e| failed(format!("TLS handshake: {e}")))?;
        Ok(TokioIo::new(Box::new(stream)))
    }
}

impl tower::Service<http::Uri> for Dialer {
    type Response = TokioIo<Box<dyn Io>>;
    type Error = Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: http::Uri) -> Self::Future {
        Box::pin(self.clone().dial())
    }
}

/// A connected channel to `url`.
pub(crate) async fn connect(
    url: &str,
    tls: Option<&ClientTls>,
    timeout: Duration,
) -> Result<Channel, Error> {
    let parsed = PeerUrl::parse(url)?;
    let failed = |reason: String| Error::Connect {
        url: url.to_string(),
        reason,
    };
    // The scheme on the wire is always http: TLS, if any, is the dialer's.
    let endpoint = Endpoint::from_shared(format!("http://{}", parsed.address))
        .map_err(|e| failed(e.to_string()))?
        .connect_timeout(timeout)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true);
    let dialer = Dialer {
        url: parsed,
        tls: tls.cloned(),
    };
    // The connect timeout covers the dial; this also bounds the TLS and
    // HTTP/2 handshakes with a peer that accepts but never answers.
    match tokio::time::timeout(timeout * 2, endpoint.connect_with_connector(dialer)).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(e)) => Err(failed(source_text(&e))),
        Err(_) => Err(failed("timed out".into())),
    }
}

/// The first of `urls` that accepts a connection, with its URL.
pub(crate) async fn connect_any(
    urls: &[String],
    tls: Option<&ClientTls>,
    timeout: Duration,
) -> Result<(String, Channel), Error> {
    let mut last = Error::NoUrls;
    for url in urls {
        match connect(url, tls, timeout).await {
            Ok(channel) => return Ok((url.clone(), channel)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// tonic's transport error says only "transport error"; the cause is in its
/// sources.
fn source_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}
