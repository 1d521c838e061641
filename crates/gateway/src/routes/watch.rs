//! The Watch service: one bidirectional stream.

use std::sync::Arc;

use api::RequestStream;
use api::pb::etcdserverpb::WatchRequest;

use super::{Route, Services};
use crate::streaming::{StreamReply, Streaming};

pub(super) const ROUTES: &[Route] = &[Route::stream("/v3/watch", watch)];

fn watch(services: &Services, call: Streaming) -> StreamReply {
    let watch = Arc::clone(&services.watch);
    call.bidi(
        "etcdserverpb.WatchRequest",
        move |requests: RequestStream<WatchRequest>| async move { watch.watch(requests).await },
    )
}
