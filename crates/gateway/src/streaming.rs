//! Streams over HTTP/1.1 as grpc-gateway v1 serves them. The response is
//! sent when the first message or error is ready, then one
//! `{"result":...}` line per message; a failure after the start is reported
//! as a final `{"error":{...}}` chunk with no newline.
//!
//! A bidirectional stream's request body is a sequence of JSON messages;
//! the first is decoded before the call starts (a bad one fails the request
//! outright), later ones are fed in as they arrive, and a bad later one
//! just ends the request side. A server stream takes one request, decoded
//! as a unary call's is; the rest of its body is read and thrown away, so
//! that a client hanging up is noticed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use api::{RequestStream, ResponseStream};
use bytes::Bytes;
use futures::channel::oneshot;
use futures::{FutureExt, Stream, StreamExt, future, stream};
use http::Response;

use crate::Error;
use crate::body::JsonValues;
use crate::json;
use crate::limits::Limits;
use crate::reply::{self, GatewayBody};
use crate::unary::{check_size, encode};

/// The answer of a streaming route.
pub(crate) type StreamReply = Pin<Box<dyn Future<Output = Response<GatewayBody>> + Send>>;

/// What ends a stream from the request side: the error, or `None` once the
/// request side can no longer end it.
type Fatal = Pin<Box<dyn Future<Output = Option<Error>> + Send>>;

/// A streaming call's request body.
pub(crate) struct Streaming {
    values: JsonValues,
    limits: Limits,
}

impl Streaming {
    pub(crate) fn new(values: JsonValues, limits: Limits) -> Self {
        Self { values, limits }
    }

