//! The crate's one error type. etcd 3.4 runs these services on an embedded
//! client, so every failure reaches the caller as a plain error: gRPC code
//! Unknown with the error's text, whatever the code of the underlying
//! error was. [`From<Error> for api::Error`] keeps exactly that.

use api::pb::v3electionpb::LeaderKey;

/// Everything an election or lock call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Proclaim or Resign without a `leader` field.
    #[error("\"leader\" field must be provided")]
    MissingLeaderKey,
    /// No key exists under the election's prefix.
    #[error("election: no leader")]
    NoLeader,
    /// The leader key is gone or was re-created since it was elected.
    #[error("election: not leader")]
    NotLeader,
    /// A watch ended without saying why.
    #[error("lost watcher waiting for delete")]
    LostWatcher,
    /// The Watch service canceled a watcher; the text is its reason.
    #[error("{0}")]
    WatchCanceled(String),
    /// A response that lacks what its request guarantees.
    #[error("unexpected response: {0}")]
    UnexpectedResponse(&'static str),
    /// A failure of the Kv, Watch or Lease service underneath.
    #[error(transparent)]
    Backend(#[from] api::Error),
}

impl From<Error> for api::Error {
    fn from(err: Error) -> api::Error {
        api::Error::Internal(err.to_string())
    }
}

/// The `leader` field of a Proclaim or Resign request.
pub(crate) fn required(leader: Option<LeaderKey>) -> Result<LeaderKey, Error> {
    leader.ok_or(Error::MissingLeaderKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_keeps_its_text_behind_code_unknown() {
        let cases = [
            (Error::MissingLeaderKey, "\"leader\" field must be provided"),
            (Error::NoLeader, "election: no leader"),
            (Error::NotLeader, "election: not leader"),
            (Error::LostWatcher, "lost watcher waiting for delete"),
            (
                Error::Backend(api::Error::LeaseNotFound),
                "etcdserver: requested lease not found",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(api::Error::from(err), api::Error::Internal(text.into()));
        }
    }
}
