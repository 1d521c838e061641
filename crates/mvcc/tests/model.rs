//! The store against a naive model that keeps the full key space after
//! every revision and the leases, over random sequences of puts (with,
//! without or keeping a lease), deletes, txns, lease grants, revokes and
//! checkpoints, compactions, reads at random revisions, committed and
//! dropped batches and reopens. Lease attachment is checked against the
//! keys whose newest version names the lease.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{CompactionRequest, RangeRequest, TxnRequest};
use api::pb::mvccpb::KeyValue;
use common::*;
use mvcc::{Error, LeaseRecord, Store, StoreOptions, WriteBatch};
use proptest::prelude::*;

const KEYS: [&str; 5] = ["a", "b", "c", "d", "e"];
/// Lease ids the steps pick from; a negative one checks the order by id.
const LEASES: [i64; 3] = [7, 300, -2];

#[derive(Debug, Clone, Copy)]
enum Lease {
    None,
    Id(usize),
    /// ignore_lease: keep the key's current lease
    Keep,
}

#[derive(Debug, Clone)]
enum Write {
    Put(usize, u8, Lease),
    Delete(usize, usize),
}

#[derive(Debug, Clone)]
enum Step {
    Write(Write),
    /// if version(key) == v then success else failure
    Txn(usize, i64, Vec<Write>, Vec<Write>),
    Compact(i64),
    Grant(usize, i64),
    Revoke(usize),
    Checkpoint(usize, i64),
    /// read through the store (committed state) or the batch
    Read {
        from: usize,
        to: usize,
        rev: i64,
        in_batch: bool,
    },
    Commit(bool),
    Abort,
    Reopen,
}

fn lease() -> impl Strategy<Value = Lease> {
    prop_oneof![
        3 => Just(Lease::None),
        3 => (0..LEASES.len()).prop_map(Lease::Id),
        1 => Just(Lease::Keep),
    ]
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        3 => (0..KEYS.len(), any::<u8>(), lease()).prop_map(|(k, v, l)| Write::Put(k, v, l)),
        1 => (0..KEYS.len(), 0..=KEYS.len()).prop_map(|(k, e)| Write::Delete(k, e)),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => write().prop_map(Step::Write),
        2 => (0..KEYS.len(), 0..3i64, prop::collection::vec(write(), 0..4), prop::collection::vec(write(), 0..3))
            .prop_map(|(k, v, s, f)| Step::Txn(k, v, s, f)),
        1 => (-2..40i64).prop_map(Step::Compact),
        2 => (0..LEASES.len(), 1..100i64).prop_map(|(l, ttl)| Step::Grant(l, ttl)),
        1 => (0..LEASES.len()).prop_map(Step::Revoke),
        1 => (0..LEASES.len(), 0..100i64).prop_map(|(l, left)| Step::Checkpoint(l, left)),
        4 => (0..KEYS.len(), 0..=KEYS.len(), -1..40i64, any::<bool>())
            .prop_map(|(from, to, rev, in_batch)| Step::Read { from, to, rev, in_batch }),
        2 => any::<bool>().prop_map(Step::Commit),
        1 => Just(Step::Abort),
        1 => Just(Step::Reopen),
    ]
}

/// Key space after each revision (`states[r]` is the store at revision r)
/// and the leases now.
#[derive(Debug, Clone)]
struct Model {
    states: Vec<BTreeMap<String, KeyValue>>,
    compact: i64,
    leases: BTreeMap<i64, LeaseRecord>,
}

impl Model {
    fn new() -> Model {
        // revisions start at 1 with nothing in it
        Model {
            states: vec![BTreeMap::new(), BTreeMap::new()],
            compact: -1,
            leases: BTreeMap::new(),
        }
    }

    fn current(&self) -> i64 {
        self.states.len() as i64 - 1
    }

    fn latest(&self) -> &BTreeMap<String, KeyValue> {
        self.states.last().unwrap()
    }

