//! A failed RPC as etcdctl reports it. clientv3 turns a gRPC status whose
//! message is one of etcd's known error texts into just that text, a status
//! caused by the caller's own deadline into `context deadline exceeded`,
//! and anything else into grpc-go's `rpc error: code = .. desc = ..`.

use tonic::Code;

/// The error texts clientv3 recognises (rpctypes' `errStringToError`).
const KNOWN: &[&str] = &[
    "etcdserver: key is not provided",
    "etcdserver: key not found",
    "etcdserver: value is provided",
    "etcdserver: lease is provided",
    "etcdserver: too many operations in txn request",
    "etcdserver: duplicate key given in txn request",
    "etcdserver: mvcc: required revision has been compacted",
    "etcdserver: mvcc: required revision is a future revision",
    "etcdserver: mvcc: database space exceeded",
    "etcdserver: requested lease not found",
    "etcdserver: lease already exists",
    "etcdserver: too large lease TTL",
    "etcdserver: member ID already exist",
    "etcdserver: Peer URLs already exists",
    "etcdserver: re-configuration failed due to not enough started members",
    "etcdserver: given member URLs are invalid",
    "etcdserver: member not found",
    "etcdserver: can only promote a learner member",
    "etcdserver: can only promote a learner member which is in sync with leader",
    "etcdserver: too many learner members in cluster",
    "etcdserver: request is too large",
    "etcdserver: too many requests",
    "etcdserver: root user does not exist",
    "etcdserver: root user does not have root role",
    "etcdserver: user name already exists",
    "etcdserver: user name is empty",
    "etcdserver: user name not found",
    "etcdserver: role name already exists",
    "etcdserver: role name not found",
    "etcdserver: role name is empty",
    "etcdserver: authentication failed, invalid user ID or password",
    "etcdserver: permission denied",
    "etcdserver: role is not granted to the user",
    "etcdserver: permission is not granted to the role",
    "etcdserver: authentication is not enabled",
    "etcdserver: invalid auth token",
    "etcdserver: invalid auth management",
    "etcdserver: revision of auth store is old",
    "etcdserver: no leader",
    "etcdserver: not leader",
    "etcdserver: leader changed",
    "etcdserver: not capable",
    "etcdserver: server stopped",
    "etcdserver: request timed out",
    "etcdserver: request timed out, possibly due to previous leader failure",
    "etcdserver: request timed out, possibly due to connection lost",
    "etcdserver: request timed out, waiting for the applied index took too long",
    "etcdserver: unhealthy cluster",
    "etcdserver: corrupt cluster",
    "etcdserver: rpc not supported for learner",
    "etcdserver: bad leader transferee",
];

pub const PERMISSION_DENIED: &str = "etcdserver: permission denied";
pub const AUTH_NOT_ENABLED: &str = "etcdserver: authentication is not enabled";
pub const INVALID_AUTH_TOKEN: &str = "etcdserver: invalid auth token";
pub const AUTH_OLD_REVISION: &str = "etcdserver: revision of auth store is old";
pub const USER_EMPTY: &str = "etcdserver: user name is empty";
pub const LEASE_NOT_FOUND: &str = "etcdserver: requested lease not found";
pub const NO_LEADER: &str = "etcdserver: no leader";

pub use api::grpc_code_name as code_name;

/// A failed call: the status the server (or transport) gave, or the
/// caller's deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub code: Code,
    pub message: String,
    /// The command's own deadline passed.
    pub deadline: bool,
}

impl RpcError {
    pub fn from_status(status: &tonic::Status) -> Self {
        RpcError {
            code: status.code(),
            message: status.message().to_string(),
            deadline: false,
        }
    }

    pub fn deadline_exceeded() -> Self {
        RpcError {
            code: Code::DeadlineExceeded,
            message: "context deadline exceeded".to_string(),
            deadline: true,
        }
    }

    /// Whether clientv3 would map this to one of etcd's errors.
    pub fn is_etcd(&self) -> bool {
        !self.deadline && KNOWN.contains(&self.message.as_str())
    }

    /// The message, when it is the etcd error `text`.
    pub fn is(&self, text: &str) -> bool {
        !self.deadline && self.message == text
    }

    /// grpc-go's `status.Error(..).Error()` text, as the retry log shows it.
    pub fn grpc_text(&self) -> String {
        format!(
            "rpc error: code = {} desc = {}",
            code_name(self.code),
            self.message
        )
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.deadline {
            f.write_str("context deadline exceeded")
        } else if self.is_etcd() {
            f.write_str(&self.message)
        } else {
            f.write_str(&self.grpc_text())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shows_known_errors_bare_and_others_as_grpc() {
        let known = RpcError::from_status(&tonic::Status::out_of_range(
            "etcdserver: mvcc: required revision has been compacted",
        ));
        assert_eq!(
            known.to_string(),
            "etcdserver: mvcc: required revision has been compacted"
        );
        let other = RpcError::from_status(&tonic::Status::unimplemented("nope"));
        assert_eq!(
            other.to_string(),
            "rpc error: code = Unimplemented desc = nope"
        );
        assert_eq!(
            RpcError::deadline_exceeded().to_string(),
            "context deadline exceeded"
        );
        assert_eq!(
            RpcError::deadline_exceeded().grpc_text(),
            "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
        );
    }
}
