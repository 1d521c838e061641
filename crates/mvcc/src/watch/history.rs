//! Reading watch events back from the key table, and the previous version
//! of a key for watchers that asked for `prev_kv`.

use std::collections::HashMap;

use api::pb::mvccpb::event::EventType;
use api::pb::mvccpb::{Event, KeyValue};
use prost::Message;
use redb::ReadOnlyTable;

use crate::Error;
use crate::core::{Core, ReadView};
use crate::range::read_kv;
use crate::revision::Revision;
use crate::tables::{Bytes, KV};

/// How much one catch-up step may read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_revisions: usize,
    pub max_bytes: usize,
}

/// Events stored for revisions `from..=to` whose key `wanted` accepts, and
/// the revision up to which the result is complete. Reading stops at a
/// revision boundary once `limits` are reached, so a revision's events are
/// never split.
pub(crate) fn read(
    table: &ReadOnlyTable<Bytes, Bytes>,
    from: i64,
    to: i64,
    limits: Limits,
    wanted: impl Fn(&[u8]) -> bool,
) -> Result<(Vec<Event>, i64), Error> {
    let mut events = Vec::new();
    if from > to {
        return Ok((events, to));
    }
    let lower = Revision::new(from.max(0), 0).to_bytes();
    let upper = Revision::new(to.saturating_add(1), 0).to_bytes();
    let mut revisions = 0usize;
    let mut bytes = 0usize;
    let mut last_main = None;
    for entry in table
        .range(lower.as_slice()..upper.as_slice())
        .map_err(Error::storage)?
    {
        let (k, v) = entry.map_err(Error::storage)?;
        let (rev, tombstone) = Revision::from_key(k.value())?;
        if last_main != Some(rev.main) {
            if revisions > 0 && (revisions >= limits.max_revisions || bytes >= limits.max_bytes) {
                return Ok((events, rev.main - 1));
            }
            revisions += 1;
            last_main = Some(rev.main);
        }
        bytes += k.value().len() + v.value().len();
        let mut kv = KeyValue::decode(v.value())
            .map_err(|e| Error::Corrupt(format!("undecodable key-value at revision {rev}: {e}")))?;
        if !wanted(&kv.key) {
            continue;
        }
        let kind = if tombstone {
            kv.mod_revision = rev.main;
            EventType::Delete
        } else {
            EventType::Put
        };
        events.push(Event {
            r#type: kind as i32,
            kv: Some(kv),
            prev_kv: None,
        });
    }
    Ok((events, to))
}

/// Looks up previous versions the way etcd's watch server does: a read of
/// the key at the event's revision minus one; nothing for creations, or
/// when that revision is compacted. Lookups stay on the contents the first
/// one saw: after a restore they find nothing (the caller's events are
/// then discarded anyway).
pub(crate) struct PrevKvs<'c> {
    core: &'c Core,
    /// The read transaction and the generation it belongs to.
    txn: Option<(u64, ReadView)>,
    cache: HashMap<(Vec<u8>, i64), Option<KeyValue>>,
}

impl<'c> PrevKvs<'c> {
    pub fn new(core: &'c Core) -> PrevKvs<'c> {
        PrevKvs {
            core,
            txn: None,
            cache: HashMap::new(),
        }
    }

    pub fn fill(&mut self, ev: &mut Event) {
        let Some(kv) = &ev.kv else { return };
        let is_create = ev.r#type == EventType::Put as i32 && kv.create_revision == kv.mod_revision;
        if is_create {
            return;
        }
        let slot = (kv.key.clone(), kv.mod_revision);
        if !self.cache.contains_key(&slot) {
            let found = self.lookup(&slot.0, slot.1 - 1);
            self.cache.insert(slot.clone(), found);
        }
        ev.prev_kv = self.cache.get(&slot).cloned().flatten();
    }

    fn lookup(&mut self, key: &[u8], at_rev: i64) -> Option<KeyValue> {
        let found = {
            let shared = self.core.read_shared();
            if at_rev < shared.compact_rev || at_rev < 1 {
                return None;
            }
            if self
                .txn
                .as_ref()
                .is_some_and(|(generation, _)| *generation != shared.generation)
            {
                return None;
            }
            let found = shared.index.get(key, at_rev)?;
            // opened under the lock: it holds at least what the index shows
            if self.txn.is_none() {
                self.txn = shared.begin_read().ok().map(|t| (shared.generation, t));
            }
            found
        };
        let (_, txn) = self.txn.as_ref()?;
        let table = txn.open_table(KV).ok()?;
        read_kv(&table, found.modified).ok()
    }
}
