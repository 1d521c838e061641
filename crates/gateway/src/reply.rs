//! The HTTP responses the gateway sends, with the headers and bodies etcd
//! 3.4 sends for the same case.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};

use crate::status::Status;

/// The body of every gateway response. Unsync because a watch response
/// body owns the service's response stream, which is only `Send`.
pub type GatewayBody = UnsyncBoxBody<Bytes, std::io::Error>;

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";
/// The gRPC response header etcd's gateway forwards with each success.
const GRPC_CONTENT_TYPE: (&str, &str) = ("grpc-metadata-content-type", "application/grpc");

fn full(body: impl Into<Bytes>) -> GatewayBody {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn response(
    status: StatusCode,
    headers: &[(&'static str, &'static str)],
    body: GatewayBody,
) -> Response<GatewayBody> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    for (name, value) in headers {
        resp.headers_mut()
            .insert(*name, HeaderValue::from_static(value));
    }
    resp
}

/// A successful call's JSON.
pub(crate) fn json(body: String) -> Response<GatewayBody> {
    response(
        StatusCode::OK,
        &[(CONTENT_TYPE.as_str(), JSON), GRPC_CONTENT_TYPE],
        full(body),
    )
}

/// A failed call, as grpc-gateway's `DefaultHTTPError` writes it.
pub(crate) fn error(status: &Status) -> Response<GatewayBody> {
    response(
        status.code.http_status(),
        &[(CONTENT_TYPE.as_str(), JSON)],
        full(status.error_body()),
    )
}

/// A started stream: 200, then chunks as they come.
pub(crate) fn stream<S>(chunks: S) -> Response<GatewayBody>
where
    S: Stream<Item = Bytes> + Send + 'static,
{
    let frames = chunks.map(|chunk| Ok::<_, std::io::Error>(Frame::data(chunk)));
    response(
        StatusCode::OK,
        &[(CONTENT_TYPE.as_str(), JSON), GRPC_CONTENT_TYPE],
        StreamBody::new(frames).boxed_unsync(),
    )
}

/// A stream that ended cleanly before its first message. The gRPC call
/// carried no response headers, so etcd's gateway forwards none.
pub(crate) fn empty_stream() -> Response<GatewayBody> {
    let frames = futures::stream::empty::<Result<Frame<Bytes>, std::io::Error>>();
    response(
        StatusCode::OK,
        &[(CONTENT_TYPE.as_str(), JSON)],
        StreamBody::new(frames).boxed_unsync(),
    )
}

/// A stream that failed before its first message: the status code tells
/// the error, the body is the stream's error chunk alone.
pub(crate) fn stream_failed(status: &Status) -> Response<GatewayBody> {
    response(
        status.code.http_status(),
        &[(CONTENT_TYPE.as_str(), JSON)],
        full(status.stream_error_chunk()),
    )
}

/// Go's `http.Error`: the text and a newline.
pub(crate) fn text(status: StatusCode, text: &str) -> Response<GatewayBody> {
    response(
        status,
        &[
            (CONTENT_TYPE.as_str(), TEXT),
            ("x-content-type-options", "nosniff"),
        ],
        full(format!("{text}\n")),
    )
}

/// Go's server refusing a request line it cannot parse, before any handler.
pub(crate) fn unparsable_request() -> Response<GatewayBody> {
    response(
        StatusCode::BAD_REQUEST,
        &[(CONTENT_TYPE.as_str(), TEXT), ("connection", "close")],
        full("400 Bad Request"),
    )
}

/// Go's `http.Redirect` with 301, as `ServeMux` sends for unclean paths.
pub(crate) fn redirect(location: &str, method: &Method) -> Response<GatewayBody> {
    let Ok(value) = HeaderValue::from_str(location) else {
        return text(StatusCode::BAD_REQUEST, "Bad Request");
    };
    let mut resp = if method == Method::GET || method == Method::HEAD {
        let body = format!(
            "<a href=\"{}\">Moved Permanently</a>.\n\n",
            html_escape(location)
        );
        response(
            StatusCode::MOVED_PERMANENTLY,
            &[(CONTENT_TYPE.as_str(), "text/html; charset=utf-8")],
            full(body),
        )
    } else {
        response(StatusCode::MOVED_PERMANENTLY, &[], full(Bytes::new()))
    };
    resp.headers_mut().insert(http::header::LOCATION, value);
    resp
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            c => out.push(c),
        }
    }
    out
}

/// The answer to a CORS preflight: 200, no body.
pub(crate) fn preflight() -> Response<GatewayBody> {
    response(StatusCode::OK, &[], full(Bytes::new()))
}

/// The CORS headers etcd adds to every response with its default
/// `--cors=*`.
pub(crate) fn add_cors(headers: &mut HeaderMap) {
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("POST, GET, OPTIONS, PUT, DELETE"),
    );
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("accept, content-type, authorization"),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redirect_bodies_follow_go() {
        let get = redirect("/v3/kv/range", &Method::GET);
        assert_eq!(get.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(get.headers()["location"], "/v3/kv/range");
        assert_eq!(get.headers()["content-type"], "text/html; charset=utf-8");
        let post = redirect("/v3/kv/range?a=b", &Method::POST);
        assert_eq!(post.headers()["location"], "/v3/kv/range?a=b");
        assert!(post.headers().get("content-type").is_none());
        assert_eq!(html_escape("<a&'\">"), "&lt;a&amp;&#39;&#34;&gt;");
    }
}
