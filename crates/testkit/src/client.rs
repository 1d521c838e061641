//! gRPC connections to a member's client URL, shared by the cluster
//! harness and the workload.

use std::future::Future;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

/// How long connecting to a member may take.
const CONNECT_LIMIT: Duration = Duration::from_millis(500);

/// A channel to `url` that connects on first use and reconnects after the
/// member restarts.
pub(crate) fn channel(url: &str) -> Channel {
    Endpoint::from_shared(url.to_string())
        .unwrap_or_else(|e| panic!("client URL {url}: {e}"))
        .connect_timeout(CONNECT_LIMIT)
        .connect_lazy()
}

/// `call`'s reply, or `None` when it failed or took longer than `limit`.
pub(crate) async fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Option<T> {
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(reply)) => Some(reply.into_inner()),
        _ => None,
    }
}
