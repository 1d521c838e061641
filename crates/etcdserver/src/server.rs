//! `EtcdServer`: one member. [`EtcdServer::start`] opens the MVCC store,
//! starts raft, starts the apply loop and publishes this member; the service
//! trait impls (kv.rs, watch.rs, maintenance.rs) answer clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use api::pb::etcdserverpb::InternalRaftRequest;
use api::pb::etcdserverpb::ResponseHeader;
use api::pb::membershippb::{Attributes, ClusterMemberAttrSetRequest};
use raftnode::{RaftConfig, RaftNode, Transport};
use tokio::sync::watch;

use crate::apply::{self, Applied};
use crate::config::{ClusterState, ServerConfig};
use crate::id::RequestIds;
use crate::lessor::Lessor;
use crate::membership::Membership;
use crate::{Error, version};

/// Server-level counters exported as etcd's `etcd_server_*` metrics.
#[derive(Default)]
pub struct ServerCounters {
    pub proposals_committed: AtomicU64,
    pub proposals_applied: AtomicU64,
    pub proposals_pending: AtomicU64,
    pub proposals_failed: AtomicU64,
    pub leader_changes_seen: AtomicU64,
}

pub(crate) struct Inner {
    pub(crate) cfg: ServerConfig,
    pub(crate) membership: Arc<Membership>,
    pub(crate) store: Arc<mvcc::Store>,
    pub(crate) raft: RaftNode,
    pub(crate) wait: Arc<wait::Registry<apply::Outcome>>,
    pub(crate) ids: RequestIds,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) leader_link: Option<Arc<dyn api::LeaderLink>>,
    pub(crate) removed: watch::Receiver<bool>,
    /// The raft index the apply loop has applied and made visible.
    pub(crate) applied: watch::Receiver<u64>,
    pub(crate) cluster_version: watch::Receiver<Option<String>>,
    pub(crate) published: watch::Receiver<bool>,
    pub(crate) counters: Arc<ServerCounters>,
    pub(crate) lessor: Arc<Lessor>,
    stopped: AtomicBool,
    apply_thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How a member reaches the others: raft traffic, and the leader for what
/// only the leader answers. A one-member cluster needs neither.
pub struct Peers {
    pub transport: Arc<dyn Transport>,
    pub leader_link: Option<Arc<dyn api::LeaderLink>>,
}

impl Peers {
    pub fn none() -> Peers {
        Peers {
            transport: Arc::new(raftnode::NoPeers),
            leader_link: None,
        }
    }
}

/// This member's id and its cluster's, as [`EtcdServer::start`] will
/// settle them: from the WAL of an existing data dir, else from
/// `--initial-cluster` (or `cfg.join`). The peer layer needs them before the
/// member starts.
pub fn identity(cfg: &ServerConfig) -> Result<(u64, u64), Error> {
    if let Some(ids) = raftnode::read_identity(&cfg.member_dir())? {
        return Ok(ids);
    }
    let (m, _) = fresh_membership(cfg)?;
    Ok((m.local_id, m.cluster_id))
}

/// A brand-new member's membership and the voters it starts raft with:
/// the cluster `--initial-cluster` describes, or (joining) the one the
/// peers reported, with no initial voters since the leader tells it all.
fn fresh_membership(cfg: &ServerConfig) -> Result<(Membership, Vec<u64>), Error> {
    match (cfg.initial_cluster_state, &cfg.join) {
        (ClusterState::New, _) => {
            let m = Membership::bootstrap(cfg)?;
            let voters = m.voter_ids();
            Ok((m, voters))
        }
        (ClusterState::Existing, Some(join)) => Ok((
            Membership::join(cfg, join.cluster_id, join.members.clone())?,
            Vec::new(),
        )),
        (ClusterState::Existing, None) => Err(Error::Config(
            "--initial-cluster-state=existing needs the member list of the cluster".into(),
        )),
    }
}

/// Who this member is and whom it starts raft with: a restart takes its
/// ids from the WAL and its members from the store; a new member takes them
/// from `--initial-cluster` (or from the peers when joining) and records the
/// members in the store.
fn boot_membership(
    cfg: &ServerConfig,
    store: &mvcc::Store,
) -> Result<(Membership, Vec<u64>), Error> {
    if let Some((local_id, cluster_id)) = raftnode::read_identity(&cfg.member_dir())? {
        if !store.members()?.is_empty() {
            return Ok((
                Membership::restore(cluster_id, local_id, store)?,
                Vec::new(),
            ));
        }
        // Written before members were kept in the store: only a member of
        // the cluster --initial-cluster describes can be in that state.
        let m = Membership::bootstrap(cfg)?;
        if (m.local_id, m.cluster_id) != (local_id, cluster_id) {
            return Err(Error::Config(format!(
                "the data dir belongs to member {local_id:x} of cluster {cluster_id:x}, not to the --initial-cluster given"
            )));
        }
        record_members(store, &m)?;
        return Ok((m, Vec::new()));
    }
    let (m, voters) = fresh_membership(cfg)?;
    record_members(store, &m)?;
    Ok((m, voters))
}

