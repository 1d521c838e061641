//! One unary call the way clientv3's retry interceptor makes it: wait for a
//! connection, send, log a failed attempt, retry reads while the server is
//! unavailable (up to 100 attempts, 25ms apart), refresh a stale auth token,
//! and give up at the caller's deadline.

use std::future::Future;
use std::time::Duration;

use api::pb::etcdserverpb::auth_client::AuthClient;
use api::pb::etcdserverpb::cluster_client::ClusterClient;
use api::pb::etcdserverpb::kv_client::KvClient;
use api::pb::etcdserverpb::maintenance_client::MaintenanceClient;
use api::pb::etcdserverpb::{
    AuthenticateRequest, CompactionRequest, CompactionResponse, DeleteRangeRequest,
    DeleteRangeResponse, HashKvRequest, HashKvResponse, MemberAddRequest, MemberAddResponse,
    MemberListRequest, MemberListResponse, MemberPromoteRequest, MemberPromoteResponse,
    MemberRemoveRequest, MemberRemoveResponse, MemberUpdateRequest, MemberUpdateResponse,
    MoveLeaderRequest, MoveLeaderResponse, PutRequest, PutResponse, RangeRequest, RangeResponse,
    StatusRequest, StatusResponse, TxnRequest, TxnResponse,
};
use tokio::time::Instant;
use tonic::Code;
use tonic::transport::Channel;

use super::rpc_error::{self, RpcError};
use super::{Client, Style};
use crate::clock;
use crate::error::Error;
use crate::go::json::push_zap_str;
use crate::go::quote::quote;

const MAX_ATTEMPTS: u32 = 100;
const RETRY_WAIT: Duration = Duration::from_millis(25);
/// grpc-go's reconnect backoff: 1s growing by 1.6 up to 120s.
pub(super) const RECONNECT_BASE: Duration = Duration::from_secs(1);
const RECONNECT_MAX: Duration = Duration::from_secs(120);
/// grpc-go raises keepalive pings to at least this period.
const MIN_KEEPALIVE: Duration = Duration::from_secs(10);

/// Whether a call may be sent again after an `Unavailable` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads: retried while the server is unavailable.
    Repeatable,
    /// Writes: never resent once they may have reached the server.
    NonRepeatable,
}

fn jittered(base: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let spread = base.as_secs_f64() * 0.10;
    let factor = f64::from(nanos % 2001) / 1000.0 - 1.0;
    Duration::from_secs_f64((base.as_secs_f64() + spread * factor).max(0.0))
}

/// Sleeps for `wait` unless `deadline` comes first; false if it did.
async fn sleep_until_before(wait: Duration, deadline: Option<Instant>) -> bool {
    let wake = Instant::now() + wait;
    match deadline {
        Some(d) if d <= wake => {
            tokio::time::sleep_until(d).await;
            false
        }
        _ => {
            tokio::time::sleep_until(wake).await;
            true
        }
    }
}

impl Client {
    fn warn(&mut self, attempt: u32, error: &str) {
        let mut line = String::from("{\"level\":\"warn\",\"ts\":");
        push_zap_str(&mut line, &clock::zap_timestamp());
        line.push_str(",\"caller\":\"clientv3/retry_interceptor.go:62\",\"msg\":\"retrying of unary invoker failed\",\"target\":");
        push_zap_str(&mut line, &self.target);
        line.push_str(&format!(",\"attempt\":{attempt},\"error\":"));
        push_zap_str(&mut line, error);
        line.push_str("}\n");
        self.log.push_str(&line);
    }

    fn endpoint_for(&self, index: usize) -> Result<tonic::transport::Endpoint, Error> {
        let ep = &self.endpoints[index];
        let secure = match ep.tls {
            Some(t) => t,
            None => self.tls.is_some(),
        };
        let scheme = if secure { "https" } else { "http" };
        let uri = format!("{scheme}://{}", ep.host);
        let endpoint = tonic::transport::Endpoint::from_shared(uri)
            .map_err(|e| Error::Dial(format!("transport: {e}")))?
            .http2_keep_alive_interval(self.cfg.keepalive_time.max(MIN_KEEPALIVE))
            .keep_alive_timeout(self.cfg.keepalive_timeout);
        Ok(endpoint)
    }

    fn dialer_for(&self, index: usize) -> super::dial::Dialer {
        let ep = &self.endpoints[index];
        let config = match ep.tls {
            Some(true) => self.https.clone(),
            Some(false) => None,
            None => self.tls.clone(),
        };
        super::dial::Dialer {
            host: ep.host.clone(),
            tls: config.map(|c| (c, ep.hostname().to_string())),
        }
    }

