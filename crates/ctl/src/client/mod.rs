//! The etcd v3 client under every command, shaped after clientv3 3.4 as
//! etcdctl uses it: channels connect lazily and each call waits for a
//! connection until its deadline (gRPC's wait-for-ready), reads are retried
//! while the server is unavailable, every failed attempt is logged to
//! stderr as clientv3's zap logger does, and `--user` authenticates once per
//! connection and attaches the token to each call. The streaming services
//! follow clientv3 too: [`Watcher`] multiplexes watches over one resuming
//! Watch stream, [`KeepAlive`] renews a lease a third of its TTL apart.

mod call;
pub mod dial;
pub mod endpoint;
mod lease;
mod rpc_error;
pub mod tls;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

pub use call::Retry;
pub use endpoint::Endpoint;
pub use lease::KeepAlive;
pub use rpc_error::{PERMISSION_DENIED, RpcError};
pub use tls::TlsFiles;
pub use watch::{Delivery, WatchHandle, WatchUpdate, Watcher};

use crate::error::Error;
use crate::exit;

/// A user and password for `Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

/// clientv3's `Config` as etcdctl fills it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub endpoints: Vec<String>,
    pub dial_timeout: Duration,
    pub keepalive_time: Duration,
    pub keepalive_timeout: Duration,
    /// TLS for endpoints without a scheme; `None` means plaintext.
    pub tls: Option<TlsFiles>,
    pub auth: Option<Credentials>,
}

/// How grpc-go names the connection in logs and words a failure to reach
/// it: clientv3's balanced channel or a direct (`passthrough`) dial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Balancer,
    Passthrough,
}

/// A connection to the cluster (or to one member).
pub struct Client {
    cfg: ClientConfig,
    endpoints: Vec<Endpoint>,
    tls: Option<Arc<rustls::ClientConfig>>,
    https: Option<Arc<rustls::ClientConfig>>,
    style: Style,
    target: String,
    channel: Option<Channel>,
    next_endpoint: usize,
    /// A connection failed; the next attempt waits `backoff` first.
    broken: bool,
    backoff: std::time::Duration,
    /// Why the last connection attempt failed, in grpc-go's words.
    last_failure: Option<String>,
    token: Option<MetadataValue<Ascii>>,
    log: String,
}

/// A random RFC 4122 version 4 UUID, as clientv3 names its resolver.
fn uuid_v4() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl Client {
    /// A client for all configured endpoints (clientv3.New). Fails as
    /// etcdctl's config step does: bad TLS files are bad arguments.
    pub fn new(cfg: ClientConfig) -> Result<Client, Error> {
        Self::build(cfg, Style::Balancer)
    }

    fn build(mut cfg: ClientConfig, style: Style) -> Result<Client, Error> {
        // clientv3 authenticates only with both a user and a password.
        cfg.auth = cfg
            .auth
            .filter(|c| !c.user.is_empty() && !c.password.is_empty());
        let endpoints: Vec<Endpoint> = cfg.endpoints.iter().map(|e| Endpoint::parse(e)).collect();
        let tls = cfg.tls.as_ref().map(tls::client_config).transpose()?;
        let needs_default = tls.is_none() && endpoints.iter().any(|e| e.tls == Some(true));
        let https = if needs_default {
            Some(tls::client_config(&TlsFiles::default())?)
        } else {
            tls.clone()
        };
        let first = endpoints.first().map_or_else(String::new, |e| match style {
            Style::Balancer => e.host.clone(),
            Style::Passthrough => e.raw.clone(),
        });
        let target = match style {
            Style::Balancer => format!("endpoint://client-{}/{first}", uuid_v4()),
            Style::Passthrough => format!("passthrough:///{first}"),
        };
        Ok(Client {
            cfg,
            endpoints,
            tls,
            https,
            style,
            target,
            channel: None,
            next_endpoint: 0,
            broken: false,
            backoff: call::RECONNECT_BASE,
            last_failure: None,
            token: None,
            log: String::new(),
        })
    }

    /// A client that talks to one member only, as clientv3's maintenance
    /// calls that name an endpoint do.
    pub fn for_endpoint(&self, endpoint: &str) -> Result<Client, Error> {
        let cfg = ClientConfig {
            endpoints: vec![endpoint.to_string()],
            ..self.cfg.clone()
        };
        Self::build(cfg, Style::Passthrough)
    }

    /// The same configuration on its own connection (etcdctl makes one
    /// client per endpoint for `endpoint health`).
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Authenticates when a user is configured, within the dial timeout.
    /// A server without auth is fine; any other failure is etcdctl's
    /// `ExitBadConnection`.
    pub async fn connect(&mut self) -> Result<(), Error> {
        match self.authenticate().await {
            Ok(()) => Ok(()),
            Err(Error::Rpc(e)) => Err(Error::exit(exit::BAD_CONNECTION, e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// What the client logged since the last call, for stderr.
    pub fn take_log(&mut self) -> String {
        std::mem::take(&mut self.log)
    }
}
