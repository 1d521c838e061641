//! Reading JSON values from a request body as they arrive, one after
//! another, with the memory a value may take bounded.

use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use http_body_util::BodyExt;

use crate::Error;
use crate::json::stream::{AtEnd, Found, ValueSplitter};
use crate::limits::Limits;

/// A request body's data, whatever body type the server hands in.
type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, String>> + Send>>;

/// The JSON values of a request body.
pub(crate) struct JsonValues {
    chunks: Option<Chunks>,
    buf: Vec<u8>,
    splitter: ValueSplitter,
    limits: Limits,
}

impl JsonValues {
    pub(crate) fn new<B>(body: B, limits: Limits) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        let chunks = body.into_data_stream().map_err(|e| e.to_string());
        Self {
            chunks: Some(Box::pin(chunks)),
            buf: Vec::new(),
            splitter: ValueSplitter::default(),
            limits,
        }
    }

    /// The next value, or `None` once the body has ended cleanly.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            match self.splitter.scan(&self.buf) {
                Found::Value(n) => {
                    self.check_size(n)?;
                    return Ok(Some(self.take(n)));
                }
                Found::Syntax(err) => return Err(Error::Json(err)),
                Found::NeedMore => self.check_size(self.buf.len())?,
            }
            let chunk = match &mut self.chunks {
                Some(chunks) => chunks.next().await,
                None => None,
            };
            match chunk {
                Some(Ok(data)) => self.buf.extend_from_slice(&data),
                Some(Err(err)) => {
                    self.chunks = None;
                    return Err(Error::Body(err));
                }
                None => {
                    self.chunks = None;
                    return match self.splitter.finish(&self.buf) {
                        AtEnd::Value => {
                            self.check_size(self.buf.len())?;
                            Ok(Some(self.take(self.buf.len())))
                        }
                        AtEnd::Nothing => {
                            self.buf.clear();
                            Ok(None)
                        }
                        AtEnd::Truncated => Err(Error::UnexpectedEof),
                    };
                }
            }
        }
    }

    /// Reads the rest of the body without looking at it; fails only if the
    /// body breaks, which means the client is gone.
    pub(crate) async fn drain(mut self) -> Result<(), Error> {
        self.buf.clear();
        let Some(chunks) = &mut self.chunks else {
            return Ok(());
        };
        while let Some(chunk) = chunks.next().await {
            chunk.map_err(Error::Body)?;
        }
        Ok(())
    }

    /// Refuses a value of `size` JSON bytes, however it arrived, if no
    /// message within the limit could be that long.
    fn check_size(&self, size: usize) -> Result<(), Error> {
        if size > self.limits.json_bytes() {
            return Err(Error::TooLarge {
                size,
                limit: self.limits.grpc_message_bytes(),
            });
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Bytes {
        self.splitter = ValueSplitter::default();
        let rest = self.buf.split_off(n);
        Bytes::from(std::mem::replace(&mut self.buf, rest))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    fn chunked(parts: &[&'static str]) -> JsonValues {
        let frames = futures::stream::iter(
            parts
                .iter()
                .map(|p| {
                    Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from_static(
                        p.as_bytes(),
                    )))
                })
                .collect::<Vec<_>>(),
        );
        JsonValues::new(StreamBody::new(frames), Limits::default())
    }

    #[tokio::test]
    async fn values_across_chunks() {
        let mut values = chunked(&["{\"a\":", "1} ", "{\"b\":2}", " 7"]);
        assert_eq!(values.next().await.unwrap().unwrap(), &b"{\"a\":1}"[..]);
        assert_eq!(values.next().await.unwrap().unwrap(), &b" {\"b\":2}"[..]);
        assert_eq!(values.next().await.unwrap().unwrap(), &b" 7"[..]);
        assert!(values.next().await.unwrap().is_none());
        assert!(values.next().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn truncated_and_bad_values() {
        let mut truncated = chunked(&["{\"a\""]);
        assert!(matches!(truncated.next().await, Err(Error::UnexpectedEof)));
        let mut bad = chunked(&["{bad"]);
        assert!(matches!(bad.next().await, Err(Error::Json(e)) if e.contains("'b'")));
    }

    #[tokio::test]
    async fn draining_reads_to_the_end_and_reports_a_broken_body() {
        let mut values = chunked(&["{\"a\":1}", "not json at all {{{"]);
        assert!(values.next().await.unwrap().is_some());
        assert!(values.drain().await.is_ok());

        let frames = futures::stream::iter([
            Ok(http_body::Frame::data(Bytes::from_static(b"{} junk"))),
            Err(std::io::Error::other("connection reset")),
        ]);
        let mut values = JsonValues::new(StreamBody::new(frames), Limits::default());
        assert!(values.next().await.unwrap().is_some());
        assert!(matches!(values.drain().await, Err(Error::Body(e)) if e == "connection reset"));
    }

    #[tokio::test]
    async fn oversize_json_is_refused_without_reading_on() {
        let limits = Limits {
            max_request_bytes: 0,
            ..Limits::default()
        };
        let huge = format!("\"{}\"", "x".repeat(limits.json_bytes() + 10));
        let mut values = JsonValues::new(Full::new(Bytes::from(huge)), limits);
        assert!(matches!(
            values.next().await,
            Err(Error::TooLarge { limit: 524_288, .. })
        ));
    }
}
