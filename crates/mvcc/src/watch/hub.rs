//! The shared watch state: streams and their channels, watchers, the synced
//! group and the unsynced set. Streams register and cancel watchers here,
//! and commits hand their events to synced watchers through `publish`; the
//! syncer (syncer.rs) moves unsynced watchers forward.
//!
//! Lock order: the hub lock may be taken before the store's `shared` lock,
//! never while holding it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use api::pb::mvccpb::Event;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::group::{Filter, Group, Interest};
use super::history::{Limits, PrevKvs};
use super::{Delivery, WatchBatch};
use crate::Error;
use crate::core::Core;

/// Tuning of the watch machinery.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WatchOptions {
    pub channel_capacity: usize,
    pub sync_max_watchers: usize,
    pub sync_limits: Limits,
    pub sync_interval: Duration,
}

/// The serial of deliveries addressed to a whole stream; watcher serials
/// count up from 0 and never reach it.
pub(crate) const STREAM_SERIAL: u64 = u64::MAX;

#[derive(Debug, Clone)]
pub(super) struct Watcher {
    pub(super) id: i64,
    pub(super) stream: u64,
    pub(super) interest: Interest,
    pub(super) filter: Filter,
    pub(super) prev_kv: bool,
    /// The first revision the watcher has not seen yet.
    pub(super) min_rev: i64,
    pub(super) synced: bool,
}

#[derive(Debug, Default)]
pub(super) struct HubState {
    pub(super) closed: bool,
    /// The newest revision published to synced watchers.
    pub(super) current_rev: i64,
    /// The store's restore count as of `current_rev` (see core.rs): history
    /// read from another generation describes other contents.
    pub(super) generation: u64,
    pub(super) streams: HashMap<u64, mpsc::Sender<Delivery>>,
    pub(super) watchers: HashMap<u64, Watcher>,
    pub(super) synced: Group,
    pub(super) unsynced: BTreeSet<u64>,
    next_stream: u64,
    next_serial: u64,
    /// Where the next sync round starts, so no watcher starves.
    pub(super) sync_cursor: u64,
    /// The syncer has work it has not looked at yet.
    pub(super) wake_pending: bool,
}

pub(super) enum Sent {
    Yes,
    Full,
    Gone,
}

impl HubState {
    pub(super) fn send(&self, stream: u64, delivery: Delivery) -> Sent {
        let Some(tx) = self.streams.get(&stream) else {
            return Sent::Gone;
        };
        match tx.try_send(delivery) {
            Ok(()) => Sent::Yes,
            Err(TrySendError::Full(_)) => Sent::Full,
            Err(TrySendError::Closed(_)) => Sent::Gone,
        }
    }

    pub(super) fn remove_watcher(&mut self, serial: u64) -> bool {
        let Some(w) = self.watchers.remove(&serial) else {
            return false;
        };
        if w.synced {
            self.synced.remove(serial, &w.interest);
        } else {
            self.unsynced.remove(&serial);
        }
        true
    }

    fn demote(&mut self, serial: u64, min_rev: i64) {
        if let Some(w) = self.watchers.get_mut(&serial) {
            if w.synced {
                self.synced.remove(serial, &w.interest);
                w.synced = false;
                self.unsynced.insert(serial);
            }
            w.min_rev = min_rev;
            self.wake_pending = true;
        }
    }

    pub(super) fn promote(&mut self, serial: u64) {
        if let Some(w) = self.watchers.get_mut(&serial)
            && !w.synced
        {
            w.synced = true;
            self.unsynced.remove(&serial);
            self.synced.add(serial, &w.interest);
        }
    }
}

pub(crate) struct WatchHub {
    state: Mutex<HubState>,
    wake: Condvar,
    pub(super) opts: WatchOptions,
    events_total: AtomicU64,
}

