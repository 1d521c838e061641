//! The server binary's library half: etcd's flags ([`Flags`]), the client
//! listeners (gRPC, the JSON gateway, `/health`, `/version`, `/metrics` on
//! one port, optionally TLS), the peer listener, and the wiring of the
//! layers: gateway → rpc → etcdserver → raftnode / wait / mvcc. [`start`]
//! runs a member in-process (the integration tests use it); `main` adds
//! signal handling. Nothing here decides request semantics: that belongs to
//! the layers it wires.

mod corrupt_check;
mod endpoints;
mod flags;
mod metrics;
mod serve;
mod snapshot_source;
mod tls;
mod urls;

use std::net::SocketAddr;
use std::sync::Arc;

use etcdserver::{ClusterState, EtcdServer, Join, Member, Peers, ServerConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use flags::{Exit, Flags};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Flag(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("listen tcp {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Server(#[from] etcdserver::Error),
    #[error(transparent)]
    Peer(#[from] peer::Error),
    #[error("cannot read the WAL: {0}")]
    Raft(#[from] raftnode::Error),
    #[error("{0}")]
    Corrupt(String),
    #[error("the member has been permanently removed from the cluster")]
    Removed,
}

/// Logs go to stderr, where etcd writes them and where etcd's test harness
/// looks for "enabled capabilities for version" and "published".
pub fn init_logging(flags: &Flags) {
    let level = if flags.debug {
        "debug"
    } else {
        flags.log_level.as_str()
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},h2=warn,hyper=warn,tower=warn"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

fn parse_initial_cluster(s: &str) -> Result<Vec<(String, Vec<String>)>, Error> {
    let mut members: Vec<(String, Vec<String>)> = Vec::new();
    for part in flags::split_list(s) {
        let (name, url) = part
            .split_once('=')
            .ok_or_else(|| Error::Flag(format!("--initial-cluster: {part:?} is not name=URL")))?;
        urls::parse_peer(url)?;
        match members.iter_mut().find(|(n, _)| n == name) {
            Some((_, urls)) => urls.push(url.to_string()),
            None => members.push((name.to_string(), vec![url.to_string()])),
        }
    }
    Ok(members)
}

fn server_config(flags: &Flags) -> Result<ServerConfig, Error> {
    if flags.heartbeat_interval == 0 || flags.election_timeout < 5 * flags.heartbeat_interval {
        return Err(Error::Flag(format!(
            "--election-timeout[{}ms] should be at least as 5 times as --heartbeat-interval[{}ms]",
            flags.election_timeout, flags.heartbeat_interval
        )));
    }
    let quota = if flags.quota_backend_bytes > 0 {
        flags.quota_backend_bytes
    } else {
        2 * 1024 * 1024 * 1024
    };
    Ok(ServerConfig {
        name: flags.name.clone(),
        data_dir: flags.data_dir().into(),
        initial_cluster: parse_initial_cluster(&flags.initial_cluster())?,
        initial_cluster_state: if flags.initial_cluster_state == "existing" {
            ClusterState::Existing
        } else {
            ClusterState::New
        },
        initial_cluster_token: flags.initial_cluster_token.clone(),
        join: None,
        strict_reconfig_check: flags.strict_reconfig_check,
        advertise_client_urls: flags::split_list(&flags.advertise_client_urls),
        advertise_peer_urls: flags::split_list(&flags.initial_advertise_peer_urls),
        snapshot_count: flags.snapshot_count,
        snapshot_catch_up_entries: flags.experimental_snapshot_catchup_entries,
        heartbeat_interval: flags.heartbeat(),
        election_timeout: flags.election(),
        max_request_bytes: flags.max_request_bytes,
        quota_backend_bytes: quota,
        pre_vote: flags.pre_vote,
        // As etcd: zero keeps the default.
        watch_progress_notify_interval: Some(flags.experimental_watch_progress_notify_interval)
            .filter(|d| !d.is_zero())
            .unwrap_or(std::time::Duration::from_secs(600)),
    })
}

async fn bind_peer(url: &urls::PeerListenUrl) -> Result<serve::PeerListener, Error> {
    match &url.addr {
        urls::PeerAddr::Tcp(addr) => TcpListener::bind(addr)
            .await
            .map(serve::PeerListener::Tcp)
            .map_err(|source| Error::Bind {
                addr: *addr,
                source,
            }),
        urls::PeerAddr::Unix(path) => {
            // a socket file left by a member that did not stop cleanly
            let _ = std::fs::remove_file(path);
            tokio::net::UnixListener::bind(path)
                .map(serve::PeerListener::Unix)
                .map_err(|e| Error::Flag(format!("listen unix {}: {e}", path.display())))
        }
    }
}

/// A member joining an existing cluster learns the cluster id and the
/// members from the peers `--initial-cluster` names (other than itself).
async fn discover(cfg: &ServerConfig, tls: Option<peer::ClientTls>) -> Result<Join, Error> {
    let others: Vec<String> = cfg
        .initial_cluster
        .iter()
        .flat_map(|(_, urls)| urls.iter())
        .filter(|u| !cfg.advertise_peer_urls.contains(u))
        .cloned()
        .collect();
    let (cluster_id, members) = peer::fetch_members(&others, tls).await?;
    Ok(Join {
        cluster_id,
        members: members.into_iter().map(Member::from_pb).collect(),
    })
}

async fn bind(url: &urls::ListenUrl) -> Result<TcpListener, Error> {
    TcpListener::bind(url.addr)
        .await
        .map_err(|source| Error::Bind {
            addr: url.addr,
            source,
        })
}

/// A running member.
pub struct Running {
    pub server: EtcdServer,
    /// The client addresses actually bound (a port of 0 picks a free one).
    pub client_addrs: Vec<SocketAddr>,
    transport: peer::PeerTransport,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Resolves once this member learns it was removed from the cluster:
    /// by applying its own removal, or from a peer that refuses it.
    pub async fn wait_removed(&self) {
        tokio::select! {
            () = self.server.wait_removed() => {}
            () = self.transport.wait_removed() => {}
        }
    }

    /// Stops serving, then stops the member.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        while self.tasks.join_next().await.is_some() {}
        self.server.stop().await;
        self.transport.stop();
    }
}

/// Starts a member as `flags` describe and serves clients once it has
/// published itself through raft.
pub async fn start(flags: Flags) -> Result<Running, Error> {
    let mut cfg = server_config(&flags)?;
    let client_urls = urls::parse_list(&flags::split_list(&flags.listen_client_urls))?;
    let peer_urls = urls::parse_peer_list(&flags::split_list(&flags.listen_peer_urls))?;
    let metrics_urls = urls::parse_list(&flags::split_list(&flags.listen_metrics_urls))?;

    let client_tls = tls::TlsFiles {
        cert_file: flags.cert_file.clone(),
        key_file: flags.key_file.clone(),
        trusted_ca_file: flags.trusted_ca_file.clone(),
        client_cert_auth: flags.client_cert_auth,
        auto: flags.auto_tls,
    };
    let peer_tls = tls::TlsFiles {
        cert_file: flags.peer_cert_file.clone(),
        key_file: flags.peer_key_file.clone(),
        trusted_ca_file: flags.peer_trusted_ca_file.clone(),
        client_cert_auth: flags.peer_client_cert_auth,
        auto: flags.peer_auto_tls,
    };
    let hosts = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let client_acceptor = tls::acceptor(&client_tls, &hosts)?;
    let peer_acceptor = tls::acceptor(&peer_tls, &hosts)?;
    let peer_dialer = tls::peer_client(&peer_tls, &hosts)?.map(peer::ClientTls::new);
    let any_tls_peer = peer_urls.iter().any(|u| u.tls);
    for (tls_wanted, acceptor, what) in [
        (
            client_urls.iter().any(|u| u.tls),
            &client_acceptor,
            "client",
        ),
        (any_tls_peer, &peer_acceptor, "peer"),
    ] {
        if tls_wanted && acceptor.is_none() {
            return Err(Error::Tls(format!(
                "TLS {what} listener requires a certificate (--{}cert-file/--{}key-file or --{}auto-tls)",
                if what == "peer" { "peer-" } else { "" },
                if what == "peer" { "peer-" } else { "" },
                if what == "peer" { "peer-" } else { "" },
            )));
        }
    }

    let mut peer_listeners = Vec::new();
    for url in &peer_urls {
        peer_listeners.push((bind_peer(url).await?, url.tls));
    }
    let mut client_listeners = Vec::new();
    for url in &client_urls {
        client_listeners.push((bind(url).await?, url.tls));
    }
    let mut metrics_listeners = Vec::new();
    for url in &metrics_urls {
        metrics_listeners.push((bind(url).await?, url.tls));
    }
    let client_addrs = client_listeners
        .iter()
        .filter_map(|(l, _)| l.local_addr().ok())
        .collect();

    if cfg.initial_cluster_state == ClusterState::Existing
        && raftnode::read_identity(&cfg.member_dir())?.is_none()
    {
        cfg.join = Some(discover(&cfg, peer_dialer.clone()).await?);
    }
    let (local_id, cluster_id) = etcdserver::identity(&cfg)?;
    let snap_dir = cfg.member_dir().join("snap");
    std::fs::create_dir_all(&snap_dir)
        .map_err(|e| Error::Flag(format!("cannot create {}: {e}", snap_dir.display())))?;
    let dump = Arc::new(snapshot_source::StoreDump::new(snap_dir.clone()));
    let mut peer_cfg = peer::PeerConfig::new(local_id, cluster_id, snap_dir);
    peer_cfg.tls = peer_dialer;
    peer_cfg.request_timeout = cfg.request_timeout();
    let transport = peer::PeerTransport::new(peer_cfg.clone(), dump.clone())?;
    let server = EtcdServer::start(
        cfg,
        Peers {
            transport: Arc::new(transport.clone()),
            leader_link: Some(Arc::new(transport.clone())),
        },
    )
    .await?;
    let _ = dump.store.set(Arc::clone(server.store()));
    transport.attach(server.raft().clone());

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let peer_routes = serve::PeerRoutes {
        grpc: peer::peer_service(
            peer::PeerService::new(
                peer_cfg.clone(),
                server.raft().clone(),
                Arc::new(server.clone()),
                Arc::new(server.clone()),
            )
            .with_maintenance(Arc::new(server.clone()))
            .with_removed_check({
                let server = server.clone();
                Arc::new(move |id| server.was_removed(id))
            }),
        ),
        version: format!(
            r#"{{"etcdserver":"{}","etcdcluster":"{}"}}"#,
            etcdserver::SERVER_VERSION,
            etcdserver::CLUSTER_VERSION
        ),
    };
    for (listener, is_tls) in peer_listeners {
        let acceptor = if is_tls { peer_acceptor.clone() } else { None };
        tasks.spawn(serve::peer_loop(
            listener,
            acceptor,
            peer_routes.clone(),
            shutdown_rx.clone(),
        ));
    }

    let mut running = Running {
        server: server.clone(),
        client_addrs,
        transport: transport.clone(),
        shutdown,
        tasks,
    };
    if flags.experimental_initial_corrupt_check
        && let Err(err) = corrupt_check::check(&server, &peer_cfg).await
    {
        running.shutdown().await;
        return Err(err);
    }
    // A member that was removed while it was down never publishes: its
    // peers refuse it, and it stops.
    tokio::select! {
        () = server.wait_published() => {}
        () = transport.wait_removed() => {
            running.shutdown().await;
            return Err(Error::Removed);
        }
    }

    let limits = rpc::Limits {
        max_txn_ops: flags.max_txn_ops,
        max_request_bytes: flags.max_request_bytes,
    };
    let kv: Arc<dyn api::Kv> = Arc::new(server.clone());
    let watch: Arc<dyn api::Watch> = Arc::new(server.clone());
    let lease: Arc<dyn api::Lease> = Arc::new(server.clone());
    // Election and lock are recipes on top of KV, watch and lease, as in
    // etcd; they build only well-formed requests, so they call the server
    // directly.
    let backend = rpc::Backend {
        election: Arc::new(concurrency::ElectionService::new(
            Arc::clone(&kv),
            Arc::clone(&watch),
            Arc::clone(&lease),
        )),
        lock: Arc::new(concurrency::LockService::new(
            Arc::clone(&kv),
            Arc::clone(&watch),
            Arc::clone(&lease),
        )),
        kv,
        watch,
        lease,
        maintenance: Arc::new(server.clone()),
        cluster: Arc::new(server.clone()),
    };
    let front = rpc::front(backend, Arc::new(server.clone()), limits);
    let grpc_metrics = rpc::GrpcMetrics::default();
    let registry = Arc::new(metrics::registry(&server, &grpc_metrics));
    let routes = serve::ClientRoutes {
        max_concurrent_streams: flags.max_concurrent_streams,
        grpc: rpc::routes(&front, limits, &grpc_metrics),
        gateway: gateway::Gateway::new(
            gateway::Services {
                kv: Arc::clone(&front.kv),
                watch: Arc::clone(&front.watch),
                maintenance: Arc::clone(&front.maintenance),
                cluster: Arc::clone(&front.cluster),
                lease: Some(Arc::clone(&front.lease)),
                election: Some(Arc::clone(&front.election)),
                lock: Some(Arc::clone(&front.lock)),
            },
            gateway::Limits {
                max_request_bytes: flags.max_request_bytes,
                max_concurrent_streams: flags.max_concurrent_streams,
            },
        ),
        endpoints: Arc::new(endpoints::Endpoints {
            server: server.clone(),
            registry,
        }),
    };
    for (listener, is_tls) in client_listeners.into_iter().chain(metrics_listeners) {
        let acceptor = if is_tls {
            client_acceptor.clone()
        } else {
            None
        };
        running.tasks.spawn(serve::client_loop(
            listener,
            acceptor,
            routes.clone(),
            shutdown_rx.clone(),
        ));
    }
    tracing::info!("ready to serve client requests");
    Ok(running)
}

/// Runs a member until SIGINT or SIGTERM, then stops it gracefully.
pub async fn run_until_signal(flags: Flags) -> Result<(), Error> {
    let running = start(flags).await?;
    tokio::select! {
        () = wait_for_signal() => tracing::info!("received a stop signal, shutting down"),
        () = running.wait_removed() => {
            tracing::warn!("the member has been permanently removed from the cluster");
            // etcd lets the answer to the removal reach its client first
            tokio::time::sleep(10 * running.server.config().heartbeat_interval).await;
        }
    }
    running.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
