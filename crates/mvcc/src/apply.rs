//! Applying one request inside a write batch, following etcd's applier and
//! storeTxnWrite: every change of the request gets main revision
//! `begin + 1` and the next sub revision; reads inside the request see its
//! earlier changes. A request that fails is taken back completely (disk
//! rows, index changes, live key count), so it consumes no revision. A
//! request that succeeds hands the lease of every key it wrote to the
//! batch's pending leases.

use api::pb::etcdserverpb::{
    DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse, RangeRequest, RangeResponse,
    ResponseHeader,
};
use api::pb::mvccpb::event::EventType;
use api::pb::mvccpb::{Event, KeyValue};
use prost::Message;
use redb::Table;

use crate::Error;
use crate::core::Core;
use crate::counters::{Tally, Unit};
use crate::index::{IndexChange, KeySpan};
use crate::key_index::OutOfOrder;
use crate::lease::PendingLeases;
use crate::range;
use crate::revision::Revision;
use crate::tables::Bytes;

/// The part of a write batch that outlives single requests.
#[derive(Debug, Default)]
pub(crate) struct BatchState {
    /// Newest revision written by the batch (or the published one).
    pub rev: i64,
    /// Compact revision as of the batch's last request.
    pub compact_rev: i64,
    /// Compaction of the in-memory index to do when the batch is published.
    pub index_compaction: Option<i64>,
    /// Index changes of the batch, to take back if it is dropped.
    pub undo: Vec<IndexChange>,
    /// Changes of finished requests, for watchers.
    pub events: Vec<Event>,
    pub consistent_index: Option<u64>,
    pub tally: Tally,
    /// Change in the number of live keys.
    pub live_delta: i64,
    /// Rows removed by compactions.
    pub compacted_rows: u64,
    /// Lease grants, revokes, checkpoints and attachments of the batch.
    pub leases: PendingLeases,
}

/// One request in progress.
#[derive(Debug)]
pub(crate) struct Op {
    begin_rev: i64,
    changes: Vec<Event>,
    undo_mark: usize,
    live_mark: i64,
}

impl Op {
    /// The revision reads inside the request happen at.
    pub fn view_rev(&self) -> i64 {
        if self.changes.is_empty() {
            self.begin_rev
        } else {
            self.begin_rev + 1
        }
    }

    /// The revision the request's changes get.
    pub fn write_rev(&self) -> i64 {
        self.begin_rev + 1
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }
}

pub(crate) struct Apply<'b, 't> {
    pub core: &'b Core,
    pub table: &'b mut Table<'t, Bytes, Bytes>,
    pub state: &'b mut BatchState,
}

fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision,
        ..ResponseHeader::default()
    })
}

fn broken_index(e: OutOfOrder) -> Error {
    Error::Storage(format!(
        "index refused revision {} after {}",
        e.given, e.last
    ))
}

/// The checks etcd's gRPC layer makes on a put; repeated here so a request
/// that skipped them cannot change the store in a way etcd would not.
pub(crate) fn validate_put(req: &PutRequest) -> Result<(), Error> {
    if req.key.is_empty() {
        return Err(api::Error::EmptyKey.into());
    }
    if req.ignore_value && !req.value.is_empty() {
        return Err(api::Error::ValueProvided.into());
    }
    if req.ignore_lease && req.lease != 0 {
        return Err(api::Error::LeaseProvided.into());
    }
    Ok(())
}

impl Apply<'_, '_> {
    pub fn begin(&self) -> Op {
        Op {
            begin_rev: self.state.rev,
            changes: Vec::new(),
            undo_mark: self.state.undo.len(),
            live_mark: self.state.live_delta,
        }
    }

