//! The Watch service: one task per client stream turns create, cancel and
//! progress requests into operations on an MVCC watch stream and its event
//! batches into responses, in the order etcd sends them (a watch's
//! "created" answer always precedes its events). It also owns what etcd's
//! v3rpc watch server adds on top of the store: periodic progress
//! notifications for watches that asked for them, and splitting responses
//! larger than `--max-request-bytes` into fragments for watches that allow
//! it.

use std::collections::HashMap;

use api::pb::etcdserverpb::{
    WatchCancelRequest, WatchCreateRequest, WatchRequest, WatchResponse, watch_create_request,
    watch_request::RequestUnion,
};
use api::{RequestStream, ResponseStream};
use futures::StreamExt;
use prost::Message;
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

/// What the stream task remembers about its watches beyond the store.
#[derive(Default)]
struct Watches {
    /// Watches that asked for progress notifications, and whether the next
    /// tick should send one (false once events went out since the last).
    progress: HashMap<i64, bool>,
    /// Watches whose large responses may be split.
    fragment: HashMap<i64, bool>,
}

impl EtcdServer {
    async fn serve_watch_stream(
        &self,
        mut requests: RequestStream<WatchRequest>,
        tx: mpsc::Sender<WatchResponse>,
    ) {
        let mut stream = self.inner.store.watch_stream();
        let mut watches = Watches::default();
        let mut requests_open = true;
        let interval = self.inner.cfg.watch_progress_notify_interval;
        let mut progress_tick =
            tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            let responses = tokio::select! {
                req = requests.next(), if requests_open => match req {
                    Some(req) => self.on_watch_request(&mut stream, &mut watches, req),
                    // The client closed its side; keep sending events until it
                    // goes away, as etcd does.
                    None => { requests_open = false; continue; }
                },
                batch = stream.recv() => match batch {
                    Some(batch) => self.events_responses(&mut watches, batch),
                    None => return,
                },
                _ = progress_tick.tick() => {
                    for (id, due) in &mut watches.progress {
                        if *due {
                            stream.request_progress(*id);
                        }
                        *due = true;
                    }
                    continue;
                }
                () = tx.closed() => return,
            };
            for response in responses {
                if tx.send(response).await.is_err() {
                    return;
                }
            }
        }
    }

    fn on_watch_request(
        &self,
        stream: &mut mvcc::WatchStream,
        watches: &mut Watches,
        req: WatchRequest,
    ) -> Vec<WatchResponse> {
        let Some(request) = req.request_union else {
            return Vec::new();
        };
        match request {
            RequestUnion::CreateRequest(create) => vec![self.create_watch(stream, watches, create)],
            RequestUnion::CancelRequest(WatchCancelRequest { watch_id }) => {
                if !stream.cancel(watch_id) {
                    return Vec::new();
                }
                watches.progress.remove(&watch_id);
                watches.fragment.remove(&watch_id);
                vec![WatchResponse {
                    header: Some(self.header()),
                    watch_id,
                    canceled: true,
                    ..Default::default()
                }]
            }
            RequestUnion::ProgressRequest(_) => vec![WatchResponse {
                header: Some(self.header()),
                watch_id: INVALID_WATCH_ID,
                ..Default::default()
            }],
        }
    }

    fn create_watch(
        &self,
        stream: &mut mvcc::WatchStream,
        watches: &mut Watches,
        mut create: WatchCreateRequest,
    ) -> WatchResponse {
        // An empty key means the smallest key; a range end of "\0" means
        // every key from `key` on.
        if create.key.is_empty() {
            create.key = vec![0];
        }
        let (mut no_put, mut no_delete) = (false, false);
        for f in create
            .filters
            .iter()
            .filter_map(|f| watch_create_request::FilterType::try_from(*f).ok())
        {
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
        let created = stream.watch(
            create.watch_id,
            create.key,
            create.range_end,
            start,
            no_put,
            no_delete,
            create.prev_kv,
        );
        match created {
            Ok(id) => {
                if create.progress_notify {
                    watches.progress.insert(id, true);
                }
                if create.fragment {
                    watches.fragment.insert(id, true);
                }
                WatchResponse {
                    header: Some(header),
                    watch_id: id,
                    created: true,
                    ..Default::default()
                }
            }
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

    /// The responses for one batch of events: one, or several fragments when
    /// the watch allows it and one response would exceed the request limit.
    fn events_responses(
        &self,
        watches: &mut Watches,
        batch: mvcc::WatchBatch,
    ) -> Vec<WatchResponse> {
        if !batch.events.is_empty()
            && let Some(due) = watches.progress.get_mut(&batch.watch_id)
        {
            *due = false;
        }
        let mut header = self.header();
        header.revision = batch.revision;
        let response = WatchResponse {
            header: Some(header),
            watch_id: batch.watch_id,
            canceled: batch.compact_revision != 0,
            compact_revision: batch.compact_revision,
            events: batch.events,
            ..Default::default()
        };
        if watches.fragment.contains_key(&response.watch_id) {
            fragments(response, self.inner.cfg.max_request_bytes)
        } else {
            vec![response]
        }
    }
}

/// etcd's sendFragments: events are packed into responses of less than
/// `limit` bytes (a single event may exceed it); every response but the
/// last is marked as a fragment.
fn fragments(response: WatchResponse, limit: usize) -> Vec<WatchResponse> {
    if response.encoded_len() < limit || response.events.len() < 2 {
        return vec![response];
    }
    let mut template = response;
    let events = std::mem::take(&mut template.events);
    template.fragment = true;
    let mut out = Vec::new();
    let mut current = template.clone();
    for event in events {
        current.events.push(event);
        if current.events.len() > 1 && current.encoded_len() >= limit {
            let overflow = current.events.pop();
            out.push(std::mem::replace(&mut current, template.clone()));
            current.events.extend(overflow);
        }
    }
    current.fragment = false;
    out.push(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::pb::mvccpb::{Event, KeyValue};

    fn event(size: usize) -> Event {
        Event {
            kv: Some(KeyValue {
                key: b"k".to_vec(),
                value: vec![b'v'; size],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn small_responses_are_not_split() {
        let r = WatchResponse {
            events: vec![event(10), event(10)],
            ..Default::default()
        };
        assert_eq!(fragments(r.clone(), 1000), vec![r]);
    }

    #[test]
    fn large_responses_are_split_and_only_the_last_is_final() {
        let events: Vec<Event> = (0..10).map(|_| event(100)).collect();
        let r = WatchResponse {
            watch_id: 3,
            events: events.clone(),
            ..Default::default()
        };
        let parts = fragments(r, 350);
        assert!(parts.len() > 1);
        let (last, rest) = parts.split_last().unwrap();
        assert!(rest.iter().all(|p| p.fragment && p.encoded_len() < 350));
        assert!(!last.fragment);
        assert!(parts.iter().all(|p| p.watch_id == 3));
        let rejoined: Vec<Event> = parts.into_iter().flat_map(|p| p.events).collect();
        assert_eq!(rejoined, events);
    }

    #[test]
    fn a_single_huge_event_goes_out_whole() {
        let r = WatchResponse {
            events: vec![event(5000)],
            ..Default::default()
        };
        assert_eq!(fragments(r.clone(), 100), vec![r]);
    }
}
