//! JSON exactly as etcd 3.4's Go gateway reads and writes it: Go's syntax
//! errors, jsonpb's field rules for requests, Go's string escaping for
//! responses.

mod base64;
mod decode;
pub(crate) mod encode;
mod raw;
mod scanner;
mod schema;
pub(crate) mod stream;

use crate::Error;

/// Decodes a request of protobuf type `full_name` from one JSON value
/// (`None` for an empty body, which Go treats as an empty message).
pub(crate) fn decode_request<T>(full_name: &str, value: Option<&[u8]>) -> Result<T, Error>
where
    T: prost::Message + Default,
{
    let Some(value) = value else {
        return Ok(T::default());
    };
    let desc = schema::message(full_name).map_err(Error::Internal)?;
    let dynamic = decode::message(&desc, raw::trim(value)).map_err(Error::Json)?;
    dynamic
        .transcode_to()
        .map_err(|e| Error::Internal(format!("{full_name}: {e}")))
}
