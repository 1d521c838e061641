//! The server/apply layer: etcd's `EtcdServer`. It owns the path from a
//! client request to its answer: writes become `InternalRaftRequest`
//! proposals with a unique id, wait in the `wait` registry, and are answered
//! when the apply loop has applied the committed entry to the MVCC store;
//! linearizable reads wait for a raft ReadIndex to be applied, serializable
//! reads are served locally. It also owns membership, the cluster version
//! and the state behind Maintenance and response headers. It implements the
//! `api` service traits and never speaks gRPC or HTTP: front ends call it
//! through those traits only. The MVCC store is written by the apply loop
//! alone.

mod apply;
mod cluster;
mod config;
mod error;
mod id;
mod kv;
mod lease;
mod lessor;
mod maintenance;
mod membership;
mod propose;
mod read;
mod server;
mod version;
mod watch;

pub use config::{ClusterState, Join, ServerConfig};
pub use error::Error;
pub use membership::{Member, cluster_id, member_id};
pub use server::{EtcdServer, Peers, ServerCounters, identity};
pub use version::{API_VERSION, CLUSTER_VERSION, SERVER_VERSION};
