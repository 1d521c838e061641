//! Write batches: one redb write transaction carrying any number of
//! requests (the apply loop groups raft entries into one batch). Requests
//! in a batch see each other's effects; readers and watchers see none of
//! them until `commit` publishes the batch. Dropping a batch without
//! committing takes all of it back. Lease requests live in the child
//! module `lease_requests`, membership writes in `member_requests`.

mod lease_requests;
mod member_requests;

use std::sync::atomic::Ordering;

use api::pb::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, ResponseHeader, TxnRequest, TxnResponse,
};
use redb::{Durability, WriteTransaction};

use crate::Error;
use crate::apply::{Apply, BatchState, Op, validate_put};
use crate::core::{Core, GatePass};
use crate::counters::Unit;
use crate::revision::Revision;
use crate::tables::{
    CONSISTENT_INDEX, FINISHED_COMPACT, KV, META, SCHEDULED_COMPACT, encode_compact_rev,
    encode_index,
};
use crate::watch::WatchHub;

/// The open write batch of a [`crate::Store`]; only one exists at a time.
pub struct WriteBatch<'a> {
    core: &'a Core,
    hub: &'a WatchHub,
    state: BatchState,
    published: bool,
    // dropped in this order: the transaction first, then the gate, so the
    // next batch never waits on redb's writer lock
    txn: Option<WriteTransaction>,
    _pass: GatePass<'a>,
}

impl std::fmt::Debug for WriteBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBatch")
            .field("revision", &self.state.rev)
            .field("compact_revision", &self.state.compact_rev)
            .finish_non_exhaustive()
    }
}

