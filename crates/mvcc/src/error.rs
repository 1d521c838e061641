//! The one error type of the store. Errors a client may see are carried as
//! the shared [`api::Error`] so the gRPC layer maps them like any other; the
//! rest describe local failures (disk, a corrupt file, a closed store).

/// Everything that can go wrong in the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A request error etcd reports to clients (compacted, future revision,
    /// key not found, ...).
    #[error(transparent)]
    Api(#[from] api::Error),
    /// A watch on `[key, end)` with `end <= key`; the text is etcd's cancel
    /// reason.
    #[error("mvcc: watcher range is empty")]
    EmptyWatcherRange,
    /// A watch id already used on the same stream; etcd's cancel reason.
    #[error("mvcc: duplicate watch ID provided on the WatchStream")]
    DuplicateWatchId,
    /// The store has been closed.
    #[error("mvcc: closed")]
    Closed,
    /// The database file holds something the store cannot trust.
    #[error("mvcc: corrupt database: {0}")]
    Corrupt(String),
    /// The storage engine failed (I/O, ...).
    #[error("mvcc: storage failure: {0}")]
    Storage(String),
    /// An earlier failure left the in-memory state unknown; the store refuses
    /// all work until it is reopened (and the raft log replayed).
    #[error("mvcc: store is unusable after an earlier failure: {0}")]
    Poisoned(String),
}

impl Error {
    pub(crate) fn storage(err: impl Into<redb::Error>) -> Error {
        let err: redb::Error = err.into();
        match err {
            redb::Error::Corrupted(reason) => Error::Corrupt(reason),
            other => Error::Storage(other.to_string()),
        }
    }

    /// Whether the error describes the request (and so left the store
    /// untouched) rather than a failure of the store itself.
    pub(crate) fn is_request_error(&self) -> bool {
        matches!(self, Error::Api(_))
    }
}

impl From<Error> for api::Error {
    fn from(err: Error) -> api::Error {
        match err {
            Error::Api(e) => e,
            Error::EmptyWatcherRange | Error::DuplicateWatchId => {
                api::Error::InvalidArgument(err.to_string())
            }
            Error::Closed => api::Error::Stopped,
            Error::Corrupt(_) | Error::Storage(_) | Error::Poisoned(_) => {
                api::Error::Internal(err.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_keep_etcd_text() {
        let err = Error::from(api::Error::Compacted);
        assert_eq!(
            err.to_string(),
            "etcdserver: mvcc: required revision has been compacted"
        );
        assert_eq!(api::Error::from(err), api::Error::Compacted);
        assert!(Error::Api(api::Error::FutureRev).is_request_error());
        assert!(!Error::Storage("disk".into()).is_request_error());
    }

    #[test]
    fn local_failures_become_internal() {
        assert_eq!(api::Error::from(Error::Closed), api::Error::Stopped);
        assert!(matches!(
            api::Error::from(Error::Corrupt("bad page".into())),
            api::Error::Internal(msg) if msg.contains("bad page")
        ));
        assert_eq!(
            api::Error::from(Error::DuplicateWatchId),
            api::Error::InvalidArgument(
                "mvcc: duplicate watch ID provided on the WatchStream".into()
            )
        );
    }
}
