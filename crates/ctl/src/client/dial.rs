//! Opening the byte stream under a gRPC channel: TCP, then TLS when the
//! endpoint asks for it. Failures carry grpc-go's wording (`dial tcp ..:
//! connect: connection refused`) because the retry log quotes it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::Error;

/// The OS's text for an I/O error the way Go's syscall package words it:
/// lowercase, without Rust's `(os error N)` suffix.
pub fn os_text(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::NotFound {
        return "no such file or directory".to_string();
    }
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A connected stream, plain or TLS.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Dials one endpoint; tonic calls it whenever the channel (re)connects.
#[derive(Clone)]
pub struct Dialer {
    pub host: String,
    pub tls: Option<(Arc<ClientConfig>, String)>,
}

impl Dialer {
    async fn dial(self) -> Result<TokioIo<Stream>, Error> {
        let tcp = TcpStream::connect(&self.host).await.map_err(|e| {
            let addr = self.host.clone();
            Error::Dial(format!(
                "transport: Error while dialing dial tcp {addr}: connect: {}",
                os_text(&e)
            ))
        })?;
        let _ = tcp.set_nodelay(true);
        let Some((config, name)) = self.tls else {
            return Ok(TokioIo::new(Stream::Plain(tcp)));
        };
        let server = ServerName::try_from(name.clone())
            .map_err(|e| Error::Dial(format!("transport: authentication handshake failed: {e}")))?;
        let tls = TlsConnector::from(config)
            .connect(server, tcp)
            .await
            .map_err(|e| Error::Dial(format!("transport: authentication handshake failed: {e}")))?;
        Ok(TokioIo::new(Stream::Tls(Box::new(tls))))
    }
}

impl tower::Service<http::Uri> for Dialer {
    type Response = TokioIo<Stream>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: http::Uri) -> Self::Future {
        Box::pin(self.clone().dial())
    }
}
