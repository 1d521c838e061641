//! [`PeerService`]: the receiving side of the peer protocol, served on the
//! member's peer listener.

use std::sync::Arc;

use api::pb::etcdserverpb::{
    HashKvRequest, HashKvResponse, LeaseKeepAliveRequest, LeaseTimeToLiveRequest,
    LeaseTimeToLiveResponse, MemberListRequest, MemberPromoteRequest, MemberPromoteResponse,
};
use protobuf::Message as _;
use raftnode::RaftNode;
use raftnode::eraftpb::Message;
use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::api_status::to_status;
use crate::metadata::{check_cluster, check_to, removed, sender};
use crate::peerpb::peer_server::{Peer, PeerServer};
use crate::peerpb::{
    LeaseRenewRequest, LeaseRenewResponse, MembersRequest, MembersResponse, RaftAck, RaftBatch,
    SnapshotAck, SnapshotChunk,
};
use crate::{PeerConfig, snapshot_recv};

/// Largest message accepted: a raft batch carrying one oversized entry
/// must still get through, or raft would resend it forever.
const MAX_MESSAGE_BYTES: usize = 128 * 1024 * 1024;

/// What this member answers its peers with: its raft node for raft traffic
/// and snapshots, its lease and cluster services, and (when given) its
/// maintenance service for hash checks.
pub struct PeerService {
    cfg: PeerConfig,
    raft: RaftNode,
    lease: Arc<dyn api::Lease>,
    cluster: Arc<dyn api::Cluster>,
    maintenance: Option<Arc<dyn api::Maintenance>>,
    was_removed: Option<Arc<dyn Fn(u64) -> bool + Send + Sync>>,
}

impl PeerService {
    /// Also clears dumps in `cfg.snap_dir` that an earlier run of this
    /// member left half-received.
    pub fn new(
        cfg: PeerConfig,
        raft: RaftNode,
        lease: Arc<dyn api::Lease>,
        cluster: Arc<dyn api::Cluster>,
    ) -> Self {
        snapshot_recv::remove_partial(&cfg.snap_dir);
        Self {
            cfg,
            raft,
            lease,
            cluster,
            maintenance: None,
            was_removed: None,
        }
    }

    /// Tells a peer that `was_removed` says has left the cluster for good
    /// so, instead of taking its raft traffic (it then stops, as etcd's
    /// removed members do).
    pub fn with_removed_check(
        mut self,
        was_removed: Arc<dyn Fn(u64) -> bool + Send + Sync>,
    ) -> Self {
        self.was_removed = Some(was_removed);
        self
    }

    fn check_not_removed(&self, from: u64) -> Result<(), Status> {
        match &self.was_removed {
            Some(was_removed) if was_removed(from) => {
                tracing::warn!(
                    remote_peer_id = format_args!("{from:x}"),
                    "rejected the raft stream of a removed member"
                );
                Err(removed())
            }
            _ => Ok(()),
        }
    }

    /// Lets peers ask this member's HashKV; without it they are told the
    /// call is unimplemented.
    pub fn with_maintenance(mut self, maintenance: Arc<dyn api::Maintenance>) -> Self {
        self.maintenance = Some(maintenance);
        self
    }
}

/// The gRPC routes of the peer protocol, to serve on the peer listener
/// (alone or beside other routes).
pub fn peer_service(svc: PeerService) -> tonic::service::Routes {
    tonic::service::Routes::new(PeerServer::new(svc).max_decoding_message_size(MAX_MESSAGE_BYTES))
}

#[tonic::async_trait]
impl Peer for PeerService {
    type RaftStream = ReceiverStream<Result<RaftAck, Status>>;

    async fn raft(
        &self,
        request: Request<Streaming<RaftBatch>>,
    ) -> Result<Response<Self::RaftStream>, Status> {
        check_cluster(request.metadata(), self.cfg.cluster_id)?;
        check_to(request.metadata(), self.cfg.local_id)?;
        let from = sender(request.metadata());
        self.check_not_removed(from)?;
        let batches = request.into_inner();
        // Nothing is ever sent back; holding the sender keeps the response
        // open for as long as the peer keeps its side open.
        let (open, acks) = mpsc::channel(1);
        tokio::spawn(receive_raft(from, batches, self.raft.clone(), open));
        Ok(Response::new(ReceiverStream::new(acks)))
    }

