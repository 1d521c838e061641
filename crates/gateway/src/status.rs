//! gRPC statuses as grpc-gateway v1 (the version etcd 3.4 ships) turns them
//! into HTTP: the status code table and the two JSON error shapes, one for
//! a failed call and one for a stream that fails after it started.

use http::StatusCode;

use crate::json::encode::go_string;

/// A gRPC status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Code(pub(crate) i32);

impl Code {
    pub(crate) const UNKNOWN: Code = Code(2);
    pub(crate) const INVALID_ARGUMENT: Code = Code(3);
    pub(crate) const RESOURCE_EXHAUSTED: Code = Code(8);

    /// grpc-gateway's `HTTPStatusFromCode`.
    pub(crate) fn http_status(self) -> StatusCode {
        match self.0 {
            0 => StatusCode::OK,
            1 => StatusCode::REQUEST_TIMEOUT,
            3 | 11 => StatusCode::BAD_REQUEST,
            4 => StatusCode::GATEWAY_TIMEOUT,
            5 => StatusCode::NOT_FOUND,
            6 | 10 => StatusCode::CONFLICT,
            7 => StatusCode::FORBIDDEN,
            8 => StatusCode::TOO_MANY_REQUESTS,
            9 => StatusCode::PRECONDITION_FAILED,
            12 => StatusCode::NOT_IMPLEMENTED,
            14 => StatusCode::SERVICE_UNAVAILABLE,
            16 => StatusCode::UNAUTHORIZED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A code with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) code: Code,
    pub(crate) message: String,
}

impl Status {
    pub(crate) fn new(code: Code, message: String) -> Self {
        Self { code, message }
    }

    /// The body of a failed call: `{"error":M,"message":M,"code":C}`, where
    /// empty fields are left out as jsonpb leaves out defaults.
    pub(crate) fn error_body(&self) -> String {
        let mut fields = Vec::new();
        if !self.message.is_empty() {
            let message = go_string(&self.message);
            fields.push(format!("\"error\":{message}"));
            fields.push(format!("\"message\":{message}"));
        }
        if self.code.0 != 0 {
            fields.push(format!("\"code\":{}", self.code.0));
        }
        format!("{{{}}}", fields.join(","))
    }

    /// The chunk that ends a failed stream:
    /// `{"error":{"grpc_code":C,"http_code":H,"message":M,"http_status":S}}`.
    pub(crate) fn stream_error_chunk(&self) -> String {
        let http = self.code.http_status();
        let mut fields = Vec::new();
        if self.code.0 != 0 {
            fields.push(format!("\"grpc_code\":{}", self.code.0));
        }
        fields.push(format!("\"http_code\":{}", http.as_u16()));
        if !self.message.is_empty() {
            fields.push(format!("\"message\":{}", go_string(&self.message)));
        }
        if let Some(reason) = http.canonical_reason() {
            fields.push(format!("\"http_status\":{}", go_string(reason)));
        }
        format!("{{\"error\":{{{}}}}}", fields.join(","))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn http_status_table() {
        let table = [
            (0, 200),
            (1, 408),
            (2, 500),
            (3, 400),
            (4, 504),
            (5, 404),
            (6, 409),
            (7, 403),
            (8, 429),
            (9, 412),
            (10, 409),
            (11, 400),
            (12, 501),
            (13, 500),
            (14, 503),
            (15, 500),
            (16, 401),
            (17, 500),
        ];
        for (code, http) in table {
            assert_eq!(Code(code).http_status().as_u16(), http, "code {code}");
        }
    }

    #[test]
    fn bodies_have_etcds_shape() {
        let status = Status::new(
            Code::INVALID_ARGUMENT,
            "etcdserver: key is not provided".into(),
        );
        assert_eq!(
            status.error_body(),
            r#"{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}"#
        );
        let big = Status::new(
            Code::RESOURCE_EXHAUSTED,
            "grpc: received message larger than max (600008 vs. 525288)".into(),
        );
        assert_eq!(
            big.stream_error_chunk(),
            r#"{"error":{"grpc_code":8,"http_code":429,"message":"grpc: received message larger than max (600008 vs. 525288)","http_status":"Too Many Requests"}}"#
        );
        assert_eq!(
            Status::new(Code::UNKNOWN, String::new()).error_body(),
            r#"{"code":2}"#
        );
    }
}
