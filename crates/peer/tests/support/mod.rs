//! A small cluster over real gRPC for the peer tests: raft nodes in temp
//! dirs, each with a `PeerTransport` and a `PeerService` served on its own
//! listener, plus stand-ins for the lease and cluster services.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api::pb::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, MemberListRequest, MemberListResponse,
};
use api::{RequestStream, ResponseStream};
use futures::StreamExt as _;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use peer::{PeerConfig, PeerService, PeerTransport, SnapshotSource, peer_service};
use raftnode::eraftpb::{EntryType, Snapshot};
use raftnode::{Apply, RaftConfig, RaftNode, Transport};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::{JoinHandle, JoinSet};

pub const WAIT: Duration = Duration::from_secs(20);
pub const CLUSTER: u64 = 0xc1c1;

/// A dump of `len` bytes that is not all alike, so misplaced chunks show.
pub fn dump_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 1000) as u8).collect()
}

#[derive(Clone)]
pub struct FixedDump(pub Arc<Vec<u8>>);

impl SnapshotSource for FixedDump {
    fn open(&self) -> Result<Box<dyn std::io::Read + Send>, String> {
        Ok(Box::new(std::io::Cursor::new(self.0.as_ref().clone())))
    }
}

/// Leases: a keepalive of lease `id` answers TTL `id * 10`; lease 404 does
/// not exist; lease 400 is a malformed request.
pub struct FakeLease;

#[async_trait::async_trait]
impl api::Lease for FakeLease {
    async fn lease_grant(&self, _: LeaseGrantRequest) -> Result<LeaseGrantResponse, api::Error> {
        Err(api::Error::NotCapable)
    }
    async fn lease_revoke(&self, _: LeaseRevokeRequest) -> Result<LeaseRevokeResponse, api::Error> {
        Err(api::Error::NotCapable)
    }
    async fn lease_keep_alive(
        &self,
        requests: RequestStream<LeaseKeepAliveRequest>,
    ) -> ResponseStream<LeaseKeepAliveResponse> {
        Box::pin(requests.map(|req| match req.id {
            404 => Err(api::Error::LeaseNotFound),
            id => Ok(LeaseKeepAliveResponse {
                header: None,
                id,
                ttl: id * 10,
            }),
        }))
    }
    async fn lease_time_to_live(
        &self,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, api::Error> {
        match req.id {
            404 => Err(api::Error::LeaseNotFound),
            400 => Err(api::Error::InvalidArgument("bad lease request".into())),
            id => Ok(LeaseTimeToLiveResponse {
                header: None,
                id,
                ttl: 42,
                granted_ttl: 60,
                keys: if req.keys {
                    vec![b"k".to_vec()]
                } else {
                    Vec::new()
                },
            }),
        }
    }
    async fn lease_leases(&self, _: LeaseLeasesRequest) -> Result<LeaseLeasesResponse, api::Error> {
        Err(api::Error::NotCapable)
    }
}

/// A fixed member list.
pub struct FakeCluster(pub Vec<api::pb::etcdserverpb::Member>);

#[async_trait::async_trait]
impl api::Cluster for FakeCluster {
    async fn member_list(&self, _: MemberListRequest) -> Result<MemberListResponse, api::Error> {
        Ok(MemberListResponse {
            header: None,
            members: self.0.clone(),
        })
    }
}

/// Where a member listens: bound before anyone starts, so that every
/// member's URL is known up front.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
    Tls(TcpListener, tokio_rustls::TlsAcceptor),
}

impl Listener {
    pub async fn tcp() -> (Listener, String) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        (Listener::Tcp(l), url)
    }

    pub async fn rebind(url: &str) -> Listener {
        if let Some(path) = peer::unix_socket_path(url) {
            let _ = std::fs::remove_file(&path);
            return Listener::Unix(UnixListener::bind(path).unwrap());
        }
        let addr = url.trim_start_matches("http://");
        // The port was ours a moment ago; its old connections may linger.
        let deadline = Instant::now() + WAIT;
        loop {
            match TcpListener::bind(addr).await {
                Ok(l) => return Listener::Tcp(l),
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("rebinding {addr}: {e}"),
            }
        }
    }
}

/// Serves `routes` on `listener` until the returned task is aborted, which
/// also drops every open connection (like a killed process).
pub fn serve(listener: Listener, routes: tonic::service::Routes) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            match &listener {
                Listener::Tcp(l) => {
                    let (stream, _) = l.accept().await.unwrap();
                    conns.spawn(serve_conn(stream, routes.clone()));
                }
                Listener::Unix(l) => {
                    let (stream, _) = l.accept().await.unwrap();
                    conns.spawn(serve_conn(stream, routes.clone()));
                }
                Listener::Tls(l, acceptor) => {
                    let (stream, _) = l.accept().await.unwrap();
                    let acceptor = acceptor.clone();
                    let routes = routes.clone();
                    conns.spawn(async move {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            serve_conn(stream, routes).await;
                        }
                    });
                }
            }
        }
    })
}

