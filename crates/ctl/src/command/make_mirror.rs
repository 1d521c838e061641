//! `etcdctl make-mirror [options] <destination>`: copies the keys under
//! `--prefix` as they stood at one revision to another cluster, a page at
//! a time, then replays every later change from a watch that starts right
//! after that revision, one destination txn per source revision. Keys are
//! renamed on the way (`--dest-prefix`, `--no-dest-prefix`). It runs until
//! killed: etcdctl leaves SIGINT and SIGTERM fatal here, and so does this
//! command. Every 30 seconds it prints how many keys it has written.

use std::future::Future;
use std::time::Duration;

use api::pb::etcdserverpb::request_op::Request;
use api::pb::etcdserverpb::{
    DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, WatchCreateRequest,
};
use api::pb::mvccpb::Event;
use api::pb::mvccpb::event::EventType;
use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at};

use super::Session;
use crate::client::{Client, ClientConfig, Delivery, TlsFiles};
use crate::error::Error;
use crate::exit;
use crate::io::Io;
use crate::keys::prefix_end;

/// clientv3/mirror's page size for the initial copy.
const BATCH_LIMIT: i64 = 1000;
const REPORT_EVERY: Duration = Duration::from_secs(30);
const COMPACTED: &str = "etcdserver: mvcc: required revision has been compacted";

/// How a source key is named in the destination: the first `from` in it
/// becomes `to` (Go's `strings.Replace(key, from, to, 1)`, so an empty
/// `from` puts `to` in front).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    pub from: Vec<u8>,
    pub to: Vec<u8>,
}

impl Rename {
    pub fn apply(&self, key: &[u8]) -> Vec<u8> {
        let found = if self.from.is_empty() {
            Some(0)
        } else {
            key.windows(self.from.len()).position(|w| w == self.from)
        };
        match found {
            Some(i) => [&key[..i], &self.to[..], &key[i + self.from.len()..]].concat(),
            None => key.to_vec(),
        }
    }
}

/// The destination txns for one watch response's events: a new txn
/// starts whenever the mod revision grows, so each source revision is
/// applied atomically.
pub fn batches(events: &[Event], rename: &Rename) -> Result<Vec<Vec<RequestOp>>, Error> {
    let mut all: Vec<Vec<RequestOp>> = Vec::new();
    let mut ops = Vec::new();
    let mut last_rev = 0;
    for event in events {
        let kv = event.kv.clone().unwrap_or_default();
        if last_rev != 0 && kv.mod_revision > last_rev {
            all.push(std::mem::take(&mut ops));
        }
        last_rev = kv.mod_revision;
        let key = rename.apply(&kv.key);
        let request = match EventType::try_from(event.r#type) {
            Ok(EventType::Put) => Request::RequestPut(PutRequest {
                key,
                value: kv.value,
                ..Default::default()
            }),
            Ok(EventType::Delete) => Request::RequestDeleteRange(DeleteRangeRequest {
                key,
                ..Default::default()
            }),
            Err(_) => return Err(Error::Panic("unexpected event type".to_string())),
        };
        ops.push(RequestOp {
            request: Some(request),
        });
    }
    if !ops.is_empty() {
        all.push(ops);
    }
    Ok(all)
}

/// The running count of keys written, printed every [`REPORT_EVERY`]
/// while the command waits on anything.
struct Progress {
    ticker: Interval,
    total: i64,
}

impl Progress {
    fn start() -> Progress {
        let mut ticker = interval_at(Instant::now() + REPORT_EVERY, REPORT_EVERY);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Progress { ticker, total: 0 }
    }

    /// Awaits `work`, reporting the count whenever it is due meanwhile.
    async fn during<F: Future>(&mut self, io: &mut Io<'_>, work: F) -> F::Output {
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = self.ticker.tick() => {
                    io.println(&self.total.to_string());
                    io.flush();
                }
            }
        }
    }
}

/// The destination's client settings: only the `--dest-*` TLS flags and
/// the timeouts as given on the command line (etcdctl reads them before
/// the `ETCDCTL_*` variables apply, and never authenticates there).
fn destination(s: &Session<'_, '_>, endpoint: String) -> Result<ClientConfig, Error> {
    let flags = &s.inv.flags;
    let files = TlsFiles {
        cert: flags.string("dest-cert"),
        key: flags.string("dest-key"),
        cacert: flags.string("dest-cacert"),
        skip_verify: false,
    };
    let any_file = !files.cert.is_empty() || !files.key.is_empty() || !files.cacert.is_empty();
    let tls = if any_file || !flags.bool("dest-insecure-transport") {
        files.check_pair()?;
        Some(files)
    } else {
        None
    };
    Ok(ClientConfig {
        endpoints: vec![endpoint],
        dial_timeout: flags.duration("dial-timeout"),
        keepalive_time: flags.duration("keepalive-time"),
        keepalive_timeout: flags.duration("keepalive-timeout"),
        tls,
        auth: None,
    })
}

/// The first key and the range end that cover `prefix` (everything when
/// it is empty), as clientv3 builds them for `WithPrefix`.
fn span(prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    if prefix.is_empty() {
        (vec![0], vec![0])
    } else {
        (prefix.to_vec(), prefix_end(prefix))
    }
}

