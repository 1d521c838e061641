//! The one place where an [`api::Error`] becomes a gRPC status. The code for
//! each error is etcd's (etcdserver/api/v3rpc/rpctypes); the message is the
//! error's text, which is etcd's text.

use api::Error;
use tonic::{Code, Status};

/// The gRPC code etcd uses for `err`.
pub fn code_of(err: &Error) -> Code {
    use Error::*;
    match err {
        EmptyKey | KeyNotFound | ValueProvided | LeaseProvided | TooManyOps | DuplicateKey
        | RequestTooLarge | InvalidArgument(_) | MemberBadUrls | UserEmpty | RoleEmpty
        | AuthFailed | InvalidAuthMgmt | AuthOldRevision => Code::InvalidArgument,
        Compacted | FutureRev | LeaseTtlTooLarge => Code::OutOfRange,
        NoSpace | TooManyRequests => Code::ResourceExhausted,
        LeaseNotFound | MemberNotFound => Code::NotFound,
        LeaseExist
        | MemberExist
        | PeerUrlExist
        | MemberNotEnoughStarted
        | MemberNotLearner
        | LearnerNotReady
        | TooManyLearners
        | RootUserNotExist
        | RootRoleNotExist
        | UserAlreadyExist
        | UserNotFound
        | RoleAlreadyExist
        | RoleNotFound
        | RoleNotGranted
        | PermissionNotGranted
        | AuthNotEnabled
        | NotLeader
        | BadLeaderTransferee => Code::FailedPrecondition,
        WatchCanceled | Canceled => Code::Cancelled,
        PermissionDenied => Code::PermissionDenied,
        InvalidAuthToken => Code::Unauthenticated,
        NoLeader
        | LeaderChanged
        | NotCapable
        | Stopped
        | Timeout
        | TimeoutDueToLeaderFail
        | TimeoutDueToConnectionLost
        | TimeoutWaitAppliedIndex
        | Unhealthy
        | NotSupportedForLearner => Code::Unavailable,
        Corrupt => Code::DataLoss,
        DeadlineExceeded | TimeoutLeaderTransfer => Code::DeadlineExceeded,
        Unimplemented(_) => Code::Unimplemented,
        Internal(_) => Code::Unknown,
    }
}