    /// Runs a bidirectional stream whose requests are protobuf type
    /// `request_type`; `open` starts the call.
    pub(crate) fn bidi<Req, Resp, F, Fut>(self, request_type: &'static str, open: F) -> StreamReply
    where
        Req: prost::Message + Default + 'static,
        Resp: serde::Serialize + Send + 'static,
        F: FnOnce(RequestStream<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = ResponseStream<Resp>> + Send,
    {
        Box::pin(async move {
            let Streaming { mut values, limits } = self;
            let first = match read_first::<Req>(&mut values, request_type, &limits).await {
                Ok(first) => first,
                Err(err @ Error::TooLarge { .. }) => {
                    return reply::stream_failed(&err.stream_status());
                }
                Err(err) => return reply::error(&err.stream_status()),
            };
            let (fatal_tx, fatal_rx) = oneshot::channel();
            let rest = later_requests::<Req>(values, request_type, limits, fatal_tx);
            let requests: RequestStream<Req> = Box::pin(stream::iter(first).chain(rest));
            let responses = open(requests).await;
            respond(Relay {
                responses: Some(responses),
                fatal: Some(Box::pin(fatal_rx.map(Result::ok))),
            })
            .await
        })
    }

    /// Runs a server stream whose one request is protobuf type
    /// `request_type`; `open` starts the call.
    pub(crate) fn server<Req, Resp, F, Fut>(
        self,
        request_type: &'static str,
        open: F,
    ) -> StreamReply
    where
        Req: prost::Message + Default + 'static,
        Resp: serde::Serialize + Send + 'static,
        F: FnOnce(Req) -> Fut + Send + 'static,
        Fut: Future<Output = ResponseStream<Resp>> + Send,
    {
        Box::pin(async move {
            let Streaming { mut values, limits } = self;
            let first = values
                .next()
                .await
                .and_then(|first| json::decode_request::<Req>(request_type, first.as_deref()))
                .and_then(|req| check_size(&req, &limits).map(|()| req));
            // Go's gateway refuses a bad request before the call, as for a
            // unary call; an oversize one reaches etcd's gRPC server, which
            // fails the started stream.
            let req = match first {
                Ok(req) => req,
                Err(err @ Error::TooLarge { .. }) => {
                    return reply::stream_failed(&err.stream_status());
                }
                Err(err) => return reply::error(&err.status()),
            };
            let responses = open(req).await;
            let hang_up = values.drain().map(Result::err);
            respond(Relay {
                responses: Some(responses),
                fatal: Some(Box::pin(hang_up)),
            })
            .await
        })
    }
}

/// The response to a started call: waits for its first event, then
/// streams the rest.
async fn respond<Resp>(mut events: Relay<Resp>) -> Response<GatewayBody>
where
    Resp: serde::Serialize + Send + 'static,
{
    match events.next().await {
        None => reply::empty_stream(),
        Some(Err(err)) => reply::stream_failed(&err.stream_status()),
        Some(Ok(first)) => match encode(&first) {
            Err(err) => reply::stream_failed(&err.stream_status()),
            Ok(json) => {
                let head = result_chunk(&json);
                let rest = events.scan(false, |failed, event| {
                    let chunk = if *failed {
                        None
                    } else {
                        let (chunk, is_error) = chunk(event);
                        *failed = is_error;
                        Some(chunk)
                    };
                    future::ready(chunk)
                });
                reply::stream(stream::once(future::ready(head)).chain(rest))
            }
        },
    }
}

/// The first request, or `None` for an empty body.
async fn read_first<Req>(
    values: &mut JsonValues,
    request_type: &'static str,
    limits: &Limits,
) -> Result<Option<Req>, Error>
where
    Req: prost::Message + Default,
{
    let Some(value) = values.next().await? else {
        return Ok(None);
    };
    let req: Req = json::decode_request(request_type, Some(&value))?;
    check_size(&req, limits)?;
    Ok(Some(req))
}

/// Requests after the first, until the body ends or holds something that
/// is not one. Two things end the whole stream, reported through `fatal`:
/// an oversize request, as etcd's gRPC server refuses it, and a broken
/// body, which means the client is gone (Go's gateway cancels the call
/// when the connection closes).
fn later_requests<Req>(
    values: JsonValues,
    request_type: &'static str,
    limits: Limits,
    fatal: oneshot::Sender<Error>,
) -> impl Stream<Item = Req> + Send
where
    Req: prost::Message + Default + 'static,
{
    stream::unfold(Some((values, fatal)), move |state| async move {
        let (mut values, fatal) = state?;
        let outcome = match values.next().await {
            Ok(Some(value)) => json::decode_request::<Req>(request_type, Some(&value))
                .and_then(|req| check_size(&req, &limits).map(|()| req)),
            Ok(None) => return None,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(req) => Some((req, Some((values, fatal)))),
            Err(err @ (Error::TooLarge { .. } | Error::Body(_))) => {
                // The receiver is gone only if the response already ended.
                let _ = fatal.send(err);
                None
            }
            Err(_) => None,
        }
    })
}

/// The response stream merged with the request side's fatal error; ends
/// after the first error, letting go of the service's stream at once.
struct Relay<Resp> {
    responses: Option<ResponseStream<Resp>>,
    fatal: Option<Fatal>,
}

impl<Resp> Relay<Resp> {
    fn finish(&mut self, last: Option<Result<Resp, Error>>) -> Poll<Option<Result<Resp, Error>>> {
        self.responses = None;
        self.fatal = None;
        Poll::Ready(last)
    }
}

impl<Resp> Stream for Relay<Resp> {
    type Item = Result<Resp, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(responses) = &mut self.responses else {
            return Poll::Ready(None);
        };
        // Responses already produced go out before a request-side failure,
        // as they would from etcd's gRPC server.
        match responses.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(resp))) => return Poll::Ready(Some(Ok(resp))),
            Poll::Ready(Some(Err(err))) => return self.finish(Some(Err(Error::Service(err)))),
            Poll::Ready(None) => return self.finish(None),
            Poll::Pending => {}
        }
        if let Some(fatal) = &mut self.fatal {
            match fatal.poll_unpin(cx) {
                Poll::Ready(Some(err)) => return self.finish(Some(Err(err))),
                Poll::Ready(None) => self.fatal = None,
                Poll::Pending => {}
            }
        }
        Poll::Pending
    }
}

/// One event as it goes on the wire, and whether it ends the stream.
fn chunk<Resp: serde::Serialize>(event: Result<Resp, Error>) -> (Bytes, bool) {
    match event.and_then(|resp| encode(&resp)) {
        Ok(json) => (result_chunk(&json), false),
        Err(err) => (Bytes::from(err.stream_status().stream_error_chunk()), true),
    }
}

fn result_chunk(json: &str) -> Bytes {
    Bytes::from(format!("{{\"result\":{json}}}\n"))
}
