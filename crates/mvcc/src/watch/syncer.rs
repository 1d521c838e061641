//! The background thread that catches unsynced watchers up (etcd's
//! syncWatchersLoop). A round snapshots some unsynced watchers, reads one
//! bounded stretch of history for all of them without holding the hub lock,
//! then delivers under the lock to the watchers that did not change in the
//! meantime. A watcher joins the synced group only when it has seen the
//! revision the hub last published, so no commit falls between history and
//! live delivery. Rounds run back to back while they make progress, stalled
//! work is retried shortly after, and the thread sleeps when there is none.
//! A round that spans a restore delivers nothing and starts over.

use std::sync::Arc;
use std::time::Duration;

use api::pb::mvccpb::Event;

use super::history::{self, PrevKvs};
use super::hub::{HubState, Sent, WatchHub, Watcher, pick};
use super::{Delivery, WatchBatch};
use crate::Error;
use crate::core::Core;
use crate::tables::KV;

/// How soon work blocked on full channels is retried.
const STALL_RETRY: Duration = Duration::from_millis(10);

pub(crate) fn run_syncer(core: Arc<Core>, hub: Arc<WatchHub>) {
    loop {
        match hub.sync_round(&core) {
            Round::Closed => return,
            Round::Progress => {}
            Round::Stalled => hub.wait(STALL_RETRY),
            Round::Idle => hub.wait(hub.opts.sync_interval),
        }
    }
}

/// What a sync round achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// Nothing to do.
    Idle,
    /// Some watcher moved forward; more rounds may follow at once.
    Progress,
    /// Work is waiting on full channels (or a failed read).
    Stalled,
    /// The store is closed.
    Closed,
}

/// A watcher as the syncer saw it when choosing it.
struct Chosen {
    serial: u64,
    watcher: Watcher,
}

impl WatchHub {
    /// One catch-up step for up to `sync_max_watchers` unsynced watchers:
    /// read a bounded stretch of history once, deliver each watcher its
    /// part, cancel watchers whose start was compacted, and move watchers
    /// that reached the current revision to the synced group.
    fn sync_round(&self, core: &Core) -> Round {
        let (chosen, hub_rev, generation) = {
            let mut st = self.lock();
            if st.closed {
                return Round::Closed;
            }
            if st.unsynced.is_empty() {
                return Round::Idle;
            }
            let cursor = st.sync_cursor;
            let serials: Vec<u64> = st
                .unsynced
                .range(cursor + 1..)
                .chain(st.unsynced.range(..=cursor))
                .copied()
                .take(self.opts.sync_max_watchers.max(1))
                .collect();
            st.sync_cursor = serials.last().copied().unwrap_or(0);
            // a watcher whose stream has no room cannot take anything now
            let chosen: Vec<Chosen> = serials
                .into_iter()
                .filter_map(|serial| {
                    let w = st.watchers.get(&serial)?;
                    let room = st
                        .streams
                        .get(&w.stream)
                        .is_some_and(|tx| tx.capacity() > 0);
                    room.then(|| Chosen {
                        serial,
                        watcher: w.clone(),
                    })
                })
                .collect();
            (chosen, st.current_rev, st.generation)
        };
        if chosen.is_empty() {
            return Round::Stalled;
        }

        let snapshot = {
            let shared = core.read_shared();
            if shared.generation != generation {
                // a restore came between: choose again on the new contents
                return Round::Progress;
            }
            shared.begin_read().map(|txn| (shared.compact_rev, txn))
        };
        let Ok((compact_rev, txn)) = snapshot else {
            return Round::Stalled;
        };
        let (compacted, live): (Vec<Chosen>, Vec<Chosen>) = chosen
            .into_iter()
            .partition(|c| c.watcher.min_rev < compact_rev);

        let from = live
            .iter()
            .map(|c| c.watcher.min_rev)
            .min()
            .unwrap_or(hub_rev + 1);
        let read = txn
            .open_table(KV)
            .map_err(Error::storage)
            .and_then(|table| {
                history::read(&table, from, hub_rev, self.opts.sync_limits, |key| {
                    live.iter().any(|c| c.watcher.interest.contains(key))
                })
            });
        let Ok((events, scanned_to)) = read else {
            return Round::Stalled;
        };

        let mut prevs = PrevKvs::new(core);
        let deliveries: Vec<(Chosen, Vec<Event>)> = live
            .into_iter()
            .map(|c| {
                let indices: Vec<usize> = events
                    .iter()
                    .enumerate()
                    .filter(|(_, ev)| {
                        ev.kv.as_ref().is_some_and(|kv| {
                            kv.mod_revision >= c.watcher.min_rev
                                && c.watcher.interest.contains(&kv.key)
                        })
                    })
                    .map(|(i, _)| i)
                    .collect();
                let picked = pick(&events, &indices, &c.watcher, &mut prevs);
                (c, picked)
            })
            .collect();

        let mut st = self.lock();
        if st.closed {
            return Round::Closed;
        }
        if st.generation != generation {
            // what was read describes contents a restore replaced
            return Round::Progress;
        }
        let mut progress = false;
        let unchanged = |st: &HubState, c: &Chosen| {
            st.watchers
                .get(&c.serial)
                .is_some_and(|w| !w.synced && w.min_rev == c.watcher.min_rev)
        };
        for c in compacted {
            if !unchanged(&st, &c) {
                continue;
            }
            let batch = WatchBatch {
                watch_id: c.watcher.id,
                events: Vec::new(),
                revision: 0,
                compact_revision: compact_rev,
            };
            match st.send(
                c.watcher.stream,
                Delivery {
                    serial: c.serial,
                    batch,
                },
            ) {
                Sent::Yes | Sent::Gone => {
                    st.remove_watcher(c.serial);
                    progress = true;
                }
                Sent::Full => {}
            }
        }
        for (c, picked) in deliveries {
            if !unchanged(&st, &c) || c.watcher.min_rev > scanned_to + 1 {
                continue;
            }
            if !picked.is_empty() {
                let batch = WatchBatch {
                    watch_id: c.watcher.id,
                    events: picked,
                    revision: scanned_to,
                    compact_revision: 0,
                };
                match st.send(
                    c.watcher.stream,
                    Delivery {
                        serial: c.serial,
                        batch,
                    },
                ) {
                    Sent::Yes => {}
                    Sent::Full => continue,
                    Sent::Gone => {
                        st.remove_watcher(c.serial);
                        continue;
                    }
                }
            }
            progress = true;
            let current_rev = st.current_rev;
            if let Some(w) = st.watchers.get_mut(&c.serial) {
                w.min_rev = scanned_to + 1;
                if w.min_rev > current_rev {
                    st.promote(c.serial);
                }
            }
        }
        if progress {
            Round::Progress
        } else {
            Round::Stalled
        }
    }
}
