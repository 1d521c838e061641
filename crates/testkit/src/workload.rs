//! Concurrent clients putting and getting a few keys over gRPC while a test
//! inflicts faults, recording every request into a [`History`].
//!
//! Each client runs one request at a time against one member, spread
//! round-robin over the members; after an error it waits a little and
//! moves on to the next member, as a real client's balancer would, so a
//! dead member does not flood the history with failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use api::pb::etcdserverpb::kv_client::KvClient;
use api::pb::etcdserverpb::{PutRequest, RangeRequest};
use tonic::Code;
use tonic::transport::Channel;

use crate::client::{channel, within};
use crate::history::{Action, Clock, History, Operation, Reply};

/// How long a client waits for one reply before giving up on it.
const REQUEST_LIMIT: Duration = Duration::from_secs(1);
/// How long a client pauses after an error before its next request.
const ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Clients running in the background until [`Workload::finish`].
pub struct Workload {
    stop: Arc<AtomicBool>,
    clock: Clock,
    thread: JoinHandle<History>,
}

impl Workload {
    /// Starts `clients` clients over the members at `urls`, half puts and
    /// half linearizable gets on `keys` keys named for this workload alone
    /// (they start absent). Every put writes a value no other put writes.
    pub fn start(urls: &[String], clients: usize, keys: usize) -> Workload {
        assert!(
            !urls.is_empty() && clients > 0 && keys > 0,
            "a workload needs members, clients and keys"
        );
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let nonce = format!("{}-{run}", std::process::id());
        let keys: Arc<Vec<String>> =
            Arc::new((0..keys).map(|k| format!("lin-{nonce}-k{k}")).collect());
        let urls: Arc<Vec<String>> = Arc::new(urls.to_vec());
        let stop = Arc::new(AtomicBool::new(false));
        let clock = Clock::start();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
            runtime.block_on(async move {
                let tasks: Vec<_> = (0..clients)
                    .map(|id| {
                        let client = Client {
                            id,
                            urls: urls.clone(),
                            keys: keys.clone(),
                            clock,
                            stop: flag.clone(),
                        };
                        tokio::spawn(client.run())
                    })
                    .collect();
                let mut ops = Vec::new();
                for task in tasks {
                    match task.await {
                        Ok(mut done) => ops.append(&mut done),
                        Err(e) => panic!("workload client failed: {e}"),
                    }
                }
                History::new(ops)
            })
        });
        Workload {
            stop,
            clock,
            thread,
        }
    }

    /// The history's clock now, to tell operations before and after a
    /// fault apart.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Stops the clients (each finishes the request it has in flight) and
    /// returns what they did.
    pub fn finish(self) -> History {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.join() {
            Ok(history) => history,
            Err(e) => std::panic::resume_unwind(e),
        }
    }
}

/// Runs [`Workload::start`]`(urls, clients, keys)` for `duration`.
pub fn run_workload(urls: &[String], clients: usize, keys: usize, duration: Duration) -> History {
    let workload = Workload::start(urls, clients, keys);
    std::thread::sleep(duration);
    workload.finish()
}

struct Client {
    id: usize,
    urls: Arc<Vec<String>>,
    keys: Arc<Vec<String>>,
    clock: Clock,
    stop: Arc<AtomicBool>,
}

impl Client {
    async fn run(self) -> Vec<Operation> {
        let mut member = self.id % self.urls.len();
        let mut kv = KvClient::new(channel(&self.urls[member]));
        let mut rng = Xorshift::seeded(self.id as u64);
        let mut ops = Vec::new();
        let mut seq = 0u64;
        while !self.stop.load(Ordering::Relaxed) {
            let key = self.keys[rng.below(self.keys.len())].clone();
            let call = self.clock.now();
            let (action, reply) = if rng.below(2) == 0 {
                let value = format!("c{}-{seq}", self.id);
                seq += 1;
                let reply = put(&mut kv, &key, &value).await;
                (Action::Put(value), reply)
            } else {
                (Action::Get, get(&mut kv, &key).await)
            };
            let failed = matches!(reply, Reply::Failed | Reply::Unknown);
            ops.push(Operation {
                client: self.id,
                key,
                action,
                call,
                ret: self.clock.now(),
                reply,
            });
            if failed {
                tokio::time::sleep(ERROR_PAUSE).await;
                member = (member + 1) % self.urls.len();
                kv = KvClient::new(channel(&self.urls[member]));
            }
        }
        ops
    }
}

async fn put(kv: &mut KvClient<Channel>, key: &str, value: &str) -> Reply {
    let request = PutRequest {
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
        ..Default::default()
    };
    match tokio::time::timeout(REQUEST_LIMIT, kv.put(request)).await {
        Ok(Ok(reply)) => Reply::Written {
            revision: reply.into_inner().header.map_or(0, |h| h.revision),
        },
        Ok(Err(status)) if refused_before_proposing(&status) => Reply::Failed,
        _ => Reply::Unknown,
    }
}

