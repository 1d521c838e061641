//! Whether a [`History`] is linearizable for a key-value store where every
//! key is an independent register that starts absent.
//!
//! Linearizability is compositional (Herlihy & Wing), so each key is
//! checked on its own, which keeps the search small. Per key this is Wing
//! & Gong's search as improved by Lowe and used by porcupine: walk the
//! invocation/response events in time order, tentatively linearize an
//! invoked operation if the register allows its result, backtrack when a
//! response is reached whose operation is not linearized yet, and remember
//! every (set of linearized operations, register value) pair already
//! explored so no configuration is searched twice.
//!
//! Failed operations had no effect and are left out, as are reads whose
//! reply never came (they constrain nothing). A put whose outcome is
//! unknown may take effect at any instant after its invocation, so its
//! response is placed at the end of time; if no read ever returned its
//! value it is left out too, which is equivalent (it can always be
//! linearized last) and keeps the search from branching on it.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::history::{Action, History, Operation, Reply};

/// How many search steps one key may take before the check gives up.
pub const DEFAULT_STEP_LIMIT: u64 = 20_000_000;

/// A key whose operations could not be linearized.
#[derive(Debug, Clone)]
pub struct Violation {
    pub key: String,
    /// The search hit its step limit: neither proven nor refuted.
    pub undecided: bool,
    /// The longest order of operations found that the register allows.
    pub longest_linearized: Vec<Operation>,
    /// The earliest invoked operations that could not follow it.
    pub stuck: Vec<Operation>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.undecided {
            "could not be decided within the step limit"
        } else {
            "is not linearizable"
        };
        writeln!(f, "history of key {:?} {verdict}", self.key)?;
        let shown = self.longest_linearized.len().saturating_sub(10);
        writeln!(
            f,
            "longest linearization has {} operations, ending with:",
            self.longest_linearized.len()
        )?;
        for op in &self.longest_linearized[shown..] {
            writeln!(f, "  {op}")?;
        }
        writeln!(f, "earliest operations that cannot follow it:")?;
        for op in &self.stuck {
            writeln!(f, "  {op}")?;
        }
        Ok(())
    }
}

/// Checks every key of `history` with [`DEFAULT_STEP_LIMIT`].
pub fn check(history: &History) -> Result<(), Violation> {
    check_within(history, DEFAULT_STEP_LIMIT)
}

/// Checks every key of `history`, giving up on a key after `step_limit`
/// search steps.
pub fn check_within(history: &History, step_limit: u64) -> Result<(), Violation> {
    let mut by_key: HashMap<&str, Vec<&Operation>> = HashMap::new();
    for op in &history.ops {
        by_key.entry(op.key.as_str()).or_default().push(op);
    }
    let mut keys: Vec<&str> = by_key.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        check_key(key, &by_key[key], step_limit)?;
    }
    Ok(())
}

/// A register operation with values interned to small numbers.
#[derive(Clone, Copy)]
enum Effect {
    Write(u32),
    Read(Option<u32>),
}

/// The register's step: whether `effect` is allowed on `state`, and the
/// state after it.
fn apply(state: Option<u32>, effect: Effect) -> Option<Option<u32>> {
    match effect {
        Effect::Write(v) => Some(Some(v)),
        Effect::Read(seen) => (seen == state).then_some(state),
    }
}

const NIL: usize = usize::MAX;

/// The time-ordered events of one key as a doubly linked list that
/// operations are unlinked from when linearized and relinked into when the
/// search backtracks. Node 0 is the head; a call node's `partner` is its
/// return node.
struct Events {
    next: Vec<usize>,
    prev: Vec<usize>,
    op: Vec<usize>,
    partner: Vec<Option<usize>>,
}

