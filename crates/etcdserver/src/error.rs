//! Why a member cannot start or had to stop. Request errors are
//! [`api::Error`]s; these are the server's own.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot open the MVCC store: {0}")]
    Storage(#[from] mvcc::Error),
    #[error("raft: {0}")]
    Raft(#[from] raftnode::Error),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// What a client is told when storage fails under its request.
pub(crate) fn storage_to_api(err: mvcc::Error) -> api::Error {
    err.into()
}