fn record_members(store: &mvcc::Store, m: &Membership) -> Result<(), Error> {
    let mut batch = store.write_batch()?;
    for member in m.members() {
        batch.put_member(member.id, &member.encode())?;
    }
    batch.commit(true)?;
    Ok(())
}

/// One etcd member. Cheap to clone; all clones are the same member.
#[derive(Clone)]
pub struct EtcdServer {
    pub(crate) inner: Arc<Inner>,
}

impl EtcdServer {
    /// Starts a member: a new one bootstraps the cluster `cfg` describes (or
    /// joins the one `cfg.join` names), an existing data dir is recovered.
    /// Returns once raft and the apply loop run;
    /// [`EtcdServer::wait_published`] tells when it can serve.
    pub async fn start(cfg: ServerConfig, peers: Peers) -> Result<Self, Error> {
        let snap_dir = cfg.member_dir().join("snap");
        std::fs::create_dir_all(&snap_dir).map_err(|source| Error::Io {
            path: snap_dir.display().to_string(),
            source,
        })?;
        let store = Arc::new(mvcc::Store::open(
            &cfg.db_path(),
            mvcc::StoreOptions::default(),
        )?);
        let (membership, initial_voters) = boot_membership(&cfg, &store)?;
        let membership = Arc::new(membership);
        for m in membership.members() {
            if m.id != membership.local_id {
                peers.transport.add_peer(m.id, &m.peer_urls);
            }
        }

        let mut raft_cfg = RaftConfig::new(membership.local_id, cfg.member_dir(), initial_voters);
        raft_cfg.tick_interval = cfg.heartbeat_interval;
        raft_cfg.election_tick = cfg.election_ticks();
        raft_cfg.heartbeat_tick = 1;
        raft_cfg.pre_vote = cfg.pre_vote;
        raft_cfg.cluster_id = membership.cluster_id;
        raft_cfg.snapshot_catch_up_entries = cfg.snapshot_catch_up_entries;
        let (raft, applies) = RaftNode::start(raft_cfg, Arc::clone(&peers.transport))?;

        let (applied_tx, applied_rx) = watch::channel(store.consistent_index());
        let (version_tx, version_rx) = watch::channel(store.cluster_version()?);
        let (published_tx, published_rx) = watch::channel(false);
        let (removed_tx, removed_rx) = watch::channel(false);
        let wait = Arc::new(wait::Registry::new());
        let counters = Arc::new(ServerCounters::default());
        let lessor = Arc::new(Lessor::new(cfg.min_lease_ttl()));
        lessor.restore(store.leases()?.into_iter().map(|l| (l.id, l.ttl)));

        let apply_loop = apply::ApplyLoop {
            store: Arc::clone(&store),
            raft: raft.clone(),
            wait: Arc::clone(&wait),
            membership: Arc::clone(&membership),
            transport: Arc::clone(&peers.transport),
            snap_dir,
            applied: applied_tx,
            cluster_version: version_tx,
            published: published_tx,
            removed: removed_tx,
            counters: Arc::clone(&counters),
            snapshot_count: cfg.snapshot_count,
            lessor: Arc::clone(&lessor),
            runtime: tokio::runtime::Handle::current(),
        };
        let thread = std::thread::Builder::new()
            .name("apply".into())
            .spawn(move || apply_loop.run(applies))
            .map_err(|source| Error::Io {
                path: "apply thread".into(),
                source,
            })?;

        let server = EtcdServer {
            inner: Arc::new(Inner {
                ids: RequestIds::new(membership.local_id),
                cfg,
                membership,
                store,
                raft,
                wait,
                transport: peers.transport,
                leader_link: peers.leader_link,
                applied: applied_rx,
                cluster_version: version_rx,
                published: published_rx,
                removed: removed_rx,
                counters,
                lessor,
                stopped: AtomicBool::new(false),
                apply_thread: std::sync::Mutex::new(Some(thread)),
            }),
        };
        server.spawn_leader_duties();
        server.spawn_publish();
        server.spawn_lease_expiry();
        Ok(server)
    }

    /// The raft node, for the peer layer to step messages into.
    pub fn raft(&self) -> &RaftNode {
        &self.inner.raft
    }

    /// Whether `id` was a member and has been removed for good.
    pub fn was_removed(&self, id: u64) -> bool {
        self.inner.membership.is_removed(id)
    }

    /// Resolves once this member has been removed from the cluster: it must
    /// stop serving (etcd exits).
    pub async fn wait_removed(&self) {
        let mut rx = self.inner.removed.clone();
        let _ = rx.wait_for(|removed| *removed).await;
    }

    pub fn member_id(&self) -> u64 {
        self.inner.membership.local_id
    }

    pub fn cluster_id(&self) -> u64 {
        self.inner.membership.cluster_id
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.cfg
    }

