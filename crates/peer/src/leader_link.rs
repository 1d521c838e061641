//! Calls a follower forwards to the leader (`api::LeaderLink`: lease
//! keepalives and time-to-live, learner promotion), tried on each of the
//! leader's peer URLs in turn.

use std::future::Future;

use api::pb::etcdserverpb::{
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, MemberPromoteRequest, MemberPromoteResponse,
};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::PeerTransport;
use crate::api_status::from_status;
use crate::dial::connect;
use crate::metadata::{is_cluster_mismatch, stamp};
use crate::peerpb::LeaseRenewRequest;
use crate::peerpb::peer_client::PeerClient;

impl PeerTransport {
    /// Runs `call` against the leader: `Ok` or the leader's own error as
    /// soon as one URL answers; `TimeoutDueToConnectionLost` when none
    /// does; `Timeout` when the whole attempt outlives the request timeout.
    async fn forward<T, F, Fut>(&self, leader: u64, call: F) -> Result<T, api::Error>
    where
        F: Fn(PeerClient<Channel>) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        if leader == 0 || leader == self.shared.cfg.local_id {
            return Err(api::Error::NoLeader);
        }
        let (urls, state) = self.peer(leader).ok_or(api::Error::NoLeader)?;
        let cfg = &self.shared.cfg;
        let attempt = async {
            if let Some(channel) = state.forwarding_channel() {
                match call(PeerClient::new(channel)).await {
                    Ok(answer) => return Ok(answer.into_inner()),
                    Err(status) => {
                        if let Some(err) = from_status(&status) {
                            return Err(err);
                        }
                        state.set_forwarding_channel(None);
                    }
                }
            }
            for url in &urls {
                let channel = match connect(url, cfg.tls.as_ref(), cfg.dial_timeout).await {
                    Ok(channel) => channel,
                    Err(e) => {
                        tracing::debug!(error = %e, "leader URL unreachable");
                        continue;
                    }
                };
                match call(PeerClient::new(channel.clone())).await {
                    Ok(answer) => {
                        state.set_forwarding_channel(Some(channel));
                        return Ok(answer.into_inner());
                    }
                    Err(status) => {
                        if let Some(err) = from_status(&status) {
                            state.set_forwarding_channel(Some(channel));
                            return Err(err);
                        }
                        if is_cluster_mismatch(&status) {
                            tracing::error!(%url, "request cluster ID mismatch");
                        }
                        tracing::debug!(%url, %status, "forwarding to the leader failed");
                    }
                }
            }
            Err(api::Error::TimeoutDueToConnectionLost)
        };
        tokio::time::timeout(cfg.request_timeout, attempt)
            .await
            .unwrap_or(Err(api::Error::Timeout))
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut req = Request::new(message);
        let cfg = &self.shared.cfg;
        stamp(&mut req, cfg.local_id, cfg.cluster_id, None);
        req
    }
}

#[async_trait::async_trait]
impl api::LeaderLink for PeerTransport {
    async fn lease_renew(&self, leader: u64, id: i64) -> Result<i64, api::Error> {
        let answer = self
            .forward(leader, |mut client| {
                let req = self.request(LeaseRenewRequest { id });
                async move { client.lease_renew(req).await }
            })
            .await?;
        Ok(answer.ttl)
    }

    async fn lease_time_to_live(
        &self,
        leader: u64,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, api::Error> {
        self.forward(leader, |mut client| {
            let req = self.request(req);
            async move { client.lease_time_to_live(req).await }
        })
        .await
    }

    async fn member_promote(
        &self,
        leader: u64,
        req: MemberPromoteRequest,
    ) -> Result<MemberPromoteResponse, api::Error> {
        self.forward(leader, |mut client| {
            let req = self.request(req);
            async move { client.member_promote(req).await }
        })
        .await
    }
}