impl<'a> WriteBatch<'a> {
    pub(crate) fn begin(core: &'a Core, hub: &'a WatchHub) -> Result<WriteBatch<'a>, Error> {
        core.check()?;
        let pass = core.gate.enter();
        core.check()?;
        let (txn, rev, compact_rev) = {
            let shared = core.read_shared();
            let txn = shared.db.begin_write().map_err(Error::storage)?;
            (txn, shared.current_rev, shared.compact_rev)
        };
        Ok(WriteBatch {
            core,
            hub,
            state: BatchState {
                rev,
                compact_rev,
                ..BatchState::default()
            },
            published: false,
            txn: Some(txn),
            _pass: pass,
        })
    }

    /// The revision the batch has reached (the store's current revision
    /// plus the batch's writes so far).
    pub fn revision(&self) -> i64 {
        self.state.rev
    }

    /// Runs one request with the key table open and settles it.
    fn run<T>(
        &mut self,
        f: impl FnOnce(&mut Apply<'_, '_>, &mut Op) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.core.check()?;
        let txn = self
            .txn
            .as_ref()
            .ok_or_else(|| Error::Poisoned("the batch has already ended".into()))?;
        let mut table = txn.open_table(KV).map_err(Error::storage)?;
        let mut apply = Apply {
            core: self.core,
            table: &mut table,
            state: &mut self.state,
        };
        let mut op = apply.begin();
        let result = f(&mut apply, &mut op);
        apply.settle(op, result)
    }

    /// A read that sees the batch's writes so far (etcd's range inside a
    /// write transaction).
    pub fn range(&mut self, req: &RangeRequest) -> Result<RangeResponse, Error> {
        self.run(|apply, op| {
            apply.state.tally.close(Unit {
                ranges: 1,
                ..Unit::default()
            });
            apply.range(op, req)
        })
    }

    pub fn put(&mut self, req: &PutRequest) -> Result<PutResponse, Error> {
        validate_put(req)?;
        self.run(|apply, op| {
            // etcd checks the lease before opening its txn, so a put
            // refused for it is not metered
            apply.require_lease(req.lease)?;
            let mut unit = Unit::default();
            let result = apply.put(op, req, &mut unit);
            apply.state.tally.close(unit);
            result
        })
    }

    pub fn delete_range(&mut self, req: &DeleteRangeRequest) -> Result<DeleteRangeResponse, Error> {
        self.run(|apply, op| {
            let mut unit = Unit::default();
            let result = apply.delete_range(op, req, &mut unit);
            apply.state.tally.close(unit);
            result
        })
    }

    pub fn txn(&mut self, req: &TxnRequest) -> Result<TxnResponse, Error> {
        self.run(|apply, op| apply.txn(op, req))
    }

    /// Compacts at `req.revision`: revisions no read at or after it can
    /// need are removed from disk now; the index follows when the batch is
    /// published. `physical` is implied.
    pub fn compact(&mut self, req: &CompactionRequest) -> Result<CompactionResponse, Error> {
        self.core.check()?;
        let rev = req.revision;
        if rev <= self.state.compact_rev {
            return Err(api::Error::Compacted.into());
        }
        if rev > self.state.rev {
            return Err(api::Error::FutureRev.into());
        }
        let result = self.compact_rows(rev);
        if let Err(err) = &result {
            self.core
                .poison(format!("compaction at {rev} failed: {err}"));
        }
        let removed = result?;
        self.state.compact_rev = rev;
        self.state.index_compaction = Some(rev);
        self.state.compacted_rows += removed;
        // etcd reads the current revision after compacting: one range
        self.state.tally.close(Unit {
            ranges: 1,
            ..Unit::default()
        });
        tracing::info!(revision = rev, removed, "compacted");
        Ok(CompactionResponse {
            header: Some(ResponseHeader {
                revision: self.state.rev,
                ..ResponseHeader::default()
            }),
        })
    }

    fn compact_rows(&mut self, rev: i64) -> Result<u64, Error> {
        let keep = self.core.read_shared().index.keep(rev);
        let txn = self
            .txn
            .as_ref()
            .ok_or_else(|| Error::Poisoned("the batch has already ended".into()))?;
        let mut removed = 0u64;
        {
            let mut kv = txn.open_table(KV).map_err(Error::storage)?;
            let upper = Revision::new(rev + 1, 0).to_bytes();
            kv.retain_in::<&[u8], _>(..upper.as_slice(), |key, _| {
                let kept = Revision::from_key(key).map_or(true, |(r, _)| keep.contains(&r));
                if !kept {
                    removed += 1;
                }
                kept
            })
            .map_err(Error::storage)?;
        }
        let mut meta = txn.open_table(META).map_err(Error::storage)?;
        let marker = encode_compact_rev(rev);
        meta.insert(SCHEDULED_COMPACT, marker.as_slice())
            .map_err(Error::storage)?;
        meta.insert(FINISHED_COMPACT, marker.as_slice())
            .map_err(Error::storage)?;
        Ok(removed)
    }

    /// Records the raft index the batch's contents correspond to; it is
    /// written with the data at commit.
    pub fn set_consistent_index(&mut self, index: u64) {
        self.state.consistent_index = Some(index);
    }

    /// Writes the batch and publishes it to readers and watchers. `durable`
    /// waits for fsync; otherwise the commit survives a process crash only
    /// if a later durable commit follows (redb's `Durability::None`), and a
    /// reopened store reports the consistent index of the last durable
    /// commit. A failed commit leaves the store poisoned.
    pub fn commit(mut self, durable: bool) -> Result<(), Error> {
        self.core.check()?;
        let txn = self
            .txn
            .take()
            .ok_or_else(|| Error::Poisoned("the batch has already ended".into()))?;
        let result = self.write_and_publish(txn, durable);
        if let Err(err) = &result {
            self.core.poison(format!("commit failed: {err}"));
        }
        result
    }

    fn write_and_publish(&mut self, mut txn: WriteTransaction, durable: bool) -> Result<(), Error> {
        if let Some(index) = self.state.consistent_index {
            let mut meta = txn.open_table(META).map_err(Error::storage)?;
            meta.insert(CONSISTENT_INDEX, encode_index(index).as_slice())
                .map_err(Error::storage)?;
        }
        txn.set_durability(if durable {
            Durability::Immediate
        } else {
            Durability::None
        })
        .map_err(|e| Error::Storage(e.to_string()))?;

        let rev = self.state.rev;
        let compact_rev = self.state.compact_rev;
        let leases = std::mem::take(&mut self.state.leases);
        match self.state.index_compaction {
            Some(at) => {
                // see core.rs: no reader may pair the old compact revision
                // with the compacted file
                let mut shared = self.core.write_shared();
                txn.commit().map_err(Error::storage)?;
                shared.current_rev = rev;
                shared.compact_rev = compact_rev;
                shared.index.compact(at);
                shared.leases.publish(leases);
            }
            None => {
                txn.commit().map_err(Error::storage)?;
                let mut shared = self.core.write_shared();
                shared.current_rev = rev;
                shared.leases.publish(leases);
            }
        }
        self.published = true;
        if let Some(index) = self.state.consistent_index {
            self.core.consistent_index.store(index, Ordering::Release);
        }
        self.core.counters.publish(
            &self.state.tally,
            self.state.live_delta,
            self.state.compacted_rows,
        );
        let events = std::mem::take(&mut self.state.events);
        self.hub.publish(self.core, rev, events);
        Ok(())
    }
}

impl Drop for WriteBatch<'_> {
    fn drop(&mut self) {
        if self.published || self.state.undo.is_empty() {
            return;
        }
        let mut shared = self.core.write_shared();
        for change in self.state.undo.iter().rev() {
            if let Err(e) = shared.index.undo(change) {
                self.core.poison(format!(
                    "taking back a dropped batch failed at revision {}",
                    e.given
                ));
                return;
            }
        }
    }
}
