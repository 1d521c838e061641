//! The gRPC service layer (tonic). It owns what etcd's `v3rpc` package does:
//! request checks before anything reaches the server, filling response
//! headers, and the single mapping from [`api::Error`] to `tonic::Status`
//! with etcd's codes and texts. [`front`] wraps the server's service traits
//! with the checks and headers (the gateway calls that), and [`routes`] serves
//! them over gRPC. It calls the service traits of the `api` crate and must
//! never reach past them into the server, raft or storage.

mod check;
mod cluster;
mod election;
mod header;
mod kv;
mod lease;
mod maintenance;
pub mod metrics;
pub mod status;
mod watch;

use std::future::Future;
use std::sync::Arc;

use api::pb::etcdserverpb::{
    cluster_server::ClusterServer, kv_server::KvServer, lease_server::LeaseServer,
    maintenance_server::MaintenanceServer, watch_server::WatchServer,
};
use api::pb::v3electionpb::election_server::ElectionServer;
use api::pb::v3lockpb::lock_server::LockServer;
use api::{Cluster, Election, Error, HeaderSource, Kv, Lease, Lock, Maintenance, Watch};

pub use metrics::GrpcMetrics;
pub use status::{code_of, to_status};

/// The services one member offers, as trait objects.
#[derive(Clone)]
pub struct Backend {
    pub kv: Arc<dyn Kv>,
    pub watch: Arc<dyn Watch>,
    pub lease: Arc<dyn Lease>,
    pub maintenance: Arc<dyn Maintenance>,
    pub cluster: Arc<dyn Cluster>,
    pub election: Arc<dyn Election>,
    pub lock: Arc<dyn Lock>,
}

/// Request limits enforced at this layer.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `--max-txn-ops`: the most operations one txn branch may hold.
    pub max_txn_ops: usize,
    /// `--max-request-bytes`: the largest request the server accepts; gRPC
    /// decoding allows some overhead on top, as etcd does, so that the
    /// server can answer with etcd's own "request is too large".
    pub max_request_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_txn_ops: 128,
            max_request_bytes: 1536 * 1024,
        }
    }
}

/// gRPC framing overhead etcd allows above `--max-request-bytes`.
const GRPC_OVERHEAD_BYTES: usize = 512 * 1024;

/// `backend` with etcd's request checks in front and response headers
/// filled from `header`: what every front end (gRPC, the gateway) serves.
pub fn front(backend: Backend, header: Arc<dyn HeaderSource>, limits: Limits) -> Backend {
    let h = || Arc::clone(&header);
    Backend {
        kv: Arc::new(kv::CheckedKv {
            inner: backend.kv,
            header: h(),
            max_txn_ops: limits.max_txn_ops,
        }),
        watch: Arc::new(watch::CheckedWatch {
            inner: backend.watch,
            header: h(),
        }),
        lease: Arc::new(lease::CheckedLease {
            inner: backend.lease,
            header: h(),
        }),
        maintenance: Arc::new(maintenance::CheckedMaintenance {
            inner: backend.maintenance,
            header: h(),
        }),
        cluster: Arc::new(cluster::CheckedCluster {
            inner: backend.cluster,
            header: h(),
        }),
        election: Arc::new(election::CheckedElection {
            inner: backend.election,
            header: h(),
        }),
        lock: Arc::new(election::CheckedLock {
            inner: backend.lock,
            header: h(),
        }),
    }
}

/// The tonic routes serving `front` (see [`front`]).
pub fn routes(front: &Backend, limits: Limits, metrics: &GrpcMetrics) -> tonic::service::Routes {
    let max = limits.max_request_bytes + GRPC_OVERHEAD_BYTES;
    let m = || metrics.clone();
    let kv = kv::GrpcKv {
        kv: Arc::clone(&front.kv),
        metrics: m(),
    };
    let watch = watch::GrpcWatch {
        watch: Arc::clone(&front.watch),
        metrics: m(),
    };
    let lease = lease::GrpcLease {
        lease: Arc::clone(&front.lease),
        metrics: m(),
    };
    let maintenance = maintenance::GrpcMaintenance {
        maintenance: Arc::clone(&front.maintenance),
        metrics: m(),
    };
    let cluster = cluster::GrpcCluster {
        cluster: Arc::clone(&front.cluster),
        metrics: m(),
    };
    let election = election::GrpcElection {
        election: Arc::clone(&front.election),
        metrics: m(),
    };
    let lock = election::GrpcLock {
        lock: Arc::clone(&front.lock),
        metrics: m(),
    };
    tonic::service::Routes::new(KvServer::new(kv).max_decoding_message_size(max))
        .add_service(WatchServer::new(watch).max_decoding_message_size(max))
        .add_service(LeaseServer::new(lease).max_decoding_message_size(max))
        .add_service(MaintenanceServer::new(maintenance).max_decoding_message_size(max))
        .add_service(ClusterServer::new(cluster).max_decoding_message_size(max))
        .add_service(ElectionServer::new(election).max_decoding_message_size(max))
        .add_service(LockServer::new(lock).max_decoding_message_size(max))
}

/// Runs one unary call: counts it and maps its error to etcd's status.
async fn unary<T>(
    metrics: &GrpcMetrics,
    method: metrics::Method,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<tonic::Response<T>, tonic::Status> {
    let mut guard = metrics::CallGuard::start(metrics, method);
    match call.await {
        Ok(resp) => {
            guard.finish(tonic::Code::Ok);
            guard.sent();
            Ok(tonic::Response::new(resp))
        }
        Err(err) => {
            let status = to_status(&err);
            guard.finish(status.code());
            Err(status)
        }
    }
}
