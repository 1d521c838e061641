//! The api crate is the contract between layers: etcd v3's protobuf types
//! generated from `proto/` (messages, tonic clients and servers, protobuf-JSON
//! for the gateway), the error vocabulary every layer speaks, and the service
//! traits (`Kv`, ...) that the server implements and the gRPC service and the
//! gateway call. It holds no behaviour of its own and must never depend on
//! another crate of this workspace.

mod code_name;
mod error;
pub mod pb;
mod service;

pub use code_name::grpc_code_name;
pub use error::Error;
pub use service::{
    Cluster, Election, HeaderSource, Kv, LeaderLink, Lease, Lock, Maintenance, RequestStream,
    ResponseStream, Watch,
};
