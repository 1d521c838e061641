//! Request size limits, from etcd's `--max-request-bytes`.

/// What etcd's gRPC server adds to `--max-request-bytes` to get the
/// largest message it receives.
const GRPC_OVERHEAD_BYTES: usize = 512 * 1024;
/// The longest JSON for a message at the limit: a string field written
/// entirely as `\u00XX` escapes takes six bytes per byte.
const JSON_EXPANSION: usize = 6;

/// Request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// etcd's `--max-request-bytes`: the largest request the server
    /// accepts into its log (default 1.5 MiB).
    pub max_request_bytes: usize,
    /// etcd's `--max-concurrent-streams`. etcd's gateway forwards every
    /// request over one gRPC connection, so at most this many calls (a
    /// watch or keepalive for as long as it streams) run at once; the rest
    /// wait. The default is unlimited.
    pub max_concurrent_streams: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: 1024 * 1024 + 512 * 1024,
            max_concurrent_streams: u32::MAX,
        }
    }
}

impl Limits {
    /// The largest encoded request message accepted: what etcd's gRPC
    /// server takes, since etcd's gateway forwards over gRPC.
    pub(crate) fn grpc_message_bytes(&self) -> usize {
        self.max_request_bytes.saturating_add(GRPC_OVERHEAD_BYTES)
    }

    /// How much JSON is buffered for one message before the request is
    /// refused as too large. Go's gateway has no such bound; it keeps
    /// memory in check without refusing any request etcd takes.
    pub(crate) fn json_bytes(&self) -> usize {
        self.grpc_message_bytes().saturating_mul(JSON_EXPANSION)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_etcd() {
        assert_eq!(Limits::default().max_request_bytes, 1_572_864);
        let small = Limits {
            max_request_bytes: 1000,
            ..Limits::default()
        };
        assert_eq!(small.grpc_message_bytes(), 525_288);
        assert_eq!(small.json_bytes(), 6 * 525_288);
    }
}
