//! `concurrency.Election`: campaigning (create the session's key under the
//! election's prefix, then wait until every older key is gone), resigning
//! (delete it if it is still ours) and observing (follow whichever key is
//! oldest, reporting its puts, until it is deleted).

use api::pb::etcdserverpb::range_request::SortOrder;
use api::pb::etcdserverpb::{RangeResponse, TxnRequest, WatchCreateRequest};
use api::pb::mvccpb::KeyValue;
use api::pb::mvccpb::event::EventType;

use super::deletion::wait_deletes;
use super::session::Session;
use super::{
    by_create, create_revision_is, delete, failed, first_kv_of, get_key, missing, put, session_key,
};
use crate::client::{Client, Delivery};
use crate::error::Error;
use crate::keys::prefix_end;

const NOT_LEADER: &str = "election: not leader";

pub struct Election {
    /// The election's name and a slash.
    prefix: Vec<u8>,
    lease: i64,
    /// The key this candidate holds and its create revision.
    leader: Option<(Vec<u8>, i64)>,
}

fn with_slash(name: &[u8]) -> Vec<u8> {
    let mut prefix = name.to_vec();
    prefix.push(b'/');
    prefix
}

impl Election {
    pub fn new(session: &Session, name: &[u8]) -> Election {
        Election {
            prefix: with_slash(name),
            lease: session.lease(),
            leader: None,
        }
    }

    /// `Campaign`: returns once this candidate leads. A failure after the
    /// key was created leaves it to the caller to [`Election::resign`].
    pub async fn campaign(&mut self, client: &mut Client, value: &[u8]) -> Result<(), Error> {
        let key = session_key(&self.prefix, self.lease);
        let txn = TxnRequest {
            compare: vec![create_revision_is(&key, 0)],
            success: vec![put(&key, value, self.lease)],
            failure: vec![get_key(&key)],
        };
        let resp = client.txn(None, txn).await?;
        let mut rev = resp.header.unwrap_or_default().revision;
        self.leader = Some((key.clone(), rev));
        if !resp.succeeded {
            let kv = first_kv_of(&resp, 0).ok_or_else(missing)?;
            rev = kv.create_revision;
            let differs = kv.value != value;
            self.leader = Some((key, rev));
            if differs && let Err(e) = self.proclaim(client, value).await {
                let _ = self.resign(client).await;
                return Err(e);
            }
        }
        if let Err(e) = wait_deletes(client, &self.prefix, rev - 1).await {
            self.leader = None;
            return Err(e);
        }
        Ok(())
    }

    /// `Proclaim`: a new value under the key this candidate leads with.
    async fn proclaim(&mut self, client: &mut Client, value: &[u8]) -> Result<(), Error> {
        let Some((key, rev)) = self.leader.clone() else {
            return Err(failed(NOT_LEADER));
        };
        let txn = TxnRequest {
            compare: vec![create_revision_is(&key, rev)],
            success: vec![put(&key, value, self.lease)],
            failure: Vec::new(),
        };
        if client.txn(None, txn).await?.succeeded {
            return Ok(());
        }
        self.leader = None;
        Err(failed(NOT_LEADER))
    }

    /// `Resign`: deletes the key if it is still the one campaigned with.
    pub async fn resign(&mut self, client: &mut Client) -> Result<(), Error> {
        let Some((key, rev)) = self.leader.take() else {
            return Ok(());
        };
        let txn = TxnRequest {
            compare: vec![create_revision_is(&key, rev)],
            success: vec![delete(&key)],
            failure: Vec::new(),
        };
        client.txn(None, txn).await.map(|_| ())
    }

    /// `Key()`: the key campaigned with, empty when there is none.
    pub fn key(&self) -> Vec<u8> {
        self.leader.clone().map(|(k, _)| k).unwrap_or_default()
    }
}

/// The first put under `prefix` from revision `rev` on.
async fn first_put(
    client: &mut Client,
    prefix: &[u8],
    rev: i64,
) -> Option<(api::pb::etcdserverpb::ResponseHeader, KeyValue)> {
    let mut watcher = client.watcher(false).await.ok()?;
    watcher.watch(WatchCreateRequest {
        key: prefix.to_vec(),
        range_end: prefix_end(prefix),
        start_revision: rev,
        ..Default::default()
    });
    loop {
        let Delivery::Update(_, update) = watcher.next().await else {
            return None;
        };
        if update.err().is_some() {
            return None;
        }
        let put = update
            .events
            .iter()
            .flatten()
            .find(|e| e.r#type == EventType::Put as i32);
        if let Some(kv) = put.and_then(|e| e.kv.clone()) {
            let mut header = update.header;
            header.revision = kv.mod_revision;
            return Some((header, kv));
        }
    }
}

/// `Observe`: hands `on_leader` the current leader's key and value, then
/// each new value it puts, then the next leader's, and so on. Returns
/// `Ok` when a read or watch fails (clientv3 closes the channel), or the
/// first error `on_leader` returns.
pub async fn observe(
    client: &mut Client,
    name: &[u8],
    mut on_leader: impl FnMut(&RangeResponse) -> Result<(), Error>,
) -> Result<(), Error> {
    let prefix = with_slash(name);
    loop {
        let Ok(mut resp) = client
            .range(None, by_create(&prefix, SortOrder::Ascend))
            .await
        else {
            return Ok(());
        };
        let (header, kv) = match resp.kvs.first() {
            Some(kv) => (resp.header.unwrap_or_default(), kv.clone()),
            None => {
                let rev = resp.header.unwrap_or_default().revision;
                match first_put(client, &prefix, rev).await {
                    Some(found) => found,
                    None => return Ok(()),
                }
            }
        };
        on_leader(&RangeResponse {
            header: Some(header),
            kvs: vec![kv.clone()],
            ..Default::default()
        })?;
        let mut watcher = client.watcher(false).await?;
        watcher.watch(WatchCreateRequest {
            key: kv.key.clone(),
            start_revision: header.revision + 1,
            ..Default::default()
        });
        'leader: loop {
            let Delivery::Update(_, update) = watcher.next().await else {
                return Ok(());
            };
            for event in update.events.iter().flatten() {
                if event.r#type == EventType::Delete as i32 {
                    break 'leader;
                }
                resp.header = Some(update.header);
                resp.kvs = event.kv.clone().into_iter().collect();
                on_leader(&resp)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_prefix_and_the_lease_in_hex() {
        assert_eq!(with_slash(b"e"), b"e/");
        assert_eq!(
            session_key(b"e/", 0x694d7bd6e7dcd13a),
            b"e/694d7bd6e7dcd13a"
        );
        assert_eq!(session_key(b"e/", 0x4d), b"e/4d");
    }
}
