//! The peer crate is the member-to-member layer, beside `rpc` and under the
//! server binary: it carries raft messages and snapshots between members,
//! answers a joining member's question for the member list, and forwards
//! lease calls from followers to the leader, all over this project's own
//! gRPC protocol (`proto/peerpb/peer.proto`) on http, https, unix and unixs
//! peer URLs. It exposes [`PeerTransport`] (raftnode's `Transport` and
//! `api::LeaderLink`), [`PeerService`] with [`peer_service`] (the server
//! side), [`fetch_members`] and [`peer_hash_kv`]. It owns the peer connections and the
//! received snapshot dumps (`raftnode::snapshot_db_path`) and nothing else:
//! it never interprets raft entries or store dumps, never applies anything,
//! and never blocks raft's thread or lets one peer's trouble delay another.

mod api_status;
mod config;
mod dial;
mod error;
mod hash_check;
mod leader_link;
mod members;
mod metadata;
mod peer_queue;
mod peer_url;
mod service;
mod snapshot_recv;
mod snapshot_send;
mod transport;

/// The generated peer protocol.
pub mod peerpb {
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("peerpb");
}

pub use config::{ClientTls, PeerConfig, SnapshotSource};
pub use error::Error;
pub use hash_check::{PeerHash, peer_hash_kv};
pub use members::fetch_members;
pub use peer_url::unix_socket_path;
pub use service::{PeerService, peer_service};
pub use transport::PeerTransport;
