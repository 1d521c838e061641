//! The concurrency crate is a service layer beside the etcd server: etcd
//! 3.4's v3election and v3lock services (etcdserver/api/v3election and
//! v3lock, over clientv3/concurrency), built only on the `api` service
//! traits `Kv`, `Watch` and `Lease`; the server wires it, the rpc layer and
//! the gateway call it. It owns the protocol on keys: one waiter key
//! `<name>/<lease hex>` per caller, a queue ordered by create revision,
//! waiting on the delete of the next older key, and taking a key back when
//! a waiting call is dropped. It exposes [`ElectionService`]
//! (`api::Election`) and [`LockService`] (`api::Lock`). It keeps no state
//! between calls, never keeps a lease alive, and never reaches storage,
//! raft or the network except through those traits.

mod election;
mod error;
mod key;
mod lock;
mod observe;
mod queue;
mod request;
mod session;
mod watcher;
mod withdraw;

pub use election::ElectionService;
pub use error::Error;
pub use lock::LockService;
