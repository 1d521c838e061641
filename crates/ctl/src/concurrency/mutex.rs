//! `concurrency.Mutex`: the session's key under the lock's prefix, created
//! in the same txn that reads the oldest key there; the lock is held once
//! no older key is left.

use api::pb::etcdserverpb::range_request::SortOrder;
use api::pb::etcdserverpb::{DeleteRangeRequest, ResponseHeader, TxnRequest};

use super::deletion::wait_deletes;
use super::session::Session;
use super::{by_create, create_revision_is, first_kv_of, get, get_key, missing, put, session_key};
use crate::client::Client;
use crate::error::Error;

pub struct Mutex {
    /// The lock's name and a slash.
    prefix: Vec<u8>,
    lease: i64,
    /// The waiter's key once the server has it.
    key: Option<Vec<u8>>,
    header: ResponseHeader,
}

impl Mutex {
    pub fn new(session: &Session, name: &[u8]) -> Mutex {
        let mut prefix = name.to_vec();
        prefix.push(b'/');
        Mutex {
            prefix,
            lease: session.lease(),
            key: None,
            header: ResponseHeader::default(),
        }
    }

    /// `Lock`: returns holding the lock. If waiting fails, the key is
    /// deleted again.
    pub async fn lock(&mut self, client: &mut Client) -> Result<(), Error> {
        let key = session_key(&self.prefix, self.lease);
        let owner = get(by_create(&self.prefix, SortOrder::Ascend));
        let txn = TxnRequest {
            compare: vec![create_revision_is(&key, 0)],
            success: vec![put(&key, b"", self.lease), owner.clone()],
            failure: vec![get_key(&key), owner],
        };
        let resp = client.txn(None, txn).await?;
        self.key = Some(key);
        let header = resp.header.unwrap_or_default();
        let my_rev = if resp.succeeded {
            header.revision
        } else {
            first_kv_of(&resp, 0).ok_or_else(missing)?.create_revision
        };
        let holder = first_kv_of(&resp, 1).map(|kv| kv.create_revision);
        if holder.is_none_or(|rev| rev == my_rev) {
            self.header = header;
            return Ok(());
        }
        match wait_deletes(client, &self.prefix, my_rev - 1).await {
            Ok(h) => {
                self.header = h;
                Ok(())
            }
            Err(e) => {
                let _ = self.unlock(client).await;
                Err(e)
            }
        }
    }

    /// `Unlock`: deletes the key.
    pub async fn unlock(&mut self, client: &mut Client) -> Result<(), Error> {
        let Some(key) = self.key.clone() else {
            return Ok(());
        };
        let req = DeleteRangeRequest {
            key,
            ..Default::default()
        };
        client.delete_range(None, req).await?;
        self.key = None;
        Ok(())
    }

    /// Whether the server holds this waiter's key (so a canceled `lock`
    /// must delete it).
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// `Key()`.
    pub fn key(&self) -> Vec<u8> {
        self.key.clone().unwrap_or_default()
    }

    /// `Header()`: the answer the lock was taken with.
    pub fn header(&self) -> ResponseHeader {
        self.header
    }
}
