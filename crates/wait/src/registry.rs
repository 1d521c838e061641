use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::Error;

/// Enough shards that concurrent proposers and the apply loop rarely meet on
/// the same lock, few enough that `len` stays cheap.
const SHARDS: usize = 64;

/// One registration. The token tells a late-dropping waiter apart from a newer
/// registration that reused its id after a trigger.
struct Slot<T> {
    token: u64,
    tx: oneshot::Sender<T>,
}

type Shard<T> = Mutex<HashMap<u64, Slot<T>>>;

struct Table<T> {
    shards: Box<[Shard<T>]>,
    next_token: AtomicU64,
}

impl<T> Table<T> {
    fn shard(&self, id: u64) -> MutexGuard<'_, HashMap<u64, Slot<T>>> {
        // Request ids share their high bits (member id, start time) and differ
        // in the low ones; a multiplicative mix spreads both over the shards.
        let index = (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SHARDS;
        // A panic while holding a shard lock cannot leave a HashMap half
        // updated in a way that matters here, so a poisoned lock is still usable.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The id -> waiting caller table. Dropping the registry wakes every
/// outstanding [`Waiter`] with [`Error::Closed`].
pub struct Registry<T> {
    table: Arc<Table<T>>,
}

impl<T: Send> Registry<T> {
    pub fn new() -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect();
        Self {
            table: Arc::new(Table {
                shards,
                next_token: AtomicU64::new(0),
            }),
        }
    }

    /// Starts waiting on `id`. The returned waiter resolves once `trigger(id, ..)`
    /// is called; dropping it unregisters the id.
    pub fn register(&self, id: u64) -> Result<Waiter<T>, Error> {
        let token = self.table.next_token.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let mut shard = self.table.shard(id);
        if shard.contains_key(&id) {
            return Err(Error::Duplicate(id));
        }
        shard.insert(id, Slot { token, tx });
        drop(shard);
        Ok(Waiter {
            id,
            token,
            rx,
            table: Arc::downgrade(&self.table),
        })
    }

    /// Hands `value` to whoever waits on `id` and forgets the id. Returns false
    /// when nobody is waiting any more (never registered, already triggered, or
    /// the caller gave up); the value is dropped then.
    pub fn trigger(&self, id: u64, value: T) -> bool {
        let slot = self.table.shard(id).remove(&id);
        match slot {
            Some(slot) => slot.tx.send(value).is_ok(),
            None => false,
        }
    }

    pub fn is_registered(&self, id: u64) -> bool {
        self.table.shard(id).contains_key(&id)
    }

    /// Number of ids currently waited on.
    pub fn len(&self) -> usize {
        (0..SHARDS)
            .map(|i| {
                self.table.shards[i]
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .len()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Send> Default for Registry<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> std::fmt::Debug for Registry<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

/// A pending wait on one id: a future of the triggered value. It holds only a
/// weak link to the registry so that dropping the registry can close it.
pub struct Waiter<T> {
    id: u64,
    token: u64,
    rx: oneshot::Receiver<T>,
    table: Weak<Table<T>>,
}

impl<T> Waiter<T> {
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl<T> Future for Waiter<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.map_err(|_| Error::Closed))
    }
}

impl<T> Drop for Waiter<T> {
    fn drop(&mut self) {
        let Some(table) = self.table.upgrade() else {
            return;
        };
        let mut shard = table.shard(self.id);
        if shard
            .get(&self.id)
            .is_some_and(|slot| slot.token == self.token)
        {
            shard.remove(&self.id);
        }
    }
}

impl<T> std::fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter").field("id", &self.id).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn trigger_delivers_value_and_forgets_id() {
        let registry = Registry::new();
        let waiter = registry.register(7).unwrap();
        assert!(registry.is_registered(7));
        assert!(registry.trigger(7, "done"));
        assert!(!registry.is_registered(7));
        assert_eq!(waiter.await, Ok("done"));
        assert_eq!(registry.len(), 0);
    }

    #[test]
    fn duplicate_id_is_rejected() {
        let registry = Registry::<u32>::new();
        let _first = registry.register(1).unwrap();
        assert_eq!(registry.register(1).unwrap_err(), Error::Duplicate(1));
        assert_eq!(registry.len(), 1);
    }

    #[test]
    fn trigger_without_waiter_reports_false() {
        let registry = Registry::<u32>::new();
        assert!(!registry.trigger(3, 1));
        let waiter = registry.register(3).unwrap();
        drop(waiter);
        assert!(!registry.trigger(3, 1));
    }

    #[test]
    fn late_drop_does_not_remove_newer_registration() {
        let registry = Registry::<u32>::new();
        let old = registry.register(5).unwrap();
        assert!(registry.trigger(5, 1));
        let _new = registry.register(5).unwrap();
        drop(old);
        assert!(registry.is_registered(5));
    }

    #[tokio::test]
    async fn dropping_registry_closes_waiters() {
        let registry = Registry::<u32>::new();
        let waiter = registry.register(9).unwrap();
        drop(registry);
        assert_eq!(waiter.await, Err(Error::Closed));
    }
}