impl Events {
    fn new(times: &[(u64, u64)]) -> Events {
        // Calls sort before returns at equal instants: touching intervals
        // count as concurrent.
        let mut events: Vec<(u64, bool, usize)> = times
            .iter()
            .enumerate()
            .flat_map(|(i, &(call, ret))| [(call, false, i), (ret, true, i)])
            .collect();
        events.sort_unstable();
        let nodes = events.len() + 1;
        let mut e = Events {
            next: (1..=nodes)
                .map(|n| if n == nodes { NIL } else { n })
                .collect(),
            prev: (0..nodes).map(|n| n.wrapping_sub(1)).collect(),
            op: vec![NIL; nodes],
            partner: vec![None; nodes],
        };
        let mut call_node = vec![0; times.len()];
        for (i, &(_, is_return, op)) in events.iter().enumerate() {
            let node = i + 1;
            e.op[node] = op;
            if is_return {
                e.partner[call_node[op]] = Some(node);
            } else {
                call_node[op] = node;
            }
        }
        e
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        if n != NIL {
            self.prev[n] = node;
        }
    }

    fn lift(&mut self, call: usize, ret: usize) {
        self.unlink(call);
        self.unlink(ret);
    }

    fn unlift(&mut self, call: usize, ret: usize) {
        self.relink(ret);
        self.relink(call);
    }
}

/// The operations of one key that constrain the search, with their
/// effects and (call, return) instants.
fn relevant<'a>(ops: &[&'a Operation]) -> (Vec<&'a Operation>, Vec<Effect>, Vec<(u64, u64)>) {
    let observed: HashSet<&str> = ops
        .iter()
        .filter_map(|op| match &op.reply {
            Reply::Read { value: Some(v) } => Some(v.as_str()),
            _ => None,
        })
        .collect();
    let mut values: HashMap<&str, u32> = HashMap::new();
    let mut intern = |v: &'a str| {
        let next = u32::try_from(values.len()).unwrap_or(u32::MAX);
        *values.entry(v).or_insert(next)
    };
    let (mut kept, mut effects, mut times) = (Vec::new(), Vec::new(), Vec::new());
    for op in ops {
        let entry = match (&op.action, &op.reply) {
            (_, Reply::Failed) => None,
            (Action::Put(v), Reply::Written { .. }) => Some((Effect::Write(intern(v)), op.ret)),
            (Action::Put(v), _) if observed.contains(v.as_str()) => {
                Some((Effect::Write(intern(v)), u64::MAX))
            }
            (Action::Put(_), _) => None,
            (Action::Get, Reply::Read { value }) => {
                Some((Effect::Read(value.as_deref().map(&mut intern)), op.ret))
            }
            (Action::Get, _) => None,
        };
        if let Some((effect, ret)) = entry {
            kept.push(*op);
            effects.push(effect);
            times.push((op.call, ret.max(op.call)));
        }
    }
    (kept, effects, times)
}

fn check_key(key: &str, ops: &[&Operation], step_limit: u64) -> Result<(), Violation> {
    let (ops, effects, times) = relevant(ops);
    let mut events = Events::new(&times);
    let mut state: Option<u32> = None;
    let mut linearized = vec![0u64; ops.len().div_ceil(64)];
    let mut seen: HashSet<(Vec<u64>, Option<u32>)> = HashSet::new();
    // Linearized call nodes, each with the register state before it.
    let mut stack: Vec<(usize, Option<u32>)> = Vec::new();
    let mut longest: Vec<usize> = Vec::new();
    let mut node = events.next[0];
    let mut steps = 0u64;
    while events.next[0] != NIL {
        steps += 1;
        if steps > step_limit {
            return Err(violation(key, &ops, &longest, true));
        }
        let op = events.op[node];
        if let Some(ret) = events.partner[node] {
            if let Some(after) = apply(state, effects[op]) {
                let mut with_op = linearized.clone();
                with_op[op / 64] |= 1 << (op % 64);
                if seen.insert((with_op, after)) {
                    stack.push((node, state));
                    state = after;
                    linearized[op / 64] |= 1 << (op % 64);
                    events.lift(node, ret);
                    if stack.len() > longest.len() {
                        longest = stack.iter().map(|&(n, _)| events.op[n]).collect();
                    }
                    node = events.next[0];
                    continue;
                }
            }
            node = events.next[node];
        } else {
            // The response of an operation not linearized yet: every
            // choice since the last one is exhausted, undo it.
            let Some((call, before)) = stack.pop() else {
                return Err(violation(key, &ops, &longest, false));
            };
            let op = events.op[call];
            state = before;
            linearized[op / 64] &= !(1 << (op % 64));
            let ret = events.partner[call].unwrap_or(NIL);
            events.unlift(call, ret);
            node = events.next[call];
        }
    }
    Ok(())
}