/// Errors after which a put certainly did not happen: the request was
/// invalid or never reached a server. Anything else (timeouts, lost
/// connections, leader changes) leaves its fate unknown.
fn refused_before_proposing(status: &tonic::Status) -> bool {
    let definite = matches!(
        status.code(),
        Code::InvalidArgument
            | Code::FailedPrecondition
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::ResourceExhausted
            | Code::OutOfRange
            | Code::NotFound
            | Code::AlreadyExists
    );
    definite || connection_refused(status)
}

fn connection_refused(status: &tonic::Status) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    while let Some(e) = source {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        source = e.source();
    }
    false
}

async fn get(kv: &mut KvClient<Channel>, key: &str) -> Reply {
    let request = RangeRequest {
        key: key.as_bytes().to_vec(),
        ..Default::default()
    };
    match within(REQUEST_LIMIT, kv.range(request)).await {
        Some(reply) => Reply::Read {
            value: reply
                .kvs
                .first()
                .map(|kv| String::from_utf8_lossy(&kv.value).into_owned()),
        },
        None => Reply::Failed,
    }
}

/// The acknowledged puts of `history` that the member at `url` does not
/// hold: reading the key at the put's revision must give the put's value
/// with that modification revision. Meant for histories written without
/// compaction.
pub fn lost_writes(url: &str, history: &History) -> Vec<String> {
    let puts: Vec<(String, String, i64)> = history
        .acknowledged_puts()
        .map(|(op, value, revision)| (op.key.clone(), value.to_string(), revision))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    runtime.block_on(async {
        let kv = KvClient::new(channel(url));
        let chunks: Vec<Vec<(String, String, i64)>> = puts
            .chunks(puts.len().div_ceil(8).max(1))
            .map(<[_]>::to_vec)
            .collect();
        let tasks: Vec<_> = chunks
            .into_iter()
            .map(|chunk| tokio::spawn(missing(kv.clone(), chunk)))
            .collect();
        let mut lost = Vec::new();
        for task in tasks {
            match task.await {
                Ok(mut found) => lost.append(&mut found),
                Err(e) => panic!("checking writes: {e}"),
            }
        }
        lost
    })
}

async fn missing(mut kv: KvClient<Channel>, puts: Vec<(String, String, i64)>) -> Vec<String> {
    let mut lost = Vec::new();
    for (key, value, revision) in puts {
        let request = RangeRequest {
            key: key.as_bytes().to_vec(),
            revision,
            ..Default::default()
        };
        let found = match tokio::time::timeout(Duration::from_secs(5), kv.range(request)).await {
            Ok(Ok(reply)) => reply.into_inner().kvs.first().map(|kv| {
                (
                    String::from_utf8_lossy(&kv.value).into_owned(),
                    kv.mod_revision,
                )
            }),
            Ok(Err(e)) => {
                lost.push(format!(
                    "put({key}, {value}) at rev {revision}: read failed: {e}"
                ));
                continue;
            }
            Err(_) => {
                lost.push(format!(
                    "put({key}, {value}) at rev {revision}: read timed out"
                ));
                continue;
            }
        };
        if found.as_ref() != Some(&(value.clone(), revision)) {
            lost.push(format!(
                "put({key}, {value}) acknowledged at rev {revision}, but that revision holds {found:?}"
            ));
        }
    }
    lost
}

/// A small deterministic generator: workloads differ per client but not
/// per run, which keeps failures reproducible in shape.
struct Xorshift(u64);

impl Xorshift {
    fn seeded(seed: u64) -> Xorshift {
        Xorshift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn against_nothing_puts_fail_and_gets_are_refused() {
        let url = format!("http://127.0.0.1:{}", crate::member::free_port());
        let history = run_workload(std::slice::from_ref(&url), 2, 2, Duration::from_millis(300));
        assert!(!history.ops.is_empty());
        assert!(
            history
                .ops
                .iter()
                .all(|op| op.reply == Reply::Failed && op.ret >= op.call),
            "{}",
            history.summary()
        );
        assert!(
            lost_writes(&url, &history).is_empty(),
            "nothing was acknowledged"
        );
    }

    #[test]
    fn the_generator_stays_in_range_and_differs_per_seed() {
        let (mut a, mut b) = (Xorshift::seeded(0), Xorshift::seeded(1));
        let xs: Vec<usize> = (0..50).map(|_| a.below(7)).collect();
        let ys: Vec<usize> = (0..50).map(|_| b.below(7)).collect();
        assert!(xs.iter().all(|&x| x < 7) && xs != ys);
    }
}