    pub fn counters(&self) -> &ServerCounters {
        &self.inner.counters
    }

    pub fn store(&self) -> &Arc<mvcc::Store> {
        &self.inner.store
    }

    pub fn raft_status(&self) -> raftnode::NodeStatus {
        self.inner.raft.status()
    }

    pub fn has_leader(&self) -> bool {
        self.inner.raft.status().leader_id != 0
    }

    pub fn cluster_version(&self) -> Option<String> {
        self.inner.cluster_version.borrow().clone()
    }

    /// Resolves once this member's attributes went through raft, which is when
    /// etcd starts serving clients.
    pub async fn wait_published(&self) {
        let mut rx = self.inner.published.clone();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Stops raft and the apply loop; in-flight requests fail with
    /// "server stopped".
    pub async fn stop(&self) {
        self.inner.stopped.store(true, Ordering::Relaxed);
        self.inner.raft.stop().await;
        let handle = match self.inner.apply_thread.lock() {
            Ok(mut h) => h.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Relaxed)
    }

    pub(crate) fn header(&self) -> ResponseHeader {
        ResponseHeader {
            cluster_id: self.cluster_id(),
            member_id: self.member_id(),
            revision: self.inner.store.current_revision(),
            raft_term: self.inner.raft.status().term,
        }
    }

    /// Publishes this member's name and client URLs through raft, retrying
    /// until it succeeds, as etcd does on every start.
    fn spawn_publish(&self) {
        let server = self.clone();
        tokio::spawn(async move {
            let cfg = &server.inner.cfg;
            let req = InternalRaftRequest {
                cluster_member_attr_set: Some(ClusterMemberAttrSetRequest {
                    member_id: server.member_id(),
                    member_attributes: Some(Attributes {
                        name: cfg.name.clone(),
                        client_urls: cfg.advertise_client_urls.clone(),
                    }),
                }),
                ..Default::default()
            };
            loop {
                match server.raft_request(req.clone()).await {
                    Ok(Applied::Nothing) => {
                        tracing::info!(
                            "published {{Name:{} ClientURLs:[{}]}} to cluster {:x}",
                            cfg.name,
                            cfg.advertise_client_urls.join(" "),
                            server.cluster_id()
                        );
                        return;
                    }
                    Ok(_) => return,
                    Err(api::Error::Stopped) => return,
                    Err(err) => {
                        tracing::warn!(
                            "failed to publish local member to cluster through raft: {err}"
                        );
                        tokio::time::sleep(cfg.heartbeat_interval).await;
                    }
                }
            }
        });
    }

    /// While this member leads, makes sure the cluster version is set; when
    /// it stops leading, its leases stop expiring (a new leader's take over).
    fn spawn_leader_duties(&self) {
        let server = self.clone();
        let mut leaders = self.inner.raft.leader_changes();
        tokio::spawn(async move {
            loop {
                let leads = leaders.borrow_and_update().leader_id == server.member_id();
                if !leads && server.inner.lessor.is_primary() {
                    server.inner.lessor.demote();
                }
                if leads && !server.inner.lessor.is_primary() {
                    server.promote_lessor().await;
                }
                if leads && server.cluster_version().is_none() {
                    let req = InternalRaftRequest {
                        cluster_version_set: Some(
                            api::pb::membershippb::ClusterVersionSetRequest {
                                ver: version::CLUSTER_VERSION.into(),
                            },
                        ),
                        ..Default::default()
                    };
                    if let Err(err) = server.raft_request(req).await {
                        tracing::warn!("failed to set the cluster version: {err}");
                        tokio::time::sleep(server.inner.cfg.heartbeat_interval).await;
                        continue;
                    }
                }
                if leaders.changed().await.is_err() {
                    return;
                }
                server
                    .inner
                    .counters
                    .leader_changes_seen
                    .fetch_add(1, Ordering::Relaxed);
            }
        });
    }
}

impl EtcdServer {
    /// A new leader starts expiring leases once it has applied every entry
    /// of earlier terms (its own first entry included), as etcd promotes its
    /// lessor on applying that entry; each lease then gets its TTL plus an
    /// election timeout from now.
    async fn promote_lessor(&self) {
        let target = self.raft_status().last_index;
        let mut applied = self.inner.applied.clone();
        if applied.wait_for(|a| *a >= target).await.is_err() {
            return;
        }
        if self.raft_status().is_leader() {
            self.inner
                .lessor
                .promote(self.inner.cfg.election_timeout, std::time::Instant::now());
        }
    }
}

impl std::fmt::Debug for EtcdServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdServer")
            .field("name", &self.inner.cfg.name)
            .field("member_id", &format_args!("{:x}", self.member_id()))
            .field("cluster_id", &format_args!("{:x}", self.cluster_id()))
            .finish()
    }
}

impl api::HeaderSource for EtcdServer {
    fn header(&self) -> ResponseHeader {
        EtcdServer::header(self)
    }
}
