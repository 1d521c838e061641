//! etcd's v3election service (etcdserver/api/v3election over
//! clientv3/concurrency's Election).

use std::sync::Arc;

use api::pb::etcdserverpb::{ResponseHeader, TxnRequest};
use api::pb::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest,
    ProclaimResponse, ResignRequest, ResignResponse,
};
use api::{Kv, Lease, ResponseStream, Watch};

use crate::error::required;
use crate::request::{created_at, get_key, header, put, range_result};
use crate::withdraw::{Withdrawal, resign};
use crate::{Error, key, observe, queue, session};

/// Leader election on keys under `<name>/`: the candidate whose key was
/// created first leads; the others wait in creation order.
pub struct ElectionService {
    kv: Arc<dyn Kv>,
    watch: Arc<dyn Watch>,
    lease: Arc<dyn Lease>,
}

impl ElectionService {
    /// Over the server's own services, which stand in for the in-process
    /// client etcd runs this service on; their errors reach the caller
    /// with their text and gRPC code Unknown, as through etcd's client.
    pub fn new(kv: Arc<dyn Kv>, watch: Arc<dyn Watch>, lease: Arc<dyn Lease>) -> Self {
        ElectionService { kv, watch, lease }
    }

    async fn run_campaign(&self, req: CampaignRequest) -> Result<CampaignResponse, Error> {
        let lease = session::lease_of(&*self.lease, req.lease).await?;
        let prefix = key::prefix(&req.name);
        let my_key = key::waiter(&prefix, lease);
        let resp = self
            .kv
            .txn(TxnRequest {
                compare: vec![created_at(&my_key, 0)],
                success: vec![put(&my_key, req.value.clone(), lease)],
                failure: vec![get_key(&my_key)],
            })
            .await?;
        let succeeded = resp.succeeded;
        let existing = range_result(&resp, 0).and_then(|r| r.kvs.first()).cloned();
        let header = header(resp.header)?;
        let mut rev = header.revision;
        if !succeeded {
            // the caller's lease already campaigns here: keep its place in
            // the queue and bring the value up to date
            let kv = existing.ok_or(Error::UnexpectedResponse("txn without the existing key"))?;
            rev = kv.create_revision;
            if kv.value != req.value
                && let Err(err) = proclaim(&*self.kv, &my_key, rev, lease, req.value).await
            {
                Withdrawal::resign(Arc::clone(&self.kv), &my_key, rev)
                    .now()
                    .await;
                return Err(err);
            }
        }
        // Only an abandoned campaign gives its key up; one that fails while
        // the caller still waits keeps it, as etcd's does.
        let withdrawal = Withdrawal::resign(Arc::clone(&self.kv), &my_key, rev);
        let waited = queue::wait_for_turn(&*self.kv, &*self.watch, &prefix, rev - 1).await;
        withdrawal.disarm();
        waited?;
        // etcd answers with the header of the txn that placed the key, not
        // of the read that found the queue empty
        Ok(CampaignResponse {
            header: Some(header),
            leader: Some(LeaderKey {
                name: req.name,
                key: my_key,
                rev,
                lease,
            }),
        })
    }

    async fn run_proclaim(&self, req: ProclaimRequest) -> Result<ProclaimResponse, Error> {
        let leader = required(req.leader)?;
        let lease = session::lease_of(&*self.lease, leader.lease).await?;
        let header = proclaim(&*self.kv, &leader.key, leader.rev, lease, req.value).await?;
        Ok(ProclaimResponse {
            header: Some(header),
        })
    }

    async fn run_leader(&self, req: LeaderRequest) -> Result<LeaderResponse, Error> {
        let resp = self
            .kv
            .range(key::first_created(&key::prefix(&req.name)))
            .await?;
        let kv = resp.kvs.into_iter().next().ok_or(Error::NoLeader)?;
        Ok(LeaderResponse {
            header: resp.header,
            kv: Some(kv),
        })
    }

    async fn run_resign(&self, req: ResignRequest) -> Result<ResignResponse, Error> {
        let leader = required(req.leader)?;
        // etcd grants a lease for a Resign without one and never uses it
        session::lease_of(&*self.lease, leader.lease).await?;
        let resp = self.kv.txn(resign(&leader.key, leader.rev)).await?;
        Ok(ResignResponse {
            header: resp.header,
        })
    }
}

/// Puts `value` under the leader's key if that key is still the one created
/// at `rev`.
async fn proclaim(
    kv: &dyn Kv,
    key: &[u8],
    rev: i64,
    lease: i64,
    value: Vec<u8>,
) -> Result<ResponseHeader, Error> {
    let resp = kv
        .txn(TxnRequest {
            compare: vec![created_at(key, rev)],
            success: vec![put(key, value, lease)],
            failure: Vec::new(),
        })
        .await?;
    if !resp.succeeded {
        return Err(Error::NotLeader);
    }
    header(resp.header)
}

#[async_trait::async_trait]
impl api::Election for ElectionService {
    async fn campaign(&self, req: CampaignRequest) -> Result<CampaignResponse, api::Error> {
        Ok(self.run_campaign(req).await?)
    }

    async fn proclaim(&self, req: ProclaimRequest) -> Result<ProclaimResponse, api::Error> {
        Ok(self.run_proclaim(req).await?)
    }

    async fn leader(&self, req: LeaderRequest) -> Result<LeaderResponse, api::Error> {
        Ok(self.run_leader(req).await?)
    }

    async fn observe(&self, req: LeaderRequest) -> ResponseStream<LeaderResponse> {
        observe::leaders(
            Arc::clone(&self.kv),
            Arc::clone(&self.watch),
            key::prefix(&req.name),
        )
    }

    async fn resign(&self, req: ResignRequest) -> Result<ResignResponse, api::Error> {
        Ok(self.run_resign(req).await?)
    }
}
