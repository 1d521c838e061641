//! One watcher on one key or prefix, opened through the Watch service.
//! Dropping it drops both sides of the watch call, which is how the Watch
//! service learns that the watcher is no longer wanted.

use api::pb::etcdserverpb::watch_request::RequestUnion;
use api::pb::etcdserverpb::{WatchCreateRequest, WatchRequest, WatchResponse};
use api::pb::mvccpb::Event;
use api::pb::mvccpb::event::EventType;
use api::{ResponseStream, Watch};
use futures::{StreamExt, stream};

use crate::Error;

pub(crate) struct Watcher {
    responses: ResponseStream<WatchResponse>,
}

impl Watcher {
    /// Watches `[key, range_end)` (etcd's conventions) from `start_revision`
    /// on, so nothing written after a read at that revision is missed.
    pub(crate) async fn open(
        watch: &dyn Watch,
        key: Vec<u8>,
        range_end: Vec<u8>,
        start_revision: i64,
    ) -> Watcher {
        let create = WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key,
                range_end,
                start_revision,
                ..WatchCreateRequest::default()
            })),
        };
        // The request side stays open for as long as the watcher lives: a
        // client that half-closes its watch stream may lose the watcher.
        let requests = Box::pin(stream::iter([create]).chain(stream::pending()));
        Watcher {
            responses: watch.watch(requests).await,
        }
    }

    /// The next response (events, or none for a creation or progress
    /// notice), or why the watcher ended, as etcd's client reports it.
    pub(crate) async fn next(&mut self) -> Result<WatchResponse, Error> {
        let resp = match self.responses.next().await {
            None => return Err(Error::LostWatcher),
            Some(resp) => resp?,
        };
        if resp.compact_revision != 0 {
            return Err(api::Error::Compacted.into());
        }
        if resp.canceled {
            if resp.cancel_reason.is_empty() {
                return Err(api::Error::FutureRev.into());
            }
            return Err(Error::WatchCanceled(resp.cancel_reason));
        }
        Ok(resp)
    }
}

pub(crate) fn is_delete(event: &Event) -> bool {
    event.r#type == EventType::Delete as i32
}
