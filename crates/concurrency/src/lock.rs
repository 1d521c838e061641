//! etcd's v3lock service (etcdserver/api/v3lock over clientv3/concurrency's
//! Mutex).

use std::sync::Arc;

use api::pb::etcdserverpb::TxnRequest;
use api::pb::v3lockpb::{LockRequest, LockResponse, UnlockRequest, UnlockResponse};
use api::{Kv, Lease, Watch};

use crate::request::{created_at, delete, get, get_key, header, put, range_result};
use crate::withdraw::Withdrawal;
use crate::{Error, key, queue, session};

/// A distributed mutex on keys under `<name>/`: the holder is the caller
/// whose key was created first; the others wait in creation order.
pub struct LockService {
    kv: Arc<dyn Kv>,
    watch: Arc<dyn Watch>,
    lease: Arc<dyn Lease>,
}

impl LockService {
    /// Over the server's own services, which stand in for the in-process
    /// client etcd runs this service on; their errors reach the caller
    /// with their text and gRPC code Unknown, as through etcd's client.
    pub fn new(kv: Arc<dyn Kv>, watch: Arc<dyn Watch>, lease: Arc<dyn Lease>) -> Self {
        LockService { kv, watch, lease }
    }

    async fn acquire(&self, req: LockRequest) -> Result<LockResponse, Error> {
        let lease = session::lease_of(&*self.lease, req.lease).await?;
        let prefix = key::prefix(&req.name);
        let my_key = key::waiter(&prefix, lease);
        // reading the holder in the same txn settles the uncontended case
        // in one round trip
        let holder = get(key::first_created(&prefix));
        let resp = self
            .kv
            .txn(TxnRequest {
                compare: vec![created_at(&my_key, 0)],
                success: vec![put(&my_key, Vec::new(), lease), holder.clone()],
                failure: vec![get_key(&my_key), holder],
            })
            .await?;
        let my_rev = if resp.succeeded {
            None
        } else {
            // the caller's lease already queues here (or holds the lock)
            let mine = range_result(&resp, 0).and_then(|r| r.kvs.first());
            let mine = mine.ok_or(Error::UnexpectedResponse("txn without the existing key"))?;
            Some(mine.create_revision)
        };
        let holder_rev = range_result(&resp, 1)
            .and_then(|r| r.kvs.first())
            .map(|kv| kv.create_revision);
        let header = header(resp.header)?;
        let my_rev = my_rev.unwrap_or(header.revision);
        if holder_rev.is_none_or(|rev| rev == my_rev) {
            return Ok(LockResponse {
                header: Some(header),
                key: my_key,
            });
        }
        let withdrawal = Withdrawal::delete(Arc::clone(&self.kv), &my_key);
        match queue::wait_for_turn(&*self.kv, &*self.watch, &prefix, my_rev - 1).await {
            Ok(header) => {
                withdrawal.disarm();
                Ok(LockResponse {
                    header: Some(header),
                    key: my_key,
                })
            }
            Err(err) => {
                // a waiter that cannot wait leaves the queue, as etcd's does
                withdrawal.now().await;
                Err(err)
            }
        }
    }

    async fn release(&self, req: UnlockRequest) -> Result<UnlockResponse, Error> {
        let resp = self.kv.delete_range(delete(&req.key)).await?;
        Ok(UnlockResponse {
            header: resp.header,
        })
    }
}

#[async_trait::async_trait]
impl api::Lock for LockService {
    async fn lock(&self, req: LockRequest) -> Result<LockResponse, api::Error> {
        Ok(self.acquire(req).await?)
    }

    async fn unlock(&self, req: UnlockRequest) -> Result<UnlockResponse, api::Error> {
        Ok(self.release(req).await?)
    }
}
