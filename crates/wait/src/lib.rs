//! The wait crate sits between the server's proposal path and its apply loop
//! (etcd's `pkg/wait`). It owns one thing: the table from a request id to the
//! caller waiting for that request's result. A proposer registers an id and
//! awaits the returned [`Waiter`]; the apply loop, once the entry carrying the
//! id has been applied, calls [`Registry::trigger`] with the result. A caller
//! that gives up (timeout, cancelled RPC) just drops its waiter, which removes
//! the entry, so the table never grows with abandoned requests. The crate knows
//! nothing about raft, proposals or the value type, and must never block the
//! trigger side: triggering is a map removal plus a channel send.

mod error;
mod registry;

pub use error::Error;
pub use registry::{Registry, Waiter};
