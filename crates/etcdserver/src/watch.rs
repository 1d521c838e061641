//! The Watch service: one task per client stream turns create, cancel and
//! progress requests into operations on an MVCC watch stream and its event
//! batches into responses, in the order etcd sends them (a watch's
//! "created" answer always precedes its events).

use api::pb::etcdserverpb::{
    WatchCancelRequest, WatchCreateRequest, WatchRequest, WatchResponse, watch_create_request,
    watch_request::RequestUnion,
};
use api::{RequestStream, ResponseStream};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::server::EtcdServer;

/// Responses queued towards one client before the stream task waits for it.
const RESPONSE_QUEUE: usize = 128;
/// The watch id etcd uses for answers that belong to no single watch.
const INVALID_WATCH_ID: i64 = -1;

#[async_trait::async_trait]
impl api::Watch for EtcdServer {
    async fn watch(&self, requests: RequestStream<WatchRequest>) -> ResponseStream<WatchResponse> {
        let (tx, rx) = mpsc::channel(RESPONSE_QUEUE);
        let server = self.clone();
        tokio::spawn(async move { server.serve_watch_stream(requests, tx).await });
        Box::pin(ReceiverStream::new(rx).map(Ok))
    }
}

impl EtcdServer {
    async fn serve_watch_stream(
        &self,
        mut requests: RequestStream<WatchRequest>,
        tx: mpsc::Sender<WatchResponse>,
    ) {
        let mut stream = self.inner.store.watch_stream();
        let mut requests_open = true;
        loop {
            let response = tokio::select! {
                req = requests.next(), if requests_open => match req {
                    Some(req) => self.on_watch_request(&mut stream, req),
                    // The client closed its side; keep sending events until it
                    // goes away, as etcd does.
                    None => { requests_open = false; continue; }
                },
                batch = stream.recv() => match batch {
                    Some(batch) => Some(self.events_response(batch)),
                    None => return,
                },
                () = tx.closed() => return,
            };
            if let Some(response) = response
                && tx.send(response).await.is_err()
            {
                return;
            }
        }
    }

    fn on_watch_request(
        &self,
        stream: &mut mvcc::WatchStream,
        req: WatchRequest,
    ) -> Option<WatchResponse> {
        match req.request_union? {
            RequestUnion::CreateRequest(create) => Some(self.create_watch(stream, create)),
            RequestUnion::CancelRequest(WatchCancelRequest { watch_id }) => {
                stream.cancel(watch_id).then(|| WatchResponse {
                    header: Some(self.header()),
                    watch_id,
                    canceled: true,
                    ..Default::default()
                })
            }
            RequestUnion::ProgressRequest(_) => Some(WatchResponse {
                header: Some(self.header()),
                watch_id: INVALID_WATCH_ID,
                ..Default::default()
            }),
        }
    }

    fn create_watch(
        &self,
        stream: &mut mvcc::WatchStream,
        mut create: WatchCreateRequest,
    ) -> WatchResponse {
        // An empty key means the smallest key; a range end of "\0" means
        // every key from `key` on.
        if create.key.is_empty() {
            create.key = vec![0];
        }
        let filters = create
            .filters
            .iter()
            .filter_map(|f| watch_create_request::FilterType::try_from(*f).ok());
        let (mut no_put, mut no_delete) = (false, false);
        for f in filters {
            match f {
                watch_create_request::FilterType::Noput => no_put = true,
                watch_create_request::FilterType::Nodelete => no_delete = true,
            }
        }
        let header = self.header();
        let start = if create.start_revision == 0 {
            header.revision + 1
        } else {
            create.start_revision
        };
        match stream.watch(
            create.watch_id,
            create.key,
            create.range_end,
            start,
            no_put,
            no_delete,
            create.prev_kv,
        ) {
            Ok(id) => WatchResponse {
                header: Some(header),
                watch_id: id,
                created: true,
                ..Default::default()
            },
            Err(err) => WatchResponse {
                header: Some(header),
                watch_id: INVALID_WATCH_ID,
                created: true,
                canceled: true,
                cancel_reason: err.to_string(),
                ..Default::default()
            },
        }
    }

    fn events_response(&self, batch: mvcc::WatchBatch) -> WatchResponse {
        let mut header = self.header();
        header.revision = batch.revision;
        WatchResponse {
            header: Some(header),
            watch_id: batch.watch_id,
            canceled: batch.compact_revision != 0,
            compact_revision: batch.compact_revision,
            events: batch.events,
            ..Default::default()
        }
    }
}
