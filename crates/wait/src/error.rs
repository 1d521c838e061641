/// Why registering or waiting failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Another caller is already waiting on this id; ids must be unique
    /// among the requests in flight.
    #[error("wait: id {0:#x} is already registered")]
    Duplicate(u64),
    /// The registry went away before the id was triggered (server stopping).
    #[error("wait: registry closed before the id was triggered")]
    Closed,
}
