//! The gateway is the HTTP/1.1 JSON front end, etcd 3.4's grpc-gateway
//! rebuilt without the gRPC hop: it owns the `/v3/` (and `/v3beta/`) JSON
//! routes, decoding request JSON exactly as etcd's Go gateway does (its
//! error texts included), encoding responses in etcd's JSON form, mapping
//! errors to grpc-gateway's bodies and HTTP statuses, and streaming the
//! responses of watch, lease keepalive and election observe as
//! newline-delimited JSON. It exposes [`Gateway`], built from [`Services`],
//! whose [`Gateway::handle`] serves one `http::Request`. It calls the service
//! traits of the `api` crate and must never reach past them into the
//! server, raft or storage, nor speak gRPC.

mod body;
mod error;
mod gateway;
mod json;
mod limits;
mod path;
mod reply;
mod routes;
mod services;
mod status;
mod streaming;
mod unary;
mod unknown_service;

pub use error::Error;
pub use gateway::Gateway;
pub use limits::Limits;
pub use reply::GatewayBody;
pub use services::Services;