    /// A connected channel, trying the endpoints in turn with grpc-go's
    /// reconnect backoff until `deadline`. On timeout the error is the text
    /// grpc-go's picker reports.
    pub(super) async fn channel(&mut self, deadline: Option<Instant>) -> Result<Channel, String> {
        if let Some(ch) = &self.channel {
            return Ok(ch.clone());
        }
        if self.endpoints.is_empty() {
            return Err(self.picker_error());
        }
        loop {
            if self.broken {
                if !sleep_until_before(jittered(self.backoff), deadline).await {
                    return Err(self.picker_error());
                }
                self.backoff = self.backoff.mul_f64(1.6).min(RECONNECT_MAX);
            }
            for _ in 0..self.endpoints.len() {
                let index = self.next_endpoint % self.endpoints.len();
                self.next_endpoint += 1;
                let endpoint = self.endpoint_for(index).map_err(|e| e.to_string())?;
                let attempt = endpoint.connect_with_connector(self.dialer_for(index));
                let outcome = match deadline {
                    Some(d) => tokio::time::timeout_at(d, attempt).await.ok(),
                    None => Some(attempt.await),
                };
                match outcome {
                    Some(Ok(ch)) => {
                        self.channel = Some(ch.clone());
                        return Ok(ch);
                    }
                    Some(Err(e)) => self.last_failure = Some(dial_text(&e)),
                    None => return Err(self.picker_error()),
                }
            }
            self.broken = true;
        }
    }

    fn picker_error(&self) -> String {
        match (self.style, &self.last_failure) {
            (_, None) => "context deadline exceeded".to_string(),
            (Style::Balancer, Some(_)) => {
                "latest balancer error: all SubConns are in TransientFailure".to_string()
            }
            (Style::Passthrough, Some(text)) => format!(
                "latest balancer error: connection error: desc = {}",
                quote(text.as_bytes())
            ),
        }
    }

    /// The metadata clientv3 sends with every call: its API version and
    /// the auth token, if any.
    pub(super) fn metadata(&self) -> tonic::metadata::MetadataMap {
        let mut meta = tonic::metadata::MetadataMap::new();
        meta.insert(
            "client-api-version",
            tonic::metadata::MetadataValue::from_static("3.4"),
        );
        if let Some(token) = &self.token {
            meta.insert("token", token.clone());
        }
        meta
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(message);
        *req.metadata_mut() = self.metadata();
        req
    }