/// The status a client receives for `err`.
pub fn to_status(err: &Error) -> Status {
    Status::new(code_of(err), err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// etcd's table, written out independently of `code_of`: every error of
    /// the vocabulary with the code and text a Go client expects.
    fn expected(err: &Error) -> (Code, &'static str) {
        use Error::*;
        match err {
            EmptyKey => (Code::InvalidArgument, "etcdserver: key is not provided"),
            KeyNotFound => (Code::InvalidArgument, "etcdserver: key not found"),
            ValueProvided => (Code::InvalidArgument, "etcdserver: value is provided"),
            LeaseProvided => (Code::InvalidArgument, "etcdserver: lease is provided"),
            TooManyOps => (
                Code::InvalidArgument,
                "etcdserver: too many operations in txn request",
            ),
            DuplicateKey => (
                Code::InvalidArgument,
                "etcdserver: duplicate key given in txn request",
            ),
            RequestTooLarge => (Code::InvalidArgument, "etcdserver: request is too large"),
            TooManyRequests => (Code::ResourceExhausted, "etcdserver: too many requests"),
            InvalidArgument(_) => (Code::InvalidArgument, "etcdserver: bad request"),
            Compacted => (
                Code::OutOfRange,
                "etcdserver: mvcc: required revision has been compacted",
            ),
            FutureRev => (
                Code::OutOfRange,
                "etcdserver: mvcc: required revision is a future revision",
            ),
            NoSpace => (
                Code::ResourceExhausted,
                "etcdserver: mvcc: database space exceeded",
            ),
            LeaseNotFound => (Code::NotFound, "etcdserver: requested lease not found"),
            LeaseExist => (Code::FailedPrecondition, "etcdserver: lease already exists"),
            LeaseTtlTooLarge => (Code::OutOfRange, "etcdserver: too large lease TTL"),
            WatchCanceled => (Code::Cancelled, "etcdserver: watch canceled"),
            MemberExist => (
                Code::FailedPrecondition,
                "etcdserver: member ID already exist",
            ),
            PeerUrlExist => (
                Code::FailedPrecondition,
                "etcdserver: Peer URLs already exists",
            ),
            MemberNotEnoughStarted => (
                Code::FailedPrecondition,
                "etcdserver: re-configuration failed due to not enough started members",
            ),
            MemberBadUrls => (
                Code::InvalidArgument,
                "etcdserver: given member URLs are invalid",
            ),
            MemberNotFound => (Code::NotFound, "etcdserver: member not found"),
            MemberNotLearner => (
                Code::FailedPrecondition,
                "etcdserver: can only promote a learner member",
            ),
            LearnerNotReady => (
                Code::FailedPrecondition,
                "etcdserver: can only promote a learner member which is in sync with leader",
            ),
            TooManyLearners => (
                Code::FailedPrecondition,
                "etcdserver: too many learner members in cluster",
            ),
            RootUserNotExist => (
                Code::FailedPrecondition,
                "etcdserver: root user does not exist",
            ),
            RootRoleNotExist => (
                Code::FailedPrecondition,
                "etcdserver: root user does not have root role",
            ),
            UserAlreadyExist => (
                Code::FailedPrecondition,
                "etcdserver: user name already exists",
            ),
            UserEmpty => (Code::InvalidArgument, "etcdserver: user name is empty"),
            UserNotFound => (Code::FailedPrecondition, "etcdserver: user name not found"),
            RoleAlreadyExist => (
                Code::FailedPrecondition,
                "etcdserver: role name already exists",
            ),
            RoleNotFound => (Code::FailedPrecondition, "etcdserver: role name not found"),
            RoleEmpty => (Code::InvalidArgument, "etcdserver: role name is empty"),
            AuthFailed => (
                Code::InvalidArgument,
                "etcdserver: authentication failed, invalid user ID or password",
            ),
            PermissionDenied => (Code::PermissionDenied, "etcdserver: permission denied"),
            RoleNotGranted => (
                Code::FailedPrecondition,
                "etcdserver: role is not granted to the user",
            ),
            PermissionNotGranted => (
                Code::FailedPrecondition,
                "etcdserver: permission is not granted to the role",
            ),
            AuthNotEnabled => (
                Code::FailedPrecondition,
                "etcdserver: authentication is not enabled",
            ),
            InvalidAuthToken => (Code::Unauthenticated, "etcdserver: invalid auth token"),
            InvalidAuthMgmt => (Code::InvalidArgument, "etcdserver: invalid auth management"),
            AuthOldRevision => (
                Code::InvalidArgument,
                "etcdserver: revision of auth store is old",
            ),
            NoLeader => (Code::Unavailable, "etcdserver: no leader"),
            NotLeader => (Code::FailedPrecondition, "etcdserver: not leader"),
            LeaderChanged => (Code::Unavailable, "etcdserver: leader changed"),
            NotCapable => (Code::Unavailable, "etcdserver: not capable"),
            Stopped => (Code::Unavailable, "etcdserver: server stopped"),
            Timeout => (Code::Unavailable, "etcdserver: request timed out"),
            TimeoutDueToLeaderFail => (
                Code::Unavailable,
                "etcdserver: request timed out, possibly due to previous leader failure",
            ),
            TimeoutDueToConnectionLost => (
                Code::Unavailable,
                "etcdserver: request timed out, possibly due to connection lost",
            ),
            TimeoutWaitAppliedIndex => (
                Code::Unavailable,
                "etcdserver: request timed out, waiting for the applied index took too long",
            ),
            TimeoutLeaderTransfer => (
                Code::DeadlineExceeded,
                "etcdserver: request timed out, leader transfer took too long",
            ),
            Unhealthy => (Code::Unavailable, "etcdserver: unhealthy cluster"),
            Corrupt => (Code::DataLoss, "etcdserver: corrupt cluster"),
            NotSupportedForLearner => (
                Code::Unavailable,
                "etcdserver: rpc not supported for learner",
            ),
            BadLeaderTransferee => (
                Code::FailedPrecondition,
                "etcdserver: bad leader transferee",
            ),
            Canceled => (Code::Cancelled, "context canceled"),
            DeadlineExceeded => (Code::DeadlineExceeded, "context deadline exceeded"),
            Unimplemented(_) => (Code::Unimplemented, "unknown method"),
            Internal(_) => (Code::Unknown, "disk failure"),
        }
    }

    #[test]
    fn every_error_maps_to_etcds_code_and_text() {
        let all = Error::all();
        assert!(all.len() >= 57, "the table must cover the whole vocabulary");
        for err in all {
            let status = to_status(&err);
            let (code, message) = expected(&err);
            assert_eq!(status.code(), code, "code of {err:?}");
            assert_eq!(status.message(), message, "text of {err:?}");
        }
    }
}