pub async fn run(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let [dest] = s.inv.args.as_slice() else {
        return Err(Error::bad_args(
            "make-mirror takes one destination argument",
        ));
    };
    let dest_cfg = destination(s, dest.to_string_lossy().into_owned())?;
    let mut dst = Client::new(dest_cfg)?;
    let (mut src, _) = s.client().await?;
    let mut progress = Progress::start();
    let prefix = s.inv.flags.string("prefix").into_bytes();

    // The revision to copy at is the one a read of any key reports.
    let probe = RangeRequest {
        key: b"foo".to_vec(),
        ..Default::default()
    };
    let probed = progress.during(s.io, src.range(None, probe)).await;
    s.flush(&mut src);
    // etcdctl checks the prefix flags only once the copy is under way.
    let no_dest_prefix = s.inv.flags.bool("no-dest-prefix");
    let dest_prefix = s.inv.flags.string("dest-prefix").into_bytes();
    if no_dest_prefix && !dest_prefix.is_empty() {
        return Err(Error::bad_args(
            "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one",
        ));
    }
    let rename = Rename {
        to: if no_dest_prefix || !dest_prefix.is_empty() {
            dest_prefix
        } else {
            prefix.clone()
        },
        from: prefix.clone(),
    };
    let rev = probed?.header.unwrap_or_default().revision;

    let (mut key, range_end) = span(&prefix);
    loop {
        let page = RangeRequest {
            key: key.clone(),
            range_end: range_end.clone(),
            limit: BATCH_LIMIT,
            revision: rev,
            ..Default::default()
        };
        let page = progress.during(s.io, src.range(None, page)).await;
        s.flush(&mut src);
        let page = page?;
        for kv in &page.kvs {
            let put = PutRequest {
                key: rename.apply(&kv.key),
                value: kv.value.clone(),
                ..Default::default()
            };
            let written = progress.during(s.io, dst.put(None, put)).await;
            s.flush(&mut dst);
            written?;
            progress.total += 1;
        }
        match page.kvs.last() {
            Some(last) if page.more => key = [&last.key[..], &[0]].concat(),
            _ => break,
        }
    }

    let watcher = progress.during(s.io, src.watcher(false)).await;
    s.flush(&mut src);
    let mut watcher = watcher?;
    let (key, range_end) = span(&prefix);
    watcher.watch(WatchCreateRequest {
        key,
        range_end,
        start_revision: rev + 1,
        ..Default::default()
    });
    loop {
        let update = match progress.during(s.io, watcher.next()).await {
            Delivery::Update(_, update) => update,
            // The watch ended without an error etcdctl looks at: it
            // reports its nil error.
            Delivery::Closed(_) => return Err(Error::exit(exit::ERROR, "<nil>")),
        };
        if update.compact_revision != 0 {
            return Err(Error::exit(exit::ERROR, COMPACTED));
        }
        let events = update.events.unwrap_or_default();
        for ops in batches(&events, &rename)? {
            progress.total += i64::try_from(ops.len()).unwrap_or(i64::MAX);
            let txn = TxnRequest {
                success: ops,
                ..Default::default()
            };
            let written = progress.during(s.io, dst.txn(None, txn)).await;
            s.flush(&mut dst);
            written?;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use api::pb::mvccpb::KeyValue;

    fn rename(from: &str, to: &str) -> Rename {
        Rename {
            from: from.as_bytes().to_vec(),
            to: to.as_bytes().to_vec(),
        }
    }

    fn event(kind: EventType, key: &str, rev: i64) -> Event {
        Event {
            r#type: kind as i32,
            kv: Some(KeyValue {
                key: key.as_bytes().to_vec(),
                value: b"v".to_vec(),
                mod_revision: rev,
                ..Default::default()
            }),
            prev_kv: None,
        }
    }

    fn shown(op: &RequestOp) -> String {
        match &op.request {
            Some(Request::RequestPut(p)) => format!("put {}", String::from_utf8_lossy(&p.key)),
            Some(Request::RequestDeleteRange(d)) => {
                assert!(d.range_end.is_empty());
                format!("del {}", String::from_utf8_lossy(&d.key))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn renames_the_first_occurrence_like_strings_replace() {
        assert_eq!(rename("o_", "d_").apply(b"o_key"), b"d_key");
        assert_eq!(rename("o_", "").apply(b"o_key"), b"key");
        assert_eq!(rename("", "d_").apply(b"key"), b"d_key");
        assert_eq!(rename("", "").apply(b"key"), b"key");
        assert_eq!(rename("k", "K").apply(b"kkk"), b"Kkk");
        assert_eq!(rename("x", "y").apply(b"abc"), b"abc");
    }

    #[test]
    fn one_txn_per_revision() {
        let events = [
            event(EventType::Put, "o_a", 5),
            event(EventType::Delete, "o_b", 6),
            event(EventType::Delete, "o_c", 6),
            event(EventType::Put, "o_d", 7),
        ];
        let got: Vec<Vec<String>> = batches(&events, &rename("o_", "d_"))
            .unwrap()
            .iter()
            .map(|ops| ops.iter().map(shown).collect())
            .collect();
        assert_eq!(
            got,
            vec![
                vec!["put d_a".to_string()],
                vec!["del d_b".to_string(), "del d_c".to_string()],
                vec!["put d_d".to_string()],
            ]
        );
        assert!(batches(&[], &rename("", "")).unwrap().is_empty());
    }

    #[test]
    fn an_unknown_event_type_is_etcdctls_panic() {
        let mut odd = event(EventType::Put, "k", 1);
        odd.r#type = 7;
        assert!(matches!(
            batches(&[odd], &rename("", "")),
            Err(Error::Panic(_))
        ));
    }

    #[test]
    fn spans_cover_the_prefix_or_everything() {
        assert_eq!(span(b""), (vec![0], vec![0]));
        assert_eq!(span(b"o_"), (b"o_".to_vec(), b"o`".to_vec()));
    }
}
