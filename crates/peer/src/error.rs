/// What the peer layer can fail with on its own account. Errors a remote
/// member's services report travel as [`api::Error`] instead (see
/// `LeaderLink`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The transport spawns its per-peer tasks on the runtime it was created
    /// in.
    #[error("peer: must be created inside a tokio runtime")]
    NoRuntime,
    #[error("peer: invalid peer URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    /// No connection could be made to any of the given URLs.
    #[error("peer: could not connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The remote member answered the call with an error.
    #[error("peer: {url} refused the request: {status}")]
    Refused { url: String, status: tonic::Status },
    #[error("peer: no peer URLs given")]
    NoUrls,
}
