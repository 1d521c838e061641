//! The write path: a request becomes an `InternalRaftRequest` with a fresh
//! id, is checked for size, registered in the wait registry and proposed;
//! the caller then waits, bounded by the request timeout, for the apply loop
//! to trigger its id with the result.

use std::sync::atomic::Ordering;

use api::Error;
use api::pb::etcdserverpb::{InternalRaftRequest, RequestHeader};
use prost::Message;

use crate::apply::Applied;
use crate::server::EtcdServer;

/// etcd's limit on committed-but-unapplied entries before it pushes back.
const MAX_APPLY_GAP: u64 = 5000;

impl EtcdServer {
    pub(crate) async fn raft_request(
        &self,
        mut req: InternalRaftRequest,
    ) -> Result<Applied, Error> {
        let inner = &self.inner;
        // A learner only replicates: clients' writes are refused, its own
        // publication goes through.
        let internal = req.cluster_member_attr_set.is_some() || req.cluster_version_set.is_some();
        if !internal && inner.membership.local_is_learner() {
            return Err(Error::NotSupportedForLearner);
        }
        // Like etcd, refuse new work while the apply loop lags far behind
        // what raft has committed, instead of queueing without bound.
        let applied = *inner.applied.borrow();
        if inner.raft.status().commit_index.saturating_sub(applied) > MAX_APPLY_GAP {
            return Err(Error::TooManyRequests);
        }
        let id = inner.ids.next();
        req.header = Some(RequestHeader {
            id,
            ..Default::default()
        });
        let data = req.encode_to_vec();
        if data.len() > inner.cfg.max_request_bytes {
            return Err(Error::RequestTooLarge);
        }
        let waiter = inner
            .wait
            .register(id)
            .map_err(|_| Error::Internal(format!("duplicate request id {id:x}")))?;

        inner
            .counters
            .proposals_pending
            .fetch_add(1, Ordering::Relaxed);
        let outcome = async {
            inner.raft.propose(data).await.map_err(propose_error)?;
            match tokio::time::timeout(inner.cfg.request_timeout(), waiter).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_closed)) => Err(Error::Stopped),
                Err(_elapsed) => Err(self.timeout_error()),
            }
        }
        .await;
        inner
            .counters
            .proposals_pending
            .fetch_sub(1, Ordering::Relaxed);
        if outcome.is_err() {
            inner
                .counters
                .proposals_failed
                .fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }

    /// etcd blames a timeout on a missing leader when there is none.
    pub(crate) fn timeout_error(&self) -> Error {
        if self.has_leader() {
            Error::Timeout
        } else {
            Error::TimeoutDueToLeaderFail
        }
    }
}

pub(crate) fn propose_error(err: raftnode::Error) -> Error {
    match err {
        raftnode::Error::Stopped => Error::Stopped,
        raftnode::Error::NoLeader | raftnode::Error::Dropped => Error::NoLeader,
        raftnode::Error::Timeout => Error::Timeout,
        other => Error::Internal(other.to_string()),
    }
}
