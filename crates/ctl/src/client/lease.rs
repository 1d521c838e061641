//! The Lease service as clientv3's lessor uses it: unary calls retried
//! like reads, `KeepAliveOnce` on a stream of its own, and [`KeepAlive`],
//! the renewal loop behind `lease keep-alive` and concurrency sessions.

use std::ops::ControlFlow;
use std::time::Duration;

use api::pb::etcdserverpb::lease_client::LeaseClient;
use api::pb::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use futures::StreamExt;
use tokio::time::Instant;
use tonic::Code;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use super::rpc_error::{self, RpcError};
use super::{Client, Retry};
use crate::error::Error;
use crate::exit;

/// How often the keep-alive loop looks for leases due a renewal, and how
/// long it waits before opening a broken stream again.
const RETRY_CONN_WAIT: Duration = Duration::from_millis(500);
/// How often leases that stopped getting answers are given up.
const REAP_PERIOD: Duration = Duration::from_secs(1);
/// The first answer's deadline when the dial timeout is zero.
const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// Whether clientv3 gives up on a stream after `status` (`isHaltErr`):
/// only an unavailable server or a broken transport are worth retrying.
pub(super) fn halts(status: &tonic::Status) -> bool {
    let transport = std::error::Error::source(status).is_some();
    !(transport || matches!(status.code(), Code::Unavailable | Code::Internal))
}

/// A streaming request carrying clientv3's metadata.
pub(super) fn streaming_request<S>(
    metadata: &MetadataMap,
    require_leader: bool,
    stream: S,
) -> tonic::Request<S> {
    let mut req = tonic::Request::new(stream);
    *req.metadata_mut() = metadata.clone();
    if require_leader {
        req.metadata_mut().insert(
            "hasleader",
            tonic::metadata::MetadataValue::from_static("true"),
        );
    }
    req
}

impl Client {
    pub async fn lease_grant(
        &mut self,
        deadline: Option<Instant>,
        ttl: i64,
    ) -> Result<LeaseGrantResponse, Error> {
        let req = LeaseGrantRequest { ttl, id: 0 };
        self.unary(deadline, Retry::Repeatable, req, |ch, r| async move {
            LeaseClient::new(ch).lease_grant(r).await
        })
        .await
    }

    pub async fn lease_revoke(
        &mut self,
        deadline: Option<Instant>,
        id: i64,
    ) -> Result<LeaseRevokeResponse, Error> {
        let req = LeaseRevokeRequest { id };
        self.unary(deadline, Retry::Repeatable, req, |ch, r| async move {
            LeaseClient::new(ch).lease_revoke(r).await
        })
        .await
    }

    pub async fn lease_time_to_live(
        &mut self,
        deadline: Option<Instant>,
        id: i64,
        keys: bool,
    ) -> Result<LeaseTimeToLiveResponse, Error> {
        let req = LeaseTimeToLiveRequest { id, keys };
        self.unary(deadline, Retry::Repeatable, req, |ch, r| async move {
            LeaseClient::new(ch).lease_time_to_live(r).await
        })
        .await
    }

