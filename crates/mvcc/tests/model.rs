//! The store against a naive model that keeps the full key space after
//! every revision, over random sequences of puts, deletes, txns,
//! compactions, reads at random revisions, committed and dropped batches
//! and reopens.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use api::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use api::pb::etcdserverpb::response_op::Response;
use api::pb::etcdserverpb::{CompactionRequest, RangeRequest, TxnRequest};
use api::pb::mvccpb::KeyValue;
use common::*;
use mvcc::{Error, Store, StoreOptions, WriteBatch};
use proptest::prelude::*;

const KEYS: [&str; 5] = ["a", "b", "c", "d", "e"];

#[derive(Debug, Clone)]
enum Write {
    Put(usize, u8),
    Delete(usize, usize),
}

#[derive(Debug, Clone)]
enum Step {
    Write(Write),
    /// if version(key) == v then success else failure
    Txn(usize, i64, Vec<Write>, Vec<Write>),
    Compact(i64),
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

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        3 => (0..KEYS.len(), any::<u8>()).prop_map(|(k, v)| Write::Put(k, v)),
        1 => (0..KEYS.len(), 0..=KEYS.len()).prop_map(|(k, e)| Write::Delete(k, e)),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => write().prop_map(Step::Write),
        2 => (0..KEYS.len(), 0..3i64, prop::collection::vec(write(), 0..4), prop::collection::vec(write(), 0..3))
            .prop_map(|(k, v, s, f)| Step::Txn(k, v, s, f)),
        1 => (-2..40i64).prop_map(Step::Compact),
        4 => (0..KEYS.len(), 0..=KEYS.len(), -1..40i64, any::<bool>())
            .prop_map(|(from, to, rev, in_batch)| Step::Read { from, to, rev, in_batch }),
        2 => any::<bool>().prop_map(Step::Commit),
        1 => Just(Step::Abort),
        1 => Just(Step::Reopen),
    ]
}

/// Key space after each revision: `states[r]` is the store at revision r.
#[derive(Debug, Clone)]
struct Model {
    states: Vec<BTreeMap<String, KeyValue>>,
    compact: i64,
}

impl Model {
    fn new() -> Model {
        // revisions start at 1 with nothing in it
        Model {
            states: vec![BTreeMap::new(), BTreeMap::new()],
            compact: -1,
        }
    }

    fn current(&self) -> i64 {
        self.states.len() as i64 - 1
    }

    /// Applies writes as one request at the next revision.
    fn apply(&mut self, writes: &[Write]) {
        let rev = self.current() + 1;
        let mut state = self.states.last().unwrap().clone();
        let mut changed = false;
        for w in writes {
            match w {
                Write::Put(k, v) => {
                    let key = KEYS[*k].to_string();
                    let (create, version) = state
                        .get(&key)
                        .map_or((rev, 1), |kv| (kv.create_revision, kv.version + 1));
                    state.insert(
                        key.clone(),
                        KeyValue {
                            key: key.into_bytes(),
                            create_revision: create,
                            mod_revision: rev,
                            version,
                            value: vec![*v],
                            lease: 0,
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
        self.states.last().unwrap().len() as u64
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
            Write::Put(k, v) => {
                let mut op = op_put(KEYS[*k], "");
                if let Some(api::pb::etcdserverpb::request_op::Request::RequestPut(p)) =
                    &mut op.request
                {
                    p.value = vec![*v];
                }
                op
            }
            Write::Delete(k, e) => {
                let (key, end) = span(*k, *e);
                op_delete(&key, &end)
            }
        })
        .collect()
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
        Step::Write(Write::Put(k, v)) => {
            let mut req = put(KEYS[k], "");
            req.value = vec![v];
            let resp = b.put(&req).unwrap();
            pending.apply(&[Write::Put(k, v)]);
            assert_eq!(resp.header.unwrap().revision, pending.current());
        }
        Step::Write(Write::Delete(k, e)) => {
            let (key, end) = span(k, e);
            let before = pending.current();
            let resp = b.delete_range(&delete(&key, &end)).unwrap();
            pending.apply(&[Write::Delete(k, e)]);
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
            let version = pending
                .states
                .last()
                .unwrap()
                .get(KEYS[k])
                .map_or(0, |kv| kv.version);
            let resp = b.txn(&req).unwrap();
            assert_eq!(resp.succeeded, version == v);
            pending.apply(if resp.succeeded { &success } else { &failure });
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
