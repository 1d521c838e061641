//! The gRPC service layer (tonic). It owns what etcd's `v3rpc` package does:
//! request checks before anything reaches the server, filling response
//! headers, and the single mapping from [`api::Error`] to `tonic::Status`
//! with etcd's codes and texts. It calls the service traits of the `api`
//! crate and must never reach past them into the server, raft or storage.

pub mod status;

pub use status::{code_of, to_status};
