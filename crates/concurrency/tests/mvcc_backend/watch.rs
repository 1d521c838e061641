//! Watch over the store's watch streams: one mvcc stream per call, dropped
//! (with its watchers) when the caller drops the response stream.

use std::collections::VecDeque;
use std::sync::Arc;

use api::pb::etcdserverpb::watch_request::RequestUnion;
use api::pb::etcdserverpb::{ResponseHeader, WatchRequest, WatchResponse};
use api::{Error, RequestStream, ResponseStream};
use futures::{StreamExt, stream};
use mvcc::{Store, WatchBatch, WatchStream};

use super::Backend;

struct Call {
    store: Arc<Store>,
    requests: Option<RequestStream<WatchRequest>>,
    stream: WatchStream,
    ready: VecDeque<WatchResponse>,
}

fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision,
        ..ResponseHeader::default()
    })
}

impl Call {
    async fn next(&mut self) -> Option<Result<WatchResponse, Error>> {
        loop {
            if let Some(resp) = self.ready.pop_front() {
                return Some(Ok(resp));
            }
            let request = async {
                match self.requests.as_mut() {
                    Some(requests) => requests.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                req = request => match req {
                    Some(req) => self.handle(req),
                    None => self.requests = None,
                },
                batch = self.stream.recv() => self.ready.push_back(response(batch?)),
            }
        }
    }

    fn handle(&mut self, req: WatchRequest) {
        match req.request_union {
            Some(RequestUnion::CreateRequest(create)) => {
                let created = self.stream.watch(
                    create.watch_id,
                    create.key,
                    create.range_end,
                    create.start_revision,
                    false,
                    false,
                    create.prev_kv,
                );
                let resp = match created {
                    Ok(watch_id) => WatchResponse {
                        header: header(self.store.current_revision()),
                        watch_id,
                        created: true,
                        ..WatchResponse::default()
                    },
                    Err(err) => WatchResponse {
                        header: header(self.store.current_revision()),
                        watch_id: -1,
                        created: true,
                        canceled: true,
                        cancel_reason: err.to_string(),
                        ..WatchResponse::default()
                    },
                };
                self.ready.push_back(resp);
            }
            Some(RequestUnion::CancelRequest(cancel)) => {
                self.stream.cancel(cancel.watch_id);
                self.ready.push_back(WatchResponse {
                    header: header(self.store.current_revision()),
                    watch_id: cancel.watch_id,
                    canceled: true,
                    ..WatchResponse::default()
                });
            }
            Some(RequestUnion::ProgressRequest(_)) | None => {}
        }
    }
}

fn response(batch: WatchBatch) -> WatchResponse {
    WatchResponse {
        header: header(batch.revision),
        watch_id: batch.watch_id,
        canceled: batch.compact_revision != 0,
        compact_revision: batch.compact_revision,
        events: batch.events,
        ..WatchResponse::default()
    }
}

#[async_trait::async_trait]
impl api::Watch for Backend {
    async fn watch(&self, requests: RequestStream<WatchRequest>) -> ResponseStream<WatchResponse> {
        let call = Call {
            store: Arc::clone(&self.store),
            requests: Some(requests),
            stream: self.store.watch_stream(),
            ready: VecDeque::new(),
        };
        Box::pin(stream::unfold(call, |mut call| async move {
            let next = call.next().await?;
            Some((next, call))
        }))
    }
}

/// A Watch service whose watchers end at once without a word, as when a
/// server loses a watch stream.
pub struct LostWatch;

#[async_trait::async_trait]
impl api::Watch for LostWatch {
    async fn watch(&self, _requests: RequestStream<WatchRequest>) -> ResponseStream<WatchResponse> {
        Box::pin(stream::empty())
    }
}
