//! One JSON request in, one JSON response out: decode as Go's gateway
//! does, refuse what etcd's gRPC server would refuse as too large, call
//! the service, encode the answer.

use std::future::Future;
use std::pin::{Pin, pin};

use bytes::Bytes;
use futures::future::{self, Either};

use crate::Error;
use crate::json;
use crate::limits::Limits;

/// The answer of a unary route: the response JSON.
pub(crate) type UnaryReply = Pin<Box<dyn Future<Output = Result<String, Error>> + Send>>;

/// A unary call's request, as read from the body.
pub(crate) struct Unary {
    json: Option<Bytes>,
    limits: Limits,
}

impl Unary {
    /// `json` is the body's first JSON value, `None` for an empty body.
    pub(crate) fn new(json: Option<Bytes>, limits: Limits) -> Self {
        Self { json, limits }
    }

    /// Decodes the request as protobuf type `request_type` and answers it
    /// with `call`.
    pub(crate) fn call<Req, Resp, F, Fut>(self, request_type: &'static str, call: F) -> UnaryReply
    where
        Req: prost::Message + Default + 'static,
        Resp: serde::Serialize,
        F: FnOnce(Req) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Resp, api::Error>> + Send,
    {
        Box::pin(async move {
            let req: Req = json::decode_request(request_type, self.json.as_deref())?;
            check_size(&req, &self.limits)?;
            let resp = call(req).await?;
            encode(&resp)
        })
    }
}

/// Runs `call` while `drain` reads the rest of the request body. A body
/// that breaks means the client is gone: the call is dropped, which
/// cancels it, as Go's gateway cancels the call's context when the
/// connection closes. A call that waits (a campaign, a lock) must not
/// outlive its client.
pub(crate) async fn unless_hung_up(
    call: UnaryReply,
    drain: impl Future<Output = Result<(), Error>>,
) -> Result<String, Error> {
    match future::select(call, pin!(drain)).await {
        Either::Left((answer, _)) => answer,
        Either::Right((Ok(()), call)) => call.await,
        Either::Right((Err(err), _)) => Err(err),
    }
}

/// Refuses a request etcd's gRPC server would not receive.
pub(crate) fn check_size(req: &impl prost::Message, limits: &Limits) -> Result<(), Error> {
    let size = req.encoded_len();
    let limit = limits.grpc_message_bytes();
    if size > limit {
        return Err(Error::TooLarge { size, limit });
    }
    Ok(())
}

/// A response as etcd's gateway writes it.
pub(crate) fn encode(resp: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string(resp)
        .map(json::encode::go_compatible)
        .map_err(|e| Error::Internal(e.to_string()))
}