fn violation(key: &str, ops: &[&Operation], longest: &[usize], undecided: bool) -> Violation {
    let done: HashSet<usize> = longest.iter().copied().collect();
    let mut rest: Vec<&Operation> = (0..ops.len())
        .filter(|i| !done.contains(i))
        .map(|i| ops[i])
        .collect();
    rest.sort_by_key(|op| op.call);
    Violation {
        key: key.to_string(),
        undecided,
        longest_linearized: longest.iter().map(|&i| ops[i].clone()).collect(),
        stuck: rest.into_iter().take(5).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// An operation on key "k" over [call, ret] milliseconds.
    fn op(client: usize, action: Action, call: u64, ret: u64, reply: Reply) -> Operation {
        Operation {
            client,
            key: "k".to_string(),
            action,
            call: call * 1_000_000,
            ret: ret * 1_000_000,
            reply,
        }
    }

    fn put(client: usize, v: &str, call: u64, ret: u64, revision: i64) -> Operation {
        op(
            client,
            Action::Put(v.to_string()),
            call,
            ret,
            Reply::Written { revision },
        )
    }

    fn put_unknown(client: usize, v: &str, call: u64, ret: u64) -> Operation {
        op(
            client,
            Action::Put(v.to_string()),
            call,
            ret,
            Reply::Unknown,
        )
    }

    fn get(client: usize, v: Option<&str>, call: u64, ret: u64) -> Operation {
        let value = v.map(str::to_string);
        op(client, Action::Get, call, ret, Reply::Read { value })
    }

    fn verdict(ops: Vec<Operation>) -> Result<(), Violation> {
        check(&History::new(ops))
    }

    #[test]
    fn sequential_reads_of_the_latest_write_are_linearizable() {
        let h = vec![
            get(0, None, 0, 1),
            put(0, "a", 2, 3, 2),
            get(1, Some("a"), 4, 5),
            put(1, "b", 6, 7, 3),
            get(0, Some("b"), 8, 9),
        ];
        assert!(verdict(h).is_ok());
    }

    #[test]
    fn a_stale_read_after_an_acknowledged_write_is_not() {
        let h = vec![
            put(0, "a", 0, 1, 2),
            put(0, "b", 2, 3, 3),
            get(1, Some("a"), 4, 5),
        ];
        let v = verdict(h).unwrap_err();
        assert!(!v.undecided);
        assert_eq!(v.key, "k");
        assert_eq!(
            v.stuck[0].reply,
            Reply::Read {
                value: Some("a".into())
            }
        );
        assert!(v.to_string().contains("is not linearizable"), "{v}");
    }

    #[test]
    fn a_lost_acknowledged_write_is_not() {
        let h = vec![put(0, "a", 0, 1, 2), get(1, None, 2, 3)];
        assert!(verdict(h).is_err());
    }

    #[test]
    fn reading_a_value_never_written_is_not() {
        let h = vec![put(0, "a", 0, 1, 2), get(1, Some("z"), 2, 3)];
        assert!(verdict(h).is_err());
    }

    #[test]
    fn overlapping_operations_may_take_effect_in_either_order() {
        // b overlaps a, so a read may see either as the last write while
        // both are in flight; after both ended, only the later one holds.
        let h = vec![
            put(0, "a", 0, 10, 2),
            put(1, "b", 1, 9, 3),
            get(2, Some("b"), 2, 3),
            get(3, Some("a"), 4, 5),
            get(2, Some("a"), 11, 12),
        ];
        assert!(verdict(h).is_ok());
        // Once "a" was read after "b", "b" cannot come back.
        let h = vec![
            put(0, "a", 0, 10, 2),
            put(1, "b", 1, 9, 3),
            get(2, Some("b"), 2, 3),
            get(3, Some("a"), 4, 5),
            get(2, Some("b"), 6, 7),
        ];
        assert!(verdict(h).is_err());
        // A read overlapping a write may see the old value or the new.
        let h = vec![
            put(0, "a", 0, 1, 2),
            put(0, "b", 2, 8, 3),
            get(1, Some("a"), 3, 4),
            get(2, Some("b"), 5, 6),
        ];
        assert!(verdict(h).is_ok());
    }

    #[test]
    fn an_unknown_write_may_or_may_not_have_happened() {
        // Took effect: seen long after the client gave up.
        let took = vec![
            put(0, "a", 0, 1, 2),
            put_unknown(1, "b", 2, 3),
            get(2, Some("a"), 4, 5),
            get(2, Some("b"), 20, 21),
            get(3, Some("b"), 22, 23),
        ];
        assert!(verdict(took).is_ok());
        // Did not: never seen.
        let not = vec![
            put(0, "a", 0, 1, 2),
            put_unknown(1, "b", 2, 3),
            get(2, Some("a"), 20, 21),
        ];
        assert!(verdict(not).is_ok());
        // But it cannot take effect before it was invoked...
        let early = vec![
            put(0, "a", 0, 1, 2),
            get(2, Some("b"), 2, 3),
            put_unknown(1, "b", 4, 5),
        ];
        assert!(verdict(early).is_err());
        // ...nor vanish once seen.
        let flicker = vec![
            put(0, "a", 0, 1, 2),
            put_unknown(1, "b", 2, 3),
            get(2, Some("b"), 4, 5),
            get(2, Some("a"), 6, 7),
        ];
        assert!(verdict(flicker).is_err());
    }

    #[test]
    fn failed_operations_have_no_effect_and_keys_are_independent() {
        let mut h = vec![
            put(0, "a", 0, 1, 2),
            op(1, Action::Put("x".into()), 2, 3, Reply::Failed),
            op(1, Action::Get, 4, 5, Reply::Failed),
            get(2, Some("a"), 6, 7),
        ];
        assert!(verdict(h.clone()).is_ok());
        let mut other = get(3, Some("a"), 8, 9);
        other.key = "other".to_string();
        h.push(other);
        let v = verdict(h).unwrap_err();
        assert_eq!(v.key, "other");
    }

    #[test]
    fn an_exhausted_step_limit_is_undecided() {
        let h = History::new(vec![put(0, "a", 0, 1, 2), get(1, Some("a"), 2, 3)]);
        assert!(check_within(&h, 10).is_ok());
        let v = check_within(&h, 1).unwrap_err();
        assert!(v.undecided && v.to_string().contains("step limit"), "{v}");
    }

    /// A pseudo-random register run: `clients` clients, each operation
    /// taking effect at one instant inside its interval, some puts timing
    /// out (taking effect or not).
    fn simulated(clients: usize, n: usize, seed: u64) -> Vec<Operation> {
        let mut rng = seed;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut free_at = vec![0u64; clients];
        let mut planned = Vec::with_capacity(n);
        for i in 0..n {
            let client = (next() % clients as u64) as usize;
            let call = free_at[client] + next() % 3;
            let point = call + 1 + next() % 4;
            let ret = point + 1 + next() % 4;
            free_at[client] = ret + 1;
            planned.push((point, client, call, ret, next() % 2 == 0, i));
        }
        planned.sort_unstable();
        let mut value: Option<String> = None;
        let mut ops = Vec::with_capacity(n);
        for (point, client, call, ret, is_put, i) in planned {
            if is_put {
                let v = format!("v{i}");
                let lost = i % 50 == 7;
                let unknown = i % 50 == 3 || lost;
                if !lost {
                    value = Some(v.clone());
                }
                let reply = if unknown {
                    Reply::Unknown
                } else {
                    Reply::Written {
                        revision: point as i64,
                    }
                };
                ops.push(op(client, Action::Put(v), call, ret, reply));
            } else {
                ops.push(get(client, value.as_deref(), call, ret));
            }
        }
        ops
    }

    #[test]
    fn a_two_thousand_operation_history_checks_quickly() {
        let ops = simulated(8, 2_000, 0x9e37_79b9_7f4a_7c15);
        let started = Instant::now();
        assert!(verdict(ops.clone()).is_ok());
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "took {took:?}");
        // Corrupting one read breaks it, and is found just as fast.
        let mut bad = ops;
        let last_read = bad
            .iter()
            .rposition(|o| matches!(o.reply, Reply::Read { .. }))
            .unwrap();
        bad[last_read].reply = Reply::Read {
            value: Some("never".into()),
        };
        let started = Instant::now();
        assert!(verdict(bad).is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
