//! One client's watch stream (etcd's watchStream): its watchers share one
//! bounded channel, so their batches arrive in the order they were sent.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::group::{Filter, Interest};
use super::hub::{STREAM_SERIAL, WatchHub};
use super::{Delivery, WatchBatch};
use crate::Error;

/// All watchers of one client stream. Dropping it cancels them.
#[derive(Debug)]
pub struct WatchStream {
    hub: Arc<WatchHub>,
    stream: u64,
    rx: mpsc::Receiver<Delivery>,
    ids: HashMap<i64, u64>,
    serials: HashMap<u64, i64>,
    next_id: i64,
}

/// etcd's clientv3.AutoWatchID: let the stream pick the id.
const AUTO_WATCH_ID: i64 = 0;

impl WatchStream {
    pub(crate) fn new(hub: Arc<WatchHub>) -> WatchStream {
        let (stream, rx) = hub.add_stream();
        WatchStream {
            hub,
            stream,
            rx,
            ids: HashMap::new(),
            serials: HashMap::new(),
            next_id: 0,
        }
    }

    /// Starts a watcher on `key` (with etcd's `range_end` conventions: empty
    /// = the key alone, "\0" = every key from `key` on) from `start_rev`
    /// (0 = changes after the current revision). Id 0 picks the lowest free
    /// id from the stream's counter, as etcd does; a used id is refused.
    #[allow(clippy::too_many_arguments)]
    pub fn watch(
        &mut self,
        id: i64,
        key: Vec<u8>,
        range_end: Vec<u8>,
        start_rev: i64,
        filter_puts: bool,
        filter_deletes: bool,
        prev_kv: bool,
    ) -> Result<i64, Error> {
        // "\0" is the smallest key; etcd watches it for an empty key
        let key = if key.is_empty() { vec![0] } else { key };
        let interest = Interest::from_request(key, range_end);
        if let Interest::Range(start, Some(end)) = &interest
            && start >= end
        {
            return Err(Error::EmptyWatcherRange);
        }
        let id = if id == AUTO_WATCH_ID {
            while self.ids.contains_key(&self.next_id) {
                self.next_id += 1;
            }
            let picked = self.next_id;
            self.next_id += 1;
            picked
        } else if self.ids.contains_key(&id) {
            return Err(Error::DuplicateWatchId);
        } else {
            id
        };
        let filter = Filter {
            no_puts: filter_puts,
            no_deletes: filter_deletes,
        };
        let serial = self
            .hub
            .add_watcher(self.stream, id, interest, start_rev, filter, prev_kv)?;
        self.ids.insert(id, serial);
        self.serials.insert(serial, id);
        Ok(id)
    }

    /// Stops a watcher; false if the stream has no watcher with that id.
    /// Batches already queued for it are not delivered.
    pub fn cancel(&mut self, id: i64) -> bool {
        let Some(serial) = self.ids.remove(&id) else {
            return false;
        };
        self.serials.remove(&serial);
        self.hub.remove_watcher(serial);
        true
    }

    /// Asks for an empty batch at the current revision for watcher `id`;
    /// sent only while the watcher is synced and its channel has room, as in
    /// etcd. Id -1 asks for a stream-wide notice (watch id -1) at the newest
    /// revision all of the stream's watchers have fully seen.
    pub fn request_progress(&mut self, id: i64) {
        if id == -1 {
            self.hub
                .stream_progress(self.stream, self.serials.keys().copied());
        } else if let Some(&serial) = self.ids.get(&id) {
            self.hub.progress(serial);
        }
    }

    /// The next batch for any watcher of the stream; None once the store is
    /// closed.
    pub async fn recv(&mut self) -> Option<WatchBatch> {
        loop {
            let Delivery { serial, batch } = self.rx.recv().await?;
            if serial != STREAM_SERIAL && !self.serials.contains_key(&serial) {
                continue;
            }
            if batch.compact_revision != 0
                && let Some(id) = self.serials.remove(&serial)
            {
                self.ids.remove(&id);
            }
            self.hub.count_events(batch.events.len());
            return Some(batch);
        }
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        self.hub
            .remove_stream(self.stream, self.serials.keys().copied());
    }
}
