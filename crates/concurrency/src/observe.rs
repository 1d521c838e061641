//! Observe: every leader of an election in turn (etcd's Election.Observe).
//! It reports the current leader, each new value that leader proclaims, and
//! after the leader's key is deleted, whoever leads next. Values a leader
//! proclaims and takes back between two reads may be missed; the latest is
//! always reported. Like etcd's, the stream ends quietly, without an error,
//! when a read or a watch fails.

use std::collections::VecDeque;
use std::sync::Arc;

use api::pb::etcdserverpb::ResponseHeader;
use api::pb::mvccpb::KeyValue;
use api::pb::mvccpb::event::EventType;
use api::pb::v3electionpb::LeaderResponse;
use api::{Kv, ResponseStream, Watch};
use futures::stream;

use crate::key;
use crate::watcher::{Watcher, is_delete};

pub(crate) fn leaders(
    kv: Arc<dyn Kv>,
    watch: Arc<dyn Watch>,
    prefix: Vec<u8>,
) -> ResponseStream<LeaderResponse> {
    let observer = Observer {
        kv,
        watch,
        prefix,
        leader: None,
        ready: VecDeque::new(),
    };
    Box::pin(stream::unfold(observer, |mut observer| async move {
        let next = observer.next().await?;
        Some((Ok(next), observer))
    }))
}

struct Observer {
    kv: Arc<dyn Kv>,
    watch: Arc<dyn Watch>,
    prefix: Vec<u8>,
    /// A watcher on the current leader's key, once one is known.
    leader: Option<Watcher>,
    /// Values of one watch response not handed out yet.
    ready: VecDeque<LeaderResponse>,
}

impl Observer {
    /// The next leader value; None ends the stream.
    async fn next(&mut self) -> Option<LeaderResponse> {
        loop {
            if let Some(next) = self.ready.pop_front() {
                return Some(next);
            }
            let Some(watcher) = self.leader.as_mut() else {
                let (header, kv) = find_leader(&*self.kv, &*self.watch, &self.prefix).await?;
                let watcher = Watcher::open(
                    &*self.watch,
                    kv.key.clone(),
                    Vec::new(),
                    header.revision + 1,
                )
                .await;
                self.leader = Some(watcher);
                return Some(LeaderResponse {
                    header: Some(header),
                    kv: Some(kv),
                });
            };
            let resp = watcher.next().await.ok()?;
            for event in resp.events {
                if is_delete(&event) {
                    // what follows in this response is about a later leader,
                    // which the next read finds
                    self.leader = None;
                    break;
                }
                self.ready.push_back(LeaderResponse {
                    header: resp.header,
                    kv: event.kv,
                });
            }
        }
    }
}

/// The current leader, or the first candidate to appear if there is none,
/// with a header whose revision is the one the leader was seen at. (It
/// borrows the observer's parts, not the observer: its watcher is not Sync.)
async fn find_leader(
    kv: &dyn Kv,
    watch: &dyn Watch,
    prefix: &[u8],
) -> Option<(ResponseHeader, KeyValue)> {
    let resp = kv.range(key::first_created(prefix)).await.ok()?;
    let header = resp.header?;
    if let Some(kv) = resp.kvs.into_iter().next() {
        return Some((header, kv));
    }
    let mut watcher = Watcher::open(
        watch,
        prefix.to_vec(),
        key::prefix_end(prefix),
        header.revision,
    )
    .await;
    loop {
        let resp = watcher.next().await.ok()?;
        let first_put = resp
            .events
            .into_iter()
            .find(|event| event.r#type == EventType::Put as i32)
            .and_then(|event| event.kv);
        if let Some(kv) = first_put {
            // a response may carry several revisions; the leader's is
            // the one of its own put
            let mut header = resp.header.unwrap_or_default();
            header.revision = kv.mod_revision;
            return Some((header, kv));
        }
    }
}