async fn serve_conn<S>(stream: S, routes: tonic::service::Routes)
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(routes))
        .await;
}

/// What a member's application saw on its Apply stream.
#[derive(Clone, Default)]
pub struct Applied {
    data: Arc<Mutex<Vec<Vec<u8>>>>,
    snapshots: Arc<Mutex<Vec<Snapshot>>>,
}

impl Applied {
    pub fn data(&self) -> Vec<Vec<u8>> {
        self.data.lock().unwrap().clone()
    }

    pub fn snapshots(&self) -> Vec<Snapshot> {
        self.snapshots.lock().unwrap().clone()
    }
}

/// Consumes the Apply stream like the server does: raftnode has already
/// applied conf changes to raft, so the application records and reports
/// progress.
pub fn spawn_applier(node: RaftNode, mut applies: UnboundedReceiver<Apply>) -> Applied {
    let applied = Applied::default();
    let sink = applied.clone();
    tokio::spawn(async move {
        while let Some(apply) = applies.recv().await {
            let mut last = None;
            if let Some(snapshot) = apply.snapshot {
                last = Some(snapshot.get_metadata().index);
                sink.snapshots.lock().unwrap().push(snapshot);
            }
            for entry in &apply.entries {
                last = Some(entry.index);
                if entry.get_entry_type() == EntryType::EntryNormal && !entry.data.is_empty() {
                    sink.data.lock().unwrap().push(entry.data.to_vec());
                }
            }
            if let Some(index) = last {
                node.advance_applied(index);
            }
        }
    });
    applied
}

pub struct Member {
    pub id: u64,
    pub dir: PathBuf,
    pub url: String,
    pub node: RaftNode,
    pub transport: PeerTransport,
    pub applied: Applied,
    server: JoinHandle<()>,
}

impl Member {
    pub fn snap_dir(&self) -> PathBuf {
        self.dir.join("snap")
    }

    /// Stops raft and drops the listener and every connection.
    pub async fn kill(&self) {
        self.server.abort();
        self.transport.stop();
        self.node.stop().await;
    }
}

pub struct Spec<'a> {
    pub id: u64,
    pub dir: &'a Path,
    /// Every member's URL, this one's included.
    pub urls: &'a [(u64, String)],
    pub voters: &'a [u64],
    pub cluster_id: u64,
    pub dump: FixedDump,
    pub catch_up_entries: u64,
    /// What the member's cluster service lists.
    pub members: Vec<api::pb::etcdserverpb::Member>,
}

pub async fn start_member(spec: Spec<'_>, listener: Listener) -> Member {
    let Spec {
        id,
        dir,
        urls,
        voters,
        cluster_id,
        dump,
        catch_up_entries,
        members,
    } = spec;
    let mut cfg = RaftConfig::new(id, dir, voters.to_vec());
    cfg.tick_interval = Duration::from_millis(20);
    cfg.cluster_id = cluster_id;
    cfg.pre_vote = true;
    cfg.snapshot_catch_up_entries = catch_up_entries;
    let snap_dir = cfg.snap_dir();
    let mut peer_cfg = PeerConfig::new(id, cluster_id, &snap_dir);
    peer_cfg.dial_timeout = Duration::from_millis(500);
    let transport = PeerTransport::new(peer_cfg.clone(), Arc::new(dump)).unwrap();
    for (peer, url) in urls {
        transport.add_peer(*peer, std::slice::from_ref(url));
    }
    let (node, applies) = RaftNode::start(cfg, Arc::new(transport.clone())).unwrap();
    transport.attach(node.clone());
    let service = PeerService::new(
        peer_cfg,
        node.clone(),
        Arc::new(FakeLease),
        Arc::new(FakeCluster(members)),
    );
    let server = serve(listener, peer_service(service));
    let applied = spawn_applier(node.clone(), applies);
    let url = urls
        .iter()
        .find(|(peer, _)| *peer == id)
        .map(|(_, url)| url.clone())
        .unwrap();
    Member {
        id,
        dir: dir.to_path_buf(),
        url,
        node,
        transport,
        applied,
        server,
    }
}

pub async fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}

/// The leader every given member agrees on.
pub async fn agreed_leader(members: &[&Member]) -> u64 {
    let mut leader = 0;
    let agreed = wait_until(WAIT, || {
        let first = members[0].node.status().leader_id;
        leader = first;
        first != 0 && members.iter().all(|m| m.node.status().leader_id == first)
    })
    .await;
    assert!(agreed, "no agreed leader");
    leader
}

pub async fn wait_for_data(member: &Member, count: usize) -> Vec<Vec<u8>> {
    wait_until(WAIT, || member.applied.data().len() >= count).await;
    member.applied.data()
}