    /// Makes one call with clientv3's retry rules.
    pub async fn unary<Req, Resp, F, Fut>(
        &mut self,
        deadline: Option<Instant>,
        retry: Retry,
        message: Req,
        call: F,
    ) -> Result<Resp, Error>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let mut last = RpcError::deadline_exceeded();
        let mut attempt = 0;
        while attempt < MAX_ATTEMPTS {
            if attempt > 0 && !sleep_until_before(jittered(RETRY_WAIT), deadline).await {
                return Err(Error::Rpc(RpcError::deadline_exceeded()));
            }
            let channel = match self.channel(deadline).await {
                Ok(ch) => ch,
                Err(desc) => {
                    self.warn(
                        attempt,
                        &format!("rpc error: code = DeadlineExceeded desc = {desc}"),
                    );
                    return Err(Error::Rpc(RpcError::deadline_exceeded()));
                }
            };
            let pending = call(channel, self.request(message.clone()));
            let result = match deadline {
                Some(d) => tokio::time::timeout_at(d, pending).await.ok(),
                None => Some(pending.await),
            };
            let status = match result {
                None => {
                    self.warn(attempt, &RpcError::deadline_exceeded().grpc_text());
                    return Err(Error::Rpc(RpcError::deadline_exceeded()));
                }
                Some(Ok(resp)) => {
                    self.broken = false;
                    self.backoff = RECONNECT_BASE;
                    return Ok(resp.into_inner());
                }
                Some(Err(status)) => status,
            };
            if std::error::Error::source(&status).is_some() {
                // The connection failed under the call (e.g. a TLS server
                // spoken to in plaintext): grpc-go waits for a working one.
                self.channel = None;
                self.broken = true;
                self.last_failure = Some(format!("transport: {}", status.message()));
                continue;
            }
            attempt += 1;
            let err = RpcError::from_status(&status);
            self.warn(attempt - 1, &err.grpc_text());
            let deadline_passed = deadline.is_some_and(|d| Instant::now() >= d);
            if matches!(err.code, Code::DeadlineExceeded | Code::Cancelled) {
                if deadline_passed {
                    return Err(Error::Rpc(RpcError::deadline_exceeded()));
                }
                last = err;
                continue;
            }
            if self.should_refresh_token(&err) {
                Box::pin(self.authenticate_within(deadline)).await?;
                last = err;
                continue;
            }
            if err.code == Code::Unavailable && !err.is_etcd() {
                self.channel = None;
            }
            let safe = match retry {
                Retry::Repeatable => err.code == Code::Unavailable,
                Retry::NonRepeatable => false,
            };
            if !safe {
                return Err(Error::Rpc(err));
            }
            last = err;
        }
        Err(Error::Rpc(last))
    }

    fn should_refresh_token(&self, err: &RpcError) -> bool {
        self.cfg.auth.is_some()
            && (err.is(rpc_error::USER_EMPTY)
                || err.is(rpc_error::INVALID_AUTH_TOKEN)
                || err.is(rpc_error::AUTH_OLD_REVISION))
    }

    pub(super) async fn authenticate(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + self.cfg.dial_timeout;
        self.authenticate_within(Some(deadline)).await
    }

    async fn authenticate_within(&mut self, deadline: Option<Instant>) -> Result<(), Error> {
        let Some(creds) = self.cfg.auth.clone() else {
            return Ok(());
        };
        self.token = None;
        let req = AuthenticateRequest {
            name: creds.user,
            password: creds.password,
        };
        let result = self
            .unary(deadline, Retry::NonRepeatable, req, |ch, r| async move {
                AuthClient::new(ch).authenticate(r).await
            })
            .await;
        match result {
            Ok(resp) => {
                self.token = resp.token.parse().ok();
                Ok(())
            }
            Err(Error::Rpc(e)) if e.is(rpc_error::AUTH_NOT_ENABLED) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn range(
        &mut self,
        deadline: Option<Instant>,
        req: RangeRequest,
    ) -> Result<RangeResponse, Error> {
        self.unary(deadline, Retry::Repeatable, req, |ch, r| async move {
            KvClient::new(ch).range(r).await
        })
        .await
    }

    pub async fn put(
        &mut self,
        deadline: Option<Instant>,
        req: PutRequest,
    ) -> Result<PutResponse, Error> {
        self.unary(deadline, Retry::NonRepeatable, req, |ch, r| async move {
            KvClient::new(ch).put(r).await
        })
        .await
    }

    pub async fn delete_range(
        &mut self,
        deadline: Option<Instant>,
        req: DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse, Error> {
        self.unary(deadline, Retry::NonRepeatable, req, |ch, r| async move {
            KvClient::new(ch).delete_range(r).await
        })
        .await
    }

    pub async fn txn(
        &mut self,
        deadline: Option<Instant>,
        req: TxnRequest,
    ) -> Result<TxnResponse, Error> {
        self.unary(deadline, Retry::NonRepeatable, req, |ch, r| async move {
            KvClient::new(ch).txn(r).await
        })
        .await
    }

    pub async fn compact(
        &mut self,
        deadline: Option<Instant>,
        req: CompactionRequest,
    ) -> Result<CompactionResponse, Error> {
        self.unary(deadline, Retry::NonRepeatable, req, |ch, r| async move {
            KvClient::new(ch).compact(r).await
        })
        .await
    }

    pub async fn status(&mut self, deadline: Option<Instant>) -> Result<StatusResponse, Error> {
        self.unary(
            deadline,
            Retry::Repeatable,
            StatusRequest {},
            |ch, r| async move { MaintenanceClient::new(ch).status(r).await },
        )
        .await
    }

    pub async fn hash_kv(
        &mut self,
        deadline: Option<Instant>,
        revision: i64,
    ) -> Result<HashKvResponse, Error> {
        self.unary(
            deadline,
            Retry::Repeatable,
            HashKvRequest { revision },
            |ch, r| async move { MaintenanceClient::new(ch).hash_kv(r).await },
        )
        .await
    }

    pub async fn member_list(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<MemberListResponse, Error> {
        self.unary(
            deadline,
            Retry::Repeatable,
            MemberListRequest::default(),
            |ch, r| async move { ClusterClient::new(ch).member_list(r).await },
        )
        .await
    }

    pub async fn member_add(
        &mut self,
        deadline: Option<Instant>,
        req: MemberAddRequest,
    ) -> Result<MemberAddResponse, Error> {
        self.unary(deadline, Retry::NonRepeatable, req, |ch, r| async move {
            ClusterClient::new(ch).member_add(r).await
        })
        .await
    }

    pub async fn member_remove(
        &mut self,
        deadline: Option<Instant>,
        id: u64,
    ) -> Result<MemberRemoveResponse, Error> {
        let req = MemberRemoveRequest { id };
        self.unary(deadline, Retry::NonRepeatable, req, |ch, r| async move {
            ClusterClient::new(ch).member_remove(r).await
        })
        .await
    }

    pub async fn member_update(
        &mut self,
        deadline: Option<Instant>,
        req: MemberUpdateRequest,
    ) -> Result<MemberUpdateResponse, Error> {
        self.unary(deadline, Retry::NonRepeatable, req, |ch, r| async move {
            ClusterClient::new(ch).member_update(r).await
        })
        .await
    }

    pub async fn member_promote(
        &mut self,
        deadline: Option<Instant>,
        id: u64,
    ) -> Result<MemberPromoteResponse, Error> {
        let req = MemberPromoteRequest { id };
        self.unary(deadline, Retry::NonRepeatable, req, |ch, r| async move {
            ClusterClient::new(ch).member_promote(r).await
        })
        .await
    }

    pub async fn move_leader(
        &mut self,
        deadline: Option<Instant>,
        target_id: u64,
    ) -> Result<MoveLeaderResponse, Error> {
        let req = MoveLeaderRequest { target_id };
        self.unary(deadline, Retry::NonRepeatable, req, |ch, r| async move {
            MaintenanceClient::new(ch).move_leader(r).await
        })
        .await
    }
}

/// The dialer's own wording of why a connection failed, found in tonic's
/// error chain.
fn dial_text(e: &tonic::transport::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(Error::Dial(text)) = s.downcast_ref::<Error>() {
            return text.clone();
        }
        source = s.source();
    }
    format!("transport: {e}")
}
