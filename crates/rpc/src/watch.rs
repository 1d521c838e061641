//! The Watch service: one bidirectional stream per client call, every
//! response header-filled; the stream's end (or the client vanishing) is
//! counted like grpc-go counts it.

use std::sync::Arc;

use api::pb::etcdserverpb::{WatchRequest, WatchResponse, watch_server};
use api::{HeaderSource, RequestStream, ResponseStream, Watch};
use futures::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use crate::header;
use crate::metrics::{CallGuard, CallType, Counted, GrpcMetrics, Method};
use crate::status::to_status;

const WATCH: Method = Method {
    service: "etcdserverpb.Watch",
    name: "Watch",
    kind: CallType::BidiStream,
};

/// [`Watch`] with headers filled on every response.
pub struct CheckedWatch {
    pub(crate) inner: Arc<dyn Watch>,
    pub(crate) header: Arc<dyn HeaderSource>,
}

#[async_trait::async_trait]
impl Watch for CheckedWatch {
    async fn watch(&self, requests: RequestStream<WatchRequest>) -> ResponseStream<WatchResponse> {
        let source = Arc::clone(&self.header);
        let responses = self.inner.watch(requests).await;
        Box::pin(responses.map(move |item| {
            item.map(|mut resp| {
                header::fill(source.as_ref(), &mut resp.header);
                resp
            })
        }))
    }
}

pub struct GrpcWatch {
    pub(crate) watch: Arc<dyn Watch>,
    pub(crate) metrics: GrpcMetrics,
}

pub type GrpcWatchStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<WatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl watch_server::Watch for GrpcWatch {
    type WatchStream = GrpcWatchStream;

    async fn watch(
        &self,
        req: Request<Streaming<WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let guard = CallGuard::start(&self.metrics, WATCH);
        let metrics = self.metrics.clone();
        // A broken or finished request stream ends the requests; the server
        // then finishes the responses it owes.
        let requests = req
            .into_inner()
            .take_while(|r| futures::future::ready(r.is_ok()))
            .filter_map(move |r| {
                metrics.received(WATCH);
                futures::future::ready(r.ok())
            });
        let responses = self
            .watch
            .watch(Box::pin(requests))
            .await
            .map(|item| item.map_err(|err| to_status(&err)));
        Ok(Response::new(Box::pin(Counted::new(responses, guard))))
    }
}
