//! The Lease service. Grants and revokes go through raft like writes; the
//! leader's lessor answers keepalives and time-to-live, and revokes, through
//! raft, the leases that expire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use api::pb::etcdserverpb::{
    InternalRaftRequest, LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest,
    LeaseKeepAliveResponse, LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest,
    LeaseRevokeResponse, LeaseStatus, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use api::{Error, RequestStream, ResponseStream};
use futures::StreamExt;
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::apply::Applied;
use crate::lessor::{MAX_LEASE_TTL, RenewError};
use crate::server::EtcdServer;

/// How often the leader looks for expired leases (etcd: 500ms).
const EXPIRY_CHECK_INTERVAL: Duration = Duration::from_millis(500);
/// Revokes in flight at once (etcd's maxPendingRevokes).
const MAX_PENDING_REVOKES: usize = 16;
/// Revokes started per check: half of etcd's 1000/s per 500ms.
const REVOKES_PER_CHECK: usize = 500;

fn unexpected(what: &Applied) -> Error {
    Error::Internal(format!("unexpected apply result {what:?}"))
}

impl EtcdServer {
    /// Keepalives and time-to-live are answered by the leader only;
    /// followers forward them (see [`EtcdServer::leader_to_ask`]).
    fn require_leader(&self) -> Result<(), Error> {
        let status = self.raft_status();
        if status.leader_id == 0 {
            Err(Error::NoLeader)
        } else if status.leader_id != self.member_id() {
            Err(Error::NotLeader)
        } else {
            Ok(())
        }
    }

    /// While this member leads, revokes the leases its lessor finds expired.
    pub(crate) fn spawn_lease_expiry(&self) {
        let server = self.clone();
        tokio::spawn(async move {
            let pending = Arc::new(Semaphore::new(MAX_PENDING_REVOKES));
            let mut tick = tokio::time::interval(EXPIRY_CHECK_INTERVAL);
            loop {
                tick.tick().await;
                if server.is_stopped() {
                    return;
                }
                for id in server
                    .inner
                    .lessor
                    .take_expired(Instant::now(), REVOKES_PER_CHECK)
                {
                    let Ok(permit) = Arc::clone(&pending).acquire_owned().await else {
                        return;
                    };
                    let server = server.clone();
                    tokio::spawn(async move {
                        let revoke = InternalRaftRequest {
                            lease_revoke: Some(LeaseRevokeRequest { id }),
                            ..Default::default()
                        };
                        match server.raft_request(revoke).await {
                            Ok(_) | Err(Error::LeaseNotFound) => {}
                            Err(err) => {
                                tracing::warn!("failed to revoke expired lease {id:016x}: {err}")
                            }
                        }
                        drop(permit);
                    });
                }
            }
        });
    }
}

#[async_trait::async_trait]
impl api::Lease for EtcdServer {
    async fn lease_grant(&self, mut req: LeaseGrantRequest) -> Result<LeaseGrantResponse, Error> {
        if req.ttl > MAX_LEASE_TTL {
            return Err(Error::LeaseTtlTooLarge);
        }
        // No id given: pick one, positive as etcd's are.
        while req.id == 0 {
            req.id = i64::try_from(self.inner.ids.next() & (u64::MAX >> 1)).unwrap_or(0);
        }
        let applied = self
            .raft_request(InternalRaftRequest {
                lease_grant: Some(req),
                ..Default::default()
            })
            .await?;
        match applied {
            Applied::LeaseGrant(resp) => Ok(resp),
            other => Err(unexpected(&other)),
        }
    }

    async fn lease_revoke(&self, req: LeaseRevokeRequest) -> Result<LeaseRevokeResponse, Error> {
        let applied = self
            .raft_request(InternalRaftRequest {
                lease_revoke: Some(req),
                ..Default::default()
            })
            .await?;
        match applied {
            Applied::LeaseRevoke(resp) => Ok(resp),
            other => Err(unexpected(&other)),
        }
    }

    async fn lease_keep_alive(
        &self,
        mut requests: RequestStream<LeaseKeepAliveRequest>,
    ) -> ResponseStream<LeaseKeepAliveResponse> {
        let (tx, rx) = mpsc::channel(16);
        let server = self.clone();
        tokio::spawn(async move {
            while let Some(req) = requests.next().await {
                let answer = match server.renew(req.id).await {
                    Ok(ttl) => Ok(LeaseKeepAliveResponse {
                        header: Some(server.header()),
                        id: req.id,
                        ttl,
                    }),
                    Err(err) => Err(err),
                };
                let failed = answer.is_err();
                if tx.send(answer).await.is_err() || failed {
                    return;
                }
            }
        });
        Box::pin(ReceiverStream::new(rx))
    }

    async fn lease_time_to_live(
        &self,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, Error> {
        if let Some((leader, link)) = self.leader_to_ask() {
            return link.lease_time_to_live(leader, req).await;
        }
        self.require_leader()?;
        self.wait_linearizable().await?;
        let (granted_ttl, ttl) = self
            .inner
            .lessor
            .time_to_live(req.id, Instant::now())
            .ok_or(Error::LeaseNotFound)?;
        let keys = if req.keys {
            self.inner.store.lease_keys(req.id)
        } else {
            Vec::new()
        };
        Ok(LeaseTimeToLiveResponse {
            header: Some(self.header()),
            id: req.id,
            ttl,
            granted_ttl,
            keys,
        })
    }

    async fn lease_leases(&self, _req: LeaseLeasesRequest) -> Result<LeaseLeasesResponse, Error> {
        self.wait_linearizable().await?;
        let leases = self
            .inner
            .lessor
            .ids()
            .into_iter()
            .map(|id| LeaseStatus { id })
            .collect();
        Ok(LeaseLeasesResponse {
            header: Some(self.header()),
            leases,
        })
    }
}

impl EtcdServer {
    /// The leader, when it is another member and this one can reach it.
    pub(crate) fn leader_to_ask(&self) -> Option<(u64, Arc<dyn api::LeaderLink>)> {
        let leader = self.raft_status().leader_id;
        if leader == 0 || leader == self.member_id() {
            return None;
        }
        self.inner
            .leader_link
            .as_ref()
            .map(|link| (leader, Arc::clone(link)))
    }

    /// A keepalive, answered by the leader's lessor (here or forwarded): TTL
    /// 0 for a lease that is gone, as etcd answers it.
    async fn renew(&self, id: i64) -> Result<i64, Error> {
        if let Some((leader, link)) = self.leader_to_ask() {
            return match link.lease_renew(leader, id).await {
                Err(Error::LeaseNotFound) => Ok(0),
                other => other,
            };
        }
        match self.inner.lessor.renew(id, Instant::now()) {
            Ok(ttl) => Ok(ttl),
            Err(RenewError::NotFound) => Ok(0),
            Err(RenewError::NotPrimary) => {
                Err(self.require_leader().err().unwrap_or(Error::NotLeader))
            }
        }
    }
}