impl std::fmt::Debug for WatchHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchHub")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl WatchHub {
    pub fn new(current_rev: i64, opts: WatchOptions) -> WatchHub {
        WatchHub {
            state: Mutex::new(HubState {
                current_rev,
                ..HubState::default()
            }),
            wake: Condvar::new(),
            opts,
            events_total: AtomicU64::new(0),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn add_stream(&self) -> (u64, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(self.opts.channel_capacity.max(1));
        let mut st = self.lock();
        let id = st.next_stream;
        st.next_stream += 1;
        if !st.closed {
            st.streams.insert(id, tx);
        }
        (id, rx)
    }

    pub fn remove_stream(&self, stream: u64, serials: impl IntoIterator<Item = u64>) {
        let mut st = self.lock();
        for serial in serials {
            st.remove_watcher(serial);
        }
        st.streams.remove(&stream);
    }

    /// Registers a watcher, as etcd's watchableStore.watch: start 0 (or
    /// negative) means from the next revision, a start beyond the current
    /// revision waits for it; both are synced. A start in the past makes an
    /// unsynced watcher the syncer will catch up.
    pub fn add_watcher(
        &self,
        stream: u64,
        id: i64,
        interest: Interest,
        start_rev: i64,
        filter: Filter,
        prev_kv: bool,
    ) -> Result<u64, Error> {
        let mut st = self.lock();
        if st.closed || !st.streams.contains_key(&stream) {
            return Err(Error::Closed);
        }
        let serial = st.next_serial;
        st.next_serial += 1;
        let synced = start_rev <= 0 || start_rev > st.current_rev;
        let min_rev = if synced {
            start_rev.max(st.current_rev + 1)
        } else {
            start_rev
        };
        let watcher = Watcher {
            id,
            stream,
            interest,
            filter,
            prev_kv,
            min_rev,
            synced,
        };
        if synced {
            st.synced.add(serial, &watcher.interest);
        } else {
            st.unsynced.insert(serial);
            st.wake_pending = true;
            self.wake.notify_one();
        }
        st.watchers.insert(serial, watcher);
        Ok(serial)
    }

    pub fn remove_watcher(&self, serial: u64) -> bool {
        self.lock().remove_watcher(serial)
    }

    /// etcd's progress: an empty batch at the current revision, only for a
    /// synced watcher (an unsynced one gets there with events anyway); never
    /// waits for room in the channel.
    pub fn progress(&self, serial: u64) {
        let st = self.lock();
        if let Some(w) = st.watchers.get(&serial).filter(|w| w.synced) {
            let batch = WatchBatch {
                watch_id: w.id,
                events: Vec::new(),
                revision: st.current_rev,
                compact_revision: 0,
            };
            let _ = st.send(w.stream, Delivery { serial, batch });
        }
    }

    /// A stream-wide progress notice (etcd's watch id -1): the revision
    /// every watcher of the stream has fully seen.
    pub fn stream_progress(&self, stream: u64, serials: impl IntoIterator<Item = u64>) {
        let st = self.lock();
        let revision = serials
            .into_iter()
            .filter_map(|s| st.watchers.get(&s))
            .map(|w| {
                if w.synced {
                    st.current_rev
                } else {
                    w.min_rev - 1
                }
            })
            .min()
            .unwrap_or(st.current_rev);
        let batch = WatchBatch {
            watch_id: -1,
            events: Vec::new(),
            revision,
            compact_revision: 0,
        };
        let _ = st.send(
            stream,
            Delivery {
                serial: STREAM_SERIAL,
                batch,
            },
        );
    }

    pub fn count_events(&self, n: usize) {
        self.events_total.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// (streams, watchers, unsynced watchers, events delivered)
    pub fn gauges(&self) -> (u64, u64, u64, u64) {
        let st = self.lock();
        (
            st.streams.len() as u64,
            st.watchers.len() as u64,
            st.unsynced.len() as u64,
            self.events_total.load(Ordering::Relaxed),
        )
    }

    pub fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.streams.clear();
        st.watchers.clear();
        st.synced = Group::default();
        st.unsynced.clear();
        self.wake.notify_all();
    }

    /// Hands a commit's events to the synced watchers. A watcher whose
    /// channel is full becomes unsynced from the first revision it missed.
    pub fn publish(&self, core: &Core, rev: i64, events: Vec<Event>) {
        let mut st = self.lock();
        st.current_rev = rev;
        if events.is_empty() || st.synced.is_empty() {
            return;
        }
        let mut per_watcher: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, ev) in events.iter().enumerate() {
            let Some(kv) = &ev.kv else { continue };
            let watchers = &st.watchers;
            for serial in st
                .synced
                .matching(&kv.key, |s| watchers.get(&s).map(|w| &w.interest))
            {
                if watchers
                    .get(&serial)
                    .is_some_and(|w| kv.mod_revision >= w.min_rev)
                {
                    per_watcher.entry(serial).or_default().push(i);
                }
            }
        }
        let mut prevs = PrevKvs::new(core);
        let mut demote = Vec::new();
        let mut gone = Vec::new();
        for (serial, indices) in per_watcher {
            let Some(w) = st.watchers.get(&serial) else {
                continue;
            };
            let picked = pick(&events, &indices, w, &mut prevs);
            if picked.is_empty() {
                continue;
            }
            let first_rev = indices
                .first()
                .and_then(|&i| events[i].kv.as_ref())
                .map_or(rev, |kv| kv.mod_revision);
            let batch = WatchBatch {
                watch_id: w.id,
                events: picked,
                revision: rev,
                compact_revision: 0,
            };
            match st.send(w.stream, Delivery { serial, batch }) {
                Sent::Yes => {}
                Sent::Full => demote.push((serial, first_rev)),
                Sent::Gone => gone.push(serial),
            }
        }
        for (serial, min_rev) in demote {
            st.demote(serial, min_rev);
        }
        for serial in gone {
            st.remove_watcher(serial);
        }
        if st.wake_pending {
            self.wake.notify_one();
        }
    }

    /// Moves every watcher onto contents a restore installs: `swap`
    /// replaces the store's state and returns its current revision and
    /// generation (and anything to hand back), called with the hub locked
    /// so no delivery falls between. A watcher that has not seen the new
    /// current revision catches up from the new history, or learns that it
    /// was compacted; one that is ahead starts at the next new revision, as
    /// the revisions it saw are gone.
    pub fn restore<T>(&self, swap: impl FnOnce() -> (i64, u64, T)) -> T {
        let mut st = self.lock();
        let (current_rev, generation, handed_back) = swap();
        st.current_rev = current_rev;
        st.generation = generation;
        let serials: Vec<u64> = st.watchers.keys().copied().collect();
        for serial in serials {
            let Some(w) = st.watchers.get_mut(&serial) else {
                continue;
            };
            w.min_rev = w.min_rev.min(current_rev + 1);
            let (min_rev, interest) = (w.min_rev, w.interest.clone());
            if w.synced {
                w.synced = false;
                st.synced.remove(serial, &interest);
                st.unsynced.insert(serial);
            }
            if min_rev > current_rev {
                st.promote(serial);
            }
        }
        st.wake_pending = true;
        self.wake.notify_one();
        handed_back
    }

    /// Waits until there is syncing to do or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        let mut st = self.lock();
        if !st.wake_pending && !st.closed {
            st = self
                .wake
                .wait_timeout(st, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        st.wake_pending = false;
    }
}

/// The events at `indices` a watcher wants, with previous versions if it
/// asked for them.
pub(super) fn pick(
    events: &[Event],
    indices: &[usize],
    w: &Watcher,
    prevs: &mut PrevKvs<'_>,
) -> Vec<Event> {
    indices
        .iter()
        .map(|&i| &events[i])
        .filter(|ev| w.filter.wants(ev))
        .map(|ev| {
            let mut ev = ev.clone();
            if w.prev_kv {
                prevs.fill(&mut ev);
            }
            ev
        })
        .collect()
}