    /// The applier's checks before a request (etcd's checkRequestPut, in
    /// request order): a kept lease needs the key, a named lease must
    /// exist.
    fn check(&self, writes: &[Write]) -> Result<(), api::Error> {
        for w in writes {
            match w {
                Write::Put(k, _, Lease::Keep) if !self.latest().contains_key(KEYS[*k]) => {
                    return Err(api::Error::KeyNotFound);
                }
                Write::Put(_, _, Lease::Id(l)) if !self.leases.contains_key(&LEASES[*l]) => {
                    return Err(api::Error::LeaseNotFound);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks, then applies writes as one request at the next revision;
    /// a refused request changes nothing.
    fn apply(&mut self, writes: &[Write]) -> Result<(), api::Error> {
        self.check(writes)?;
        let rev = self.current() + 1;
        let mut state = self.latest().clone();
        let mut changed = false;
        for w in writes {
            match w {
                Write::Put(k, v, lease) => {
                    let key = KEYS[*k].to_string();
                    let prior = state.get(&key);
                    let lease = match lease {
                        Lease::None => 0,
                        Lease::Id(l) => LEASES[*l],
                        // a delete earlier in the same txn: refused whole
                        Lease::Keep => prior.ok_or(api::Error::KeyNotFound)?.lease,
                    };
                    let (create, version) =
                        prior.map_or((rev, 1), |kv| (kv.create_revision, kv.version + 1));
                    state.insert(
                        key.clone(),
                        KeyValue {
                            key: key.into_bytes(),
                            create_revision: create,
                            mod_revision: rev,
                            version,
                            value: vec![*v],
                            lease,
                        },
                    );
                    changed = true;
                }
                Write::Delete(k, e) => {
                    let doomed: Vec<String> = state
                        .keys()
                        .filter(|key| in_span(key, *k, *e))
                        .cloned()
                        .collect();
                    for key in doomed {
                        state.remove(&key);
                        changed = true;
                    }
                }
            }
        }
        if changed {
            self.states.push(state);
        }
        Ok(())
    }

    /// etcd's revoke: the keys carrying the lease go in one revision (none
    /// if there are no such keys), then the lease. Returns the count.
    fn revoke(&mut self, id: i64) -> Result<i64, api::Error> {
        self.leases.remove(&id).ok_or(api::Error::LeaseNotFound)?;
        let mut state = self.latest().clone();
        state.retain(|_, kv| kv.lease != id);
        let deleted = (self.latest().len() - state.len()) as i64;
        if deleted > 0 {
            self.states.push(state);
        }
        Ok(deleted)
    }

    fn attached(&self, id: i64) -> Vec<Vec<u8>> {
        self.latest()
            .values()
            .filter(|kv| kv.lease == id)
            .map(|kv| kv.key.clone())
            .collect()
    }

    fn read(&self, from: usize, to: usize, rev: i64) -> Result<Vec<KeyValue>, api::Error> {
        if rev > self.current() {
            return Err(api::Error::FutureRev);
        }
        let at = if rev <= 0 { self.current() } else { rev };
        if at < self.compact {
            return Err(api::Error::Compacted);
        }
        Ok(self.states[at as usize]
            .iter()
            .filter(|(key, _)| in_span(key, from, to))
            .map(|(_, kv)| kv.clone())
            .collect())
    }

    fn live_keys(&self) -> u64 {
        self.latest().len() as u64
    }
}

/// Key index `from` alone when `to == from`, else [from, to) or from-key
/// when `to` is past the last key.
fn in_span(key: &str, from: usize, to: usize) -> bool {
    let start = KEYS[from];
    match to {
        t if t == from => key == start,
        t if t >= KEYS.len() => key >= start,
        t => key >= start && key < KEYS[t],
    }
}

fn span(from: usize, to: usize) -> (String, String) {
    let end = match to {
        t if t == from => String::new(),
        t if t >= KEYS.len() => "\0".to_string(),
        t => KEYS[t].to_string(),
    };
    (KEYS[from].to_string(), end)
}

fn to_requests(writes: &[Write]) -> Vec<api::pb::etcdserverpb::RequestOp> {
    writes
        .iter()
        .map(|w| match w {
            Write::Put(k, v, lease) => api::pb::etcdserverpb::RequestOp {
                request: Some(api::pb::etcdserverpb::request_op::Request::RequestPut(
                    put_request(*k, *v, *lease),
                )),
            },
            Write::Delete(k, e) => {
                let (key, end) = span(*k, *e);
                op_delete(&key, &end)
            }
        })
        .collect()
}

fn put_request(k: usize, v: u8, lease: Lease) -> api::pb::etcdserverpb::PutRequest {
    let mut req = put(KEYS[k], "");
    req.value = vec![v];
    match lease {
        Lease::None => {}
        Lease::Id(l) => req.lease = LEASES[l],
        Lease::Keep => req.ignore_lease = true,
    }
    req
}

fn api_of(e: Error) -> api::Error {
    match e {
        Error::Api(e) => e,
        other => panic!("store failure: {other:?}"),
    }
}

fn check_committed(store: &Store, model: &Model) {
    assert_eq!(store.current_revision(), model.current());
    assert_eq!(store.compact_revision(), model.compact);
    assert_eq!(store.counters().keys_total, model.live_keys());
    assert_eq!(
        store.leases().unwrap(),
        model.leases.values().copied().collect::<Vec<_>>()
    );
    for id in LEASES {
        assert_eq!(store.lease(id).as_ref(), model.leases.get(&id));
        assert_eq!(store.lease_keys(id), model.attached(id), "lease {id}");
    }
    for rev in model.compact.max(1)..=model.current() {
        let got = store
            .range(&RangeRequest {
                revision: rev,
                ..range("\0", "\0")
            })
            .unwrap();
        assert_eq!(
            got.kvs,
            model.read(0, KEYS.len(), rev).unwrap(),
            "at revision {rev}"
        );
    }
}

fn run(steps: Vec<Step>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut committed = Model::new();
    let mut steps = steps.into_iter();
    let mut applied = 0u64;
    loop {
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        check_committed(&store, &committed);
        assert_eq!(store.consistent_index(), applied);
        let mut pending = committed.clone();
        // the open batch spans steps until Commit, Abort or Reopen
        let mut batch: Option<WriteBatch<'_>> = None;
        let mut reopen = false;
        for step in steps.by_ref() {
            match step {
                Step::Commit(durable) => {
                    if let Some(mut b) = batch.take() {
                        applied += 1;
                        b.set_consistent_index(applied);
                        b.commit(durable).unwrap();
                    }
                    committed = pending.clone();
                    check_committed(&store, &committed);
                }
                Step::Abort => {
                    batch = None;
                    pending = committed.clone();
                }
                Step::Reopen => {
                    reopen = true;
                    break;
                }
                other => {
                    let b = batch.get_or_insert_with(|| store.write_batch().unwrap());
                    apply_step(&store, b, other, &committed, &mut pending);
                }
            }
        }
        // an open batch is dropped, as by a crash before its commit
        drop(batch);
        check_committed(&store, &committed);
        if !reopen {
            return;
        }
    }
}

fn apply_step(
    store: &Store,
    b: &mut WriteBatch<'_>,
    step: Step,
    committed: &Model,
    pending: &mut Model,
) {
    match step {
        Step::Write(Write::Put(k, v, lease)) => {
            let got = b.put(&put_request(k, v, lease));
            match (got, pending.apply(&[Write::Put(k, v, lease)])) {
                (Ok(resp), Ok(())) => {
                    assert_eq!(resp.header.unwrap().revision, pending.current());
                }
                (Err(e), Err(want)) => assert_eq!(api_of(e), want),
                (got, want) => panic!("store {got:?}, model {want:?}"),
            }
            assert_eq!(b.revision(), pending.current());
        }
        Step::Write(Write::Delete(k, e)) => {
            let (key, end) = span(k, e);
            let before = pending.current();
            let resp = b.delete_range(&delete(&key, &end)).unwrap();
            pending.apply(&[Write::Delete(k, e)]).unwrap();
            assert_eq!(resp.header.unwrap().revision, pending.current());
            assert_eq!(resp.deleted > 0, pending.current() > before);
        }
        Step::Txn(k, v, success, failure) => {
            let req = TxnRequest {
                compare: vec![cmp(
                    KEYS[k],
                    CompareTarget::Version,
                    CompareResult::Equal,
                    TargetUnion::Version(v),
                )],
                success: to_requests(&success),
                failure: to_requests(&failure),
            };
            let version = pending.latest().get(KEYS[k]).map_or(0, |kv| kv.version);
            let taken = if version == v { &success } else { &failure };
            let resp = match (b.txn(&req), pending.apply(taken)) {
                (Ok(resp), Ok(())) => resp,
                (Err(e), Err(want)) => {
                    assert_eq!(api_of(e), want);
                    assert_eq!(b.revision(), pending.current());
                    return;
                }
                (got, want) => panic!("store {got:?}, model {want:?}"),
            };
            assert_eq!(resp.succeeded, version == v);
            assert_eq!(resp.header.unwrap().revision, pending.current());
            for r in &resp.responses {
                assert!(matches!(
                    r.response,
                    Some(Response::ResponsePut(_) | Response::ResponseDeleteRange(_))
                ));
            }
        }
        Step::Compact(rev) => {
            let result = b.compact(&CompactionRequest {
                revision: rev,
                physical: true,
            });
            if rev <= pending.compact {
                assert_eq!(api_of(result.unwrap_err()), api::Error::Compacted);
            } else if rev > pending.current() {
                assert_eq!(api_of(result.unwrap_err()), api::Error::FutureRev);
            } else {
                result.unwrap();
                pending.compact = rev;
            }
        }
        Step::Grant(l, ttl) => {
            let id = LEASES[l];
            let got = b.lease_grant(id, ttl);
            match pending.leases.entry(id) {
                Entry::Occupied(_) => {
                    assert_eq!(api_of(got.unwrap_err()), api::Error::LeaseExist);
                }
                Entry::Vacant(slot) => {
                    got.unwrap();
                    slot.insert(LeaseRecord {
                        id,
                        ttl,
                        remaining_ttl: 0,
                    });
                }
            }
            assert_eq!(b.lease(id).as_ref(), pending.leases.get(&id));
        }
        Step::Revoke(l) => {
            let id = LEASES[l];
            match (b.lease_revoke(id), pending.revoke(id)) {
                (Ok(got), Ok(deleted)) => {
                    assert_eq!(got.deleted, deleted);
                    assert_eq!(got.revision, pending.current());
                }
                (Err(e), Err(want)) => assert_eq!(api_of(e), want),
                (got, want) => panic!("store {got:?}, model {want:?}"),
            }
            assert_eq!(b.revision(), pending.current());
            assert_eq!(b.lease(id), None);
        }
        Step::Checkpoint(l, left) => {
            let id = LEASES[l];
            b.lease_checkpoint(id, left).unwrap();
            if let Some(record) = pending.leases.get_mut(&id) {
                record.remaining_ttl = left;
            }
            assert_eq!(b.lease(id).as_ref(), pending.leases.get(&id));
        }
        Step::Read {
            from,
            to,
            rev,
            in_batch,
        } => {
            let (key, end) = span(from, to);
            let req = RangeRequest {
                revision: rev,
                ..range(&key, &end)
            };
            let (got, want) = if in_batch {
                (b.range(&req), pending.read(from, to, rev))
            } else {
                (store.range(&req), committed.read(from, to, rev))
            };
            match (got, want) {
                (Ok(resp), Ok(kvs)) => assert_eq!(resp.kvs, kvs),
                (Err(e), Err(w)) => assert_eq!(api_of(e), w),
                (got, want) => panic!("store {got:?}, model {want:?}"),
            }
        }
        Step::Commit(_) | Step::Abort | Step::Reopen => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn store_matches_model(steps in prop::collection::vec(step(), 1..40)) {
        run(steps);
    }
}
