//! How an [`api::Error`] from a remote member's services crosses the peer
//! protocol: the status message is the error's text (etcd's), and the
//! `x-etcd-error` metadata says which kind of error it is, so the caller
//! gets back the very same value. A status without that metadata is a
//! transport failure, not an answer.

use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

const KIND: &str = "x-etcd-error";
/// An error whose text names it (every variant without a free-form text).
const NAMED: &str = "named";
const INVALID_ARGUMENT: &str = "invalid-argument";
const UNIMPLEMENTED: &str = "unimplemented";
const INTERNAL: &str = "internal";

pub(crate) fn to_status(err: &api::Error) -> Status {
    let (code, kind) = match err {
        api::Error::InvalidArgument(_) => (Code::InvalidArgument, INVALID_ARGUMENT),
        api::Error::Unimplemented(_) => (Code::Unimplemented, UNIMPLEMENTED),
        api::Error::Internal(_) => (Code::Internal, INTERNAL),
        _ => (Code::FailedPrecondition, NAMED),
    };
    let mut status = Status::new(code, err.to_string());
    status
        .metadata_mut()
        .insert(KIND, MetadataValue::from_static(kind));
    status
}

/// The error a remote service answered with; `None` when the status did
/// not come from one.
pub(crate) fn from_status(status: &Status) -> Option<api::Error> {
    let kind = status.metadata().get(KIND)?.to_str().ok()?;
    let text = status.message().to_string();
    Some(match kind {
        INVALID_ARGUMENT => api::Error::InvalidArgument(text),
        UNIMPLEMENTED => api::Error::Unimplemented(text),
        NAMED => api::Error::all()
            .into_iter()
            .find(|e| e.to_string() == text)
            .unwrap_or(api::Error::Internal(text)),
        _ => api::Error::Internal(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_comes_back_as_itself() {
        for err in api::Error::all() {
            // Through the wire form of the metadata, as a client sees it.
            let status = to_status(&err);
            let mut header = http::HeaderMap::new();
            assert!(status.add_header(&mut header).is_ok());
            let received = Status::from_header_map(&header).unwrap_or_else(|| Status::unknown(""));
            assert_eq!(from_status(&received), Some(err.clone()), "{err:?}");
        }
    }

    #[test]
    fn transport_failures_are_not_answers() {
        assert_eq!(
            from_status(&Status::unavailable("connection refused")),
            None
        );
    }
}