    async fn snapshot(
        &self,
        request: Request<Streaming<SnapshotChunk>>,
    ) -> Result<Response<SnapshotAck>, Status> {
        check_cluster(request.metadata(), self.cfg.cluster_id)?;
        check_to(request.metadata(), self.cfg.local_id)?;
        snapshot_recv::receive(
            self.cfg.local_id,
            &self.cfg.snap_dir,
            &self.raft,
            request.into_inner(),
        )
        .await?;
        Ok(Response::new(SnapshotAck {}))
    }

    async fn members(
        &self,
        _request: Request<MembersRequest>,
    ) -> Result<Response<MembersResponse>, Status> {
        // Not checked: a joining member asks before it knows the cluster id.
        let list = self
            .cluster
            .member_list(MemberListRequest {})
            .await
            .map_err(|e| to_status(&e))?;
        Ok(Response::new(MembersResponse {
            cluster_id: self.cfg.cluster_id,
            members: list.members,
        }))
    }

    async fn lease_renew(
        &self,
        request: Request<LeaseRenewRequest>,
    ) -> Result<Response<LeaseRenewResponse>, Status> {
        check_cluster(request.metadata(), self.cfg.cluster_id)?;
        let id = request.into_inner().id;
        let one = Box::pin(tokio_stream::once(LeaseKeepAliveRequest { id }));
        let mut answers = self.lease.lease_keep_alive(one).await;
        match answers.next().await {
            Some(Ok(answer)) => Ok(Response::new(LeaseRenewResponse { ttl: answer.ttl })),
            Some(Err(e)) => Err(to_status(&e)),
            None => Err(to_status(&api::Error::Internal(
                "lease keepalive ended without an answer".into(),
            ))),
        }
    }

    async fn lease_time_to_live(
        &self,
        request: Request<LeaseTimeToLiveRequest>,
    ) -> Result<Response<LeaseTimeToLiveResponse>, Status> {
        check_cluster(request.metadata(), self.cfg.cluster_id)?;
        self.lease
            .lease_time_to_live(request.into_inner())
            .await
            .map(Response::new)
            .map_err(|e| to_status(&e))
    }

    async fn member_promote(
        &self,
        request: Request<MemberPromoteRequest>,
    ) -> Result<Response<MemberPromoteResponse>, Status> {
        check_cluster(request.metadata(), self.cfg.cluster_id)?;
        self.cluster
            .member_promote(request.into_inner())
            .await
            .map(Response::new)
            .map_err(|e| to_status(&e))
    }

    async fn hash_kv(
        &self,
        request: Request<HashKvRequest>,
    ) -> Result<Response<HashKvResponse>, Status> {
        check_cluster(request.metadata(), self.cfg.cluster_id)?;
        let Some(maintenance) = &self.maintenance else {
            return Err(to_status(&api::Error::Unimplemented(
                "this member does not answer hash checks".into(),
            )));
        };
        maintenance
            .hash_kv(request.into_inner())
            .await
            .map(Response::new)
            .map_err(|e| to_status(&e))
    }
}

/// Steps every message of one peer's stream into raft, in order, until the
/// stream ends.
async fn receive_raft(
    from: u64,
    mut batches: Streaming<RaftBatch>,
    raft: RaftNode,
    open: mpsc::Sender<Result<RaftAck, Status>>,
) {
    loop {
        let batch = match batches.message().await {
            Ok(Some(batch)) => batch,
            Ok(None) => return,
            Err(status) => {
                tracing::debug!(from = format_args!("{from:x}"), %status, "raft stream broke");
                return;
            }
        };
        for bytes in batch.messages {
            let msg = match Message::parse_from_bytes(&bytes) {
                Ok(msg) => msg,
                Err(e) => {
                    tracing::warn!(from = format_args!("{from:x}"), error = %e, "undecodable raft message");
                    continue;
                }
            };
            match raft.step(msg).await {
                Ok(()) => {}
                Err(raftnode::Error::Stopped) => {
                    let _ = open.send(Err(Status::unavailable("member stopped"))).await;
                    return;
                }
                Err(e) => {
                    tracing::debug!(from = format_args!("{from:x}"), error = %e, "raft message refused")
                }
            }
        }
    }
}
