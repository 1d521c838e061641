//! Maintenance and Cluster: what this member reports about itself.

use api::Error;
use api::pb::etcdserverpb::{
    AlarmRequest, AlarmResponse, DefragmentRequest, DefragmentResponse, HashKvRequest,
    HashKvResponse, HashRequest, HashResponse, MemberListRequest, MemberListResponse,
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
            is_learner: false,
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
}

#[async_trait::async_trait]
impl api::Cluster for EtcdServer {
    async fn member_list(&self, _req: MemberListRequest) -> Result<MemberListResponse, Error> {
        let members = self
            .inner
            .membership
            .members()
            .iter()
            .map(|m| m.to_pb())
            .collect();
        Ok(MemberListResponse {
            header: Some(self.header()),
            members,
        })
    }
}
