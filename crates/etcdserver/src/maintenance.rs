//! Maintenance: what this member reports about itself, and moving the
//! leadership.

use api::Error;
use api::pb::etcdserverpb::{
    AlarmRequest, AlarmResponse, DefragmentRequest, DefragmentResponse, HashKvRequest,
    HashKvResponse, HashRequest, HashResponse, MoveLeaderRequest, MoveLeaderResponse,
    StatusRequest, StatusResponse,
};

use crate::error::storage_to_api;
use crate::server::EtcdServer;
use crate::version;

#[async_trait::async_trait]
impl api::Maintenance for EtcdServer {
    /// No alarm can be raised yet (space quota alarms come with the quota),
    /// so the list is always empty.
    async fn alarm(&self, _req: AlarmRequest) -> Result<AlarmResponse, Error> {
        Ok(AlarmResponse {
            header: Some(self.header()),
            alarms: vec![],
        })
    }

    async fn status(&self, _req: StatusRequest) -> Result<StatusResponse, Error> {
        let raft = self.raft_status();
        let store = &self.inner.store;
        let db_size = i64::try_from(store.db_size()).unwrap_or(i64::MAX);
        let db_size_in_use = i64::try_from(store.db_size_in_use()).unwrap_or(i64::MAX);
        Ok(StatusResponse {
            header: Some(self.header()),
            version: version::SERVER_VERSION.into(),
            db_size,
            leader: raft.leader_id,
            raft_index: raft.commit_index,
            raft_term: raft.term,
            raft_applied_index: raft.applied_index,
            errors: vec![],
            db_size_in_use,
            is_learner: self.inner.membership.local_is_learner(),
        })
    }

    async fn defragment(&self, _req: DefragmentRequest) -> Result<DefragmentResponse, Error> {
        Err(Error::Unimplemented(
            "defragment is not supported by this server yet".into(),
        ))
    }

    async fn hash(&self, _req: HashRequest) -> Result<HashResponse, Error> {
        let hash = self.inner.store.hash().map_err(storage_to_api)?;
        Ok(HashResponse {
            header: Some(self.header()),
            hash,
        })
    }

    async fn hash_kv(&self, req: HashKvRequest) -> Result<HashKvResponse, Error> {
        let (hash, compact_revision, revision) = self
            .inner
            .store
            .hash_kv(req.revision)
            .map_err(storage_to_api)?;
        let mut header = self.header();
        header.revision = revision;
        Ok(HashKvResponse {
            header: Some(header),
            hash,
            compact_revision,
        })
    }

    /// Only the leader hands over leadership, and only to a voter.
    async fn move_leader(&self, req: MoveLeaderRequest) -> Result<MoveLeaderResponse, Error> {
        if !self.raft_status().is_leader() {
            return Err(Error::NotLeader);
        }
        let target = req.target_id;
        if self
            .inner
            .membership
            .get(target)
            .is_none_or(|m| m.is_learner)
        {
            return Err(Error::BadLeaderTransferee);
        }
        self.inner
            .raft
            .transfer_leader(target)
            .await
            .map_err(|err| match err {
                raftnode::Error::NotLeader => Error::NotLeader,
                raftnode::Error::UnknownPeer(_) | raftnode::Error::NotVoter(_) => {
                    Error::BadLeaderTransferee
                }
                raftnode::Error::Stopped => Error::Stopped,
                raftnode::Error::LeaderTransferTimeout(_) => Error::TimeoutLeaderTransfer,
                other => Error::Internal(other.to_string()),
            })?;
        Ok(MoveLeaderResponse {
            header: Some(self.header()),
        })
    }
}
