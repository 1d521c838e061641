//! What clients did and saw: one [`Operation`] per request, with when it
//! was invoked and when its reply came back, as the linearizability and
//! revision checks read it.

use std::fmt;
use std::time::Instant;

/// What a client asked for on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Put(String),
    Get,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// An acknowledged put, at the revision its response header named.
    Written { revision: i64 },
    /// A successful get: the key's value, `None` when it was absent.
    Read { value: Option<String> },
    /// Refused for sure: the request had no effect.
    Failed,
    /// Timed out or lost its connection: a put may or may not have taken
    /// effect, at any instant after its invocation.
    Unknown,
}

/// One request of one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub client: usize,
    pub key: String,
    pub action: Action,
    /// Nanoseconds since the history's [`Clock`] started, at invocation.
    pub call: u64,
    /// Nanoseconds since the clock started, when the reply (or the
    /// client's giving up) came.
    pub ret: u64,
    pub reply: Reply,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match &self.action {
            Action::Put(v) => format!("put({}, {v})", self.key),
            Action::Get => format!("get({})", self.key),
        };
        let reply = match &self.reply {
            Reply::Written { revision } => format!("ok rev {revision}"),
            Reply::Read { value: Some(v) } => format!("-> {v}"),
            Reply::Read { value: None } => "-> absent".to_string(),
            Reply::Failed => "failed".to_string(),
            Reply::Unknown => "unknown".to_string(),
        };
        write!(
            f,
            "client {} {action} [{:.3}ms..{:.3}ms] {reply}",
            self.client,
            self.call as f64 / 1e6,
            self.ret as f64 / 1e6
        )
    }
}

/// The time base every client of one history shares.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            epoch: Instant::now(),
        }
    }

    /// Nanoseconds since the clock started.
    pub fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Operations of many clients, in no particular order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub ops: Vec<Operation>,
}

impl History {
    pub fn new(ops: Vec<Operation>) -> History {
        History { ops }
    }

    /// Puts that were acknowledged, with their revisions.
    pub fn acknowledged_puts(&self) -> impl Iterator<Item = (&Operation, &str, i64)> {
        self.ops
            .iter()
            .filter_map(|op| match (&op.action, &op.reply) {
                (Action::Put(v), Reply::Written { revision }) => Some((op, v.as_str(), *revision)),
                _ => None,
            })
    }

    /// Counts for a test's log line: puts ok/failed/unknown, gets ok/failed.
    pub fn summary(&self) -> String {
        let mut counts = [0usize; 6];
        for op in &self.ops {
            let slot = match (&op.action, &op.reply) {
                (Action::Put(_), Reply::Written { .. }) => 0,
                (Action::Put(_), Reply::Failed) => 1,
                (Action::Put(_), _) => 2,
                (Action::Get, Reply::Read { .. }) => 3,
                (Action::Get, Reply::Failed) => 4,
                (Action::Get, _) => 5,
            };
            counts[slot] += 1;
        }
        format!(
            "{} ops: puts {} ok / {} failed / {} unknown, gets {} ok / {} failed / {} unknown",
            self.ops.len(),
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            counts[4],
            counts[5]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_acknowledged_puts_count_by_reply() {
        let op = |action, reply| Operation {
            client: 0,
            key: "k".to_string(),
            action,
            call: 1_000_000,
            ret: 2_500_000,
            reply,
        };
        let h = History::new(vec![
            op(Action::Put("a".into()), Reply::Written { revision: 2 }),
            op(Action::Put("b".into()), Reply::Unknown),
            op(Action::Get, Reply::Read { value: None }),
            op(Action::Get, Reply::Failed),
        ]);
        assert_eq!(
            h.summary(),
            "4 ops: puts 1 ok / 0 failed / 1 unknown, gets 1 ok / 1 failed / 0 unknown"
        );
        let acked: Vec<_> = h.acknowledged_puts().map(|(_, v, r)| (v, r)).collect();
        assert_eq!(acked, [("a", 2)]);
        assert_eq!(
            h.ops[0].to_string(),
            "client 0 put(k, a) [1.000ms..2.500ms] ok rev 2"
        );
        let clock = Clock::start();
        let t = clock.now();
        assert!(clock.now() >= t);
    }
}
