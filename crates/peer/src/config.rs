use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How this member talks to its peers.
#[derive(Clone)]
pub struct PeerConfig {
    /// This member's id, sent with every call.
    pub local_id: u64,
    /// The cluster this member belongs to; calls from another cluster are
    /// refused and calls to one fail.
    pub cluster_id: u64,
    /// `<member>/snap`: received snapshot databases are written here.
    pub snap_dir: PathBuf,
    /// Client TLS for `https` and `unixs` peer URLs.
    pub tls: Option<ClientTls>,
    /// Bound on opening one connection (TCP, and TLS when asked for).
    pub dial_timeout: Duration,
    /// Bound on one forwarded lease call across all the leader's URLs.
    pub request_timeout: Duration,
    /// Raft messages waiting for one peer; beyond this they are dropped and
    /// raft is told the peer is unreachable (etcd's stream buffer size).
    pub queue_capacity: usize,
}

impl PeerConfig {
    pub fn new(local_id: u64, cluster_id: u64, snap_dir: impl Into<PathBuf>) -> Self {
        Self {
            local_id,
            cluster_id,
            snap_dir: snap_dir.into(),
            tls: None,
            dial_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            queue_capacity: 4096,
        }
    }
}

impl std::fmt::Debug for PeerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConfig")
            .field("local_id", &format_args!("{:x}", self.local_id))
            .field("cluster_id", &format_args!("{:x}", self.cluster_id))
            .field("snap_dir", &self.snap_dir)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// The rustls client configuration used for `https` and `unixs` peers
/// (peer certificates, trusted CAs). HTTP/2 is negotiated over it whatever
/// ALPN list the caller set.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
}

impl ClientTls {
    pub fn new(config: rustls::ClientConfig) -> Self {
        let mut config = config;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Self {
            config: Arc::new(config),
        }
    }

    pub(crate) fn config(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.config)
    }
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls")
    }
}

/// Where the leader gets the store dump that travels with a raft snapshot;
/// implemented by the server over the MVCC store.
pub trait SnapshotSource: Send + Sync + 'static {
    /// A consistent dump of the whole store, as the store writes it. Read on
    /// a blocking thread.
    fn open(&self) -> Result<Box<dyn std::io::Read + Send>, String>;
}