    /// Ends a request: keeps its changes if it succeeded, takes them back if
    /// it was refused, and poisons the store if the store itself failed.
    pub fn settle<T>(&mut self, op: Op, result: Result<T, Error>) -> Result<T, Error> {
        match result {
            Ok(value) => {
                if op.has_changes() {
                    self.track_leases(&op.changes);
                    self.state.rev = op.write_rev();
                    self.state.events.extend(op.changes);
                }
                Ok(value)
            }
            Err(err) if err.is_request_error() => match self.rollback(op) {
                Ok(()) => Err(err),
                Err(undo_err) => {
                    self.core
                        .poison(format!("taking back a refused request failed: {undo_err}"));
                    Err(undo_err)
                }
            },
            Err(err) => {
                self.core.poison(format!("a write failed: {err}"));
                Err(err)
            }
        }
    }

    /// Attachment follows the newest version of a key: a put attaches the
    /// key to the lease it carries (or to none), a delete detaches it.
    fn track_leases(&mut self, changes: &[Event]) {
        let shared = self.core.read_shared();
        for ev in changes {
            if let Some(kv) = &ev.kv {
                let lease = if ev.r#type == EventType::Put as i32 {
                    kv.lease
                } else {
                    0
                };
                self.state.leases.set_lease(&shared.leases, &kv.key, lease);
            }
        }
    }

    fn rollback(&mut self, op: Op) -> Result<(), Error> {
        for (sub, ev) in op.changes.iter().enumerate() {
            let rev = Revision::new(op.write_rev(), sub as i64);
            let tombstone = ev.r#type == EventType::Delete as i32;
            self.table
                .remove(rev.to_key(tombstone).as_slice())
                .map_err(Error::storage)?;
        }
        let taken = self.state.undo.split_off(op.undo_mark);
        let mut shared = self.core.write_shared();
        for change in taken.iter().rev() {
            shared.index.undo(change).map_err(broken_index)?;
        }
        self.state.live_delta = op.live_mark;
        Ok(())
    }

    /// A range as seen by the request so far (etcd's txn.Range). The caller
    /// counts it.
    pub fn range(&self, op: &Op, req: &RangeRequest) -> Result<RangeResponse, Error> {
        let plan = {
            let shared = self.core.read_shared();
            range::plan(&shared.index, req, op.view_rev(), self.state.compact_rev)?
        };
        range::execute(&*self.table, req, plan)
    }

    /// etcd's applier check on a put naming a lease: the lease must exist
    /// (as the batch sees it); 0 names no lease.
    pub fn require_lease(&self, lease: i64) -> Result<(), Error> {
        if lease == 0 {
            return Ok(());
        }
        let shared = self.core.read_shared();
        match self.state.leases.record(&shared.leases, lease) {
            Some(_) => Ok(()),
            None => Err(api::Error::LeaseNotFound.into()),
        }
    }

    /// The current version of one key as seen by the request so far.
    pub fn get(&self, op: &Op, key: &[u8]) -> Result<Option<KeyValue>, Error> {
        let found = self.core.read_shared().index.get(key, op.view_rev());
        found
            .map(|f| range::read_kv(&*self.table, f.modified))
            .transpose()
    }

    /// etcd's applier Put on an open write transaction.
    pub fn put(
        &mut self,
        op: &mut Op,
        req: &PutRequest,
        unit: &mut Unit,
    ) -> Result<PutResponse, Error> {
        let needs_prev = req.ignore_value || req.ignore_lease || req.prev_kv;
        let prev = if needs_prev {
            unit.ranges += 1;
            self.get(op, &req.key)?
        } else {
            None
        };
        let (value, lease) = match (&prev, req.ignore_value || req.ignore_lease) {
            (None, true) => return Err(api::Error::KeyNotFound.into()),
            (Some(p), true) => (
                if req.ignore_value {
                    p.value.clone()
                } else {
                    req.value.clone()
                },
                if req.ignore_lease { p.lease } else { req.lease },
            ),
            (_, false) => (req.value.clone(), req.lease),
        };
        unit.puts += 1;
        unit.put_size += (req.key.len() + value.len()) as u64;
        self.write_put(op, &req.key, value, lease)?;
        Ok(PutResponse {
            header: header(op.write_rev()),
            prev_kv: if req.prev_kv { prev } else { None },
        })
    }

    /// etcd's applier DeleteRange on an open write transaction.
    pub fn delete_range(
        &mut self,
        op: &mut Op,
        req: &DeleteRangeRequest,
        unit: &mut Unit,
    ) -> Result<DeleteRangeResponse, Error> {
        let prev_kvs = if req.prev_kv {
            unit.ranges += 1;
            let all = RangeRequest {
                key: req.key.clone(),
                range_end: req.range_end.clone(),
                ..RangeRequest::default()
            };
            self.range(op, &all)?.kvs
        } else {
            Vec::new()
        };
        unit.deletes += 1;
        let keys = self.core.read_shared().index.keys(
            KeySpan::from_request(&req.key, &req.range_end),
            op.view_rev(),
        );
        for key in &keys {
            self.write_delete(op, key)?;
        }
        let revision = if op.has_changes() {
            op.write_rev()
        } else {
            op.begin_rev
        };
        Ok(DeleteRangeResponse {
            header: header(revision),
            deleted: keys.len() as i64,
            prev_kvs,
        })
    }

    /// Deletes each of `keys` that exists, in the given order (etcd's lease
    /// revoke: one single-key delete per attached key, in one txn); returns
    /// how many existed.
    pub fn delete_keys(&mut self, op: &mut Op, keys: &[Vec<u8>]) -> Result<i64, Error> {
        let mut deleted = 0;
        for key in keys {
            let live = self
                .core
                .read_shared()
                .index
                .get(key, op.view_rev())
                .is_some();
            if live {
                self.write_delete(op, key)?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    fn write_put(
        &mut self,
        op: &mut Op,
        key: &[u8],
        value: Vec<u8>,
        lease: i64,
    ) -> Result<(), Error> {
        let rev = op.write_rev();
        let prior = self.core.read_shared().index.get(key, rev);
        let (create_revision, version) = match prior {
            Some(found) => (found.created.main, found.version + 1),
            None => (rev, 1),
        };
        let idx_rev = Revision::new(rev, op.changes.len() as i64);
        let kv = KeyValue {
            key: key.to_vec(),
            create_revision,
            mod_revision: rev,
            version,
            value,
            lease,
        };
        self.table
            .insert(
                idx_rev.to_key(false).as_slice(),
                kv.encode_to_vec().as_slice(),
            )
            .map_err(Error::storage)?;
        op.changes.push(Event {
            r#type: EventType::Put as i32,
            kv: Some(kv),
            prev_kv: None,
        });
        let created = self
            .core
            .write_shared()
            .index
            .put(key, idx_rev)
            .map_err(broken_index)?;
        self.state
            .undo
            .push(IndexChange::Put(key.to_vec(), idx_rev));
        if created {
            self.state.live_delta += 1;
        }
        Ok(())
    }

    fn write_delete(&mut self, op: &mut Op, key: &[u8]) -> Result<(), Error> {
        let rev = op.write_rev();
        let idx_rev = Revision::new(rev, op.changes.len() as i64);
        let stored = KeyValue {
            key: key.to_vec(),
            ..KeyValue::default()
        };
        self.table
            .insert(
                idx_rev.to_key(true).as_slice(),
                stored.encode_to_vec().as_slice(),
            )
            .map_err(Error::storage)?;
        // watchers learn the deletion's revision from the event itself
        op.changes.push(Event {
            r#type: EventType::Delete as i32,
            kv: Some(KeyValue {
                mod_revision: rev,
                ..stored
            }),
            prev_kv: None,
        });
        let deleted = self
            .core
            .write_shared()
            .index
            .tombstone(key, idx_rev)
            .map_err(broken_index)?;
        if !deleted {
            return Err(Error::Storage(format!(
                "index lost live key {:?} at revision {idx_rev}",
                String::from_utf8_lossy(key)
            )));
        }
        self.state
            .undo
            .push(IndexChange::Tombstone(key.to_vec(), idx_rev));
        self.state.live_delta -= 1;
        Ok(())
    }
}