    pub async fn lease_leases(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<LeaseLeasesResponse, Error> {
        self.unary(
            deadline,
            Retry::Repeatable,
            LeaseLeasesRequest {},
            |ch, r| async move { LeaseClient::new(ch).lease_leases(r).await },
        )
        .await
    }

    /// A connected channel, waited for without a deadline as clientv3's
    /// streams wait.
    pub(super) async fn stream_channel(&mut self) -> Result<Channel, Error> {
        self.channel(None)
            .await
            .map_err(|text| Error::exit(exit::ERROR, text))
    }

    /// `KeepAliveOnce`: one renewal on a stream of its own, repeated while
    /// the server is unavailable. A lease the server does not know comes
    /// back with a zero TTL, which clientv3 reports as not found.
    pub async fn lease_keep_alive_once(
        &mut self,
        id: i64,
    ) -> Result<LeaseKeepAliveResponse, Error> {
        let channel = self.stream_channel().await?;
        let metadata = self.metadata();
        loop {
            let (tx, rx) = futures::channel::mpsc::unbounded();
            let _ = tx.unbounded_send(LeaseKeepAliveRequest { id });
            let opened = LeaseClient::new(channel.clone())
                .lease_keep_alive(streaming_request(&metadata, false, rx))
                .await;
            let status = match opened {
                Ok(resp) => match resp.into_inner().message().await {
                    Ok(Some(r)) if r.ttl <= 0 => {
                        return Err(Error::Rpc(RpcError::from_status(
                            &tonic::Status::not_found(rpc_error::LEASE_NOT_FOUND),
                        )));
                    }
                    Ok(Some(r)) => return Ok(r),
                    Ok(None) => return Err(Error::exit(exit::ERROR, "EOF")),
                    Err(status) => status,
                },
                Err(status) => status,
            };
            if halts(&status) {
                return Err(Error::Rpc(RpcError::from_status(&status)));
            }
        }
    }

    /// The renewal loop for lease `id`. The connection is waited for no
    /// longer than the first answer would be.
    pub async fn keep_alive(&mut self, id: i64) -> KeepAlive {
        let dial = self.config().dial_timeout + Duration::from_secs(1);
        let first_timeout = if dial == Duration::from_secs(1) {
            DEFAULT_TTL
        } else {
            dial
        };
        let channel = self
            .channel(Some(Instant::now() + first_timeout))
            .await
            .ok();
        KeepAlive {
            channel,
            metadata: self.metadata(),
            id,
            first_timeout,
        }
    }
}

/// clientv3's keep-alive of one lease: a renewal as soon as the stream is
/// up and then a third of the TTL after each answer (looked for every
/// 500ms), the stream reopened 500ms after it breaks, and the end once an
/// answer says the lease is gone or none came within the TTL (the dial
/// timeout plus a second before the first).
pub struct KeepAlive {
    /// `None` when no connection came up in time: the lease is given up.
    channel: Option<Channel>,
    metadata: MetadataMap,
    id: i64,
    first_timeout: Duration,
}

impl KeepAlive {
    /// Renews until the lease expires or is revoked, or `on_response`,
    /// which gets every live answer, says to stop.
    pub async fn run(
        self,
        mut on_response: impl FnMut(&LeaseKeepAliveResponse) -> ControlFlow<()>,
    ) {
        let Some(channel) = self.channel else {
            return;
        };
        let mut deadline = Instant::now() + self.first_timeout;
        let mut next_send = Instant::now();
        let mut reap = tokio::time::interval_at(Instant::now() + REAP_PERIOD, REAP_PERIOD);
        loop {
            let (tx, rx) = futures::channel::mpsc::unbounded();
            let request = streaming_request(&self.metadata, true, rx);
            let mut client = LeaseClient::new(channel.clone());
            let mut opening = Box::pin(client.lease_keep_alive(request));
            let mut stream = None;
            let mut send = tokio::time::interval(RETRY_CONN_WAIT);
            loop {
                tokio::select! {
                    _ = send.tick() => {
                        if next_send <= Instant::now() {
                            let _ = tx.unbounded_send(LeaseKeepAliveRequest { id: self.id });
                        }
                    }
                    _ = reap.tick() => {
                        if deadline < Instant::now() {
                            return;
                        }
                    }
                    opened = &mut opening, if stream.is_none() => match opened {
                        Ok(resp) => stream = Some(resp.into_inner()),
                        Err(_) => break,
                    },
                    msg = next_message(&mut stream), if stream.is_some() => match msg {
                        Some(resp) if resp.id != self.id => {}
                        Some(resp) if resp.ttl <= 0 => return,
                        Some(resp) => {
                            let ttl = Duration::from_secs(resp.ttl.unsigned_abs());
                            next_send = Instant::now() + ttl / 3;
                            deadline = Instant::now() + ttl;
                            if on_response(&resp).is_break() {
                                return;
                            }
                        }
                        None => break,
                    },
                }
            }
            let resume = Instant::now() + RETRY_CONN_WAIT;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(resume) => break,
                    _ = reap.tick() => {
                        if deadline < Instant::now() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

async fn next_message(
    stream: &mut Option<tonic::Streaming<LeaseKeepAliveResponse>>,
) -> Option<LeaseKeepAliveResponse> {
    match stream {
        Some(s) => s.next().await.and_then(Result::ok),
        None => None,
    }
}
