//! Everything that can go wrong while serving one request, and the gRPC
//! status etcd's gateway reports for it.

use crate::status::{Code, Status};

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not JSON for the request message; the text is Go's.
    #[error("{0}")]
    Json(String),
    /// The body ended inside a JSON value.
    #[error("unexpected EOF")]
    UnexpectedEof,
    /// The request is larger than etcd's gRPC server accepts.
    #[error("grpc: received message larger than max ({size} vs. {limit})")]
    TooLarge { size: usize, limit: usize },
    /// Reading the request body failed.
    #[error("{0}")]
    Body(String),
    /// The service refused the request.
    #[error(transparent)]
    Service(#[from] api::Error),
    /// The gateway could not encode or decode a message it should handle.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The status of a unary call that failed this way. The gateway tags
    /// every problem with the body as the client's (InvalidArgument).
    pub(crate) fn status(&self) -> Status {
        match self {
            Error::Json(_) | Error::UnexpectedEof | Error::Body(_) => {
                Status::new(Code::INVALID_ARGUMENT, self.to_string())
            }
            _ => self.stream_status(),
        }
    }

    /// The status when this ends a stream. Go's gateway hands a stream's
    /// decode errors on untagged, which gRPC reports as Unknown.
    pub(crate) fn stream_status(&self) -> Status {
        match self {
            Error::TooLarge { .. } => Status::new(Code::RESOURCE_EXHAUSTED, self.to_string()),
            Error::Service(err) => {
                let status = rpc::to_status(err);
                Status::new(Code(status.code() as i32), status.message().to_owned())
            }
            Error::Json(_) | Error::UnexpectedEof | Error::Body(_) | Error::Internal(_) => {
                Status::new(Code::UNKNOWN, self.to_string())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_gateway() {
        assert_eq!(
            Error::Json("x".into()).status().code,
            Code::INVALID_ARGUMENT
        );
        assert_eq!(Error::Json("x".into()).stream_status().code, Code::UNKNOWN);
        assert_eq!(Error::UnexpectedEof.status().message, "unexpected EOF");
        let big = Error::TooLarge {
            size: 600_009,
            limit: 525_288,
        };
        assert_eq!(big.status().code, Code::RESOURCE_EXHAUSTED);
        assert_eq!(
            big.status().message,
            "grpc: received message larger than max (600009 vs. 525288)"
        );
        let service = Error::Service(api::Error::FutureRev).status();
        assert_eq!(service.code, Code(11));
        assert_eq!(
            service.message,
            "etcdserver: mvcc: required revision is a future revision"
        );
    }
}
