//! Taking a waiter's key back out of the queue. etcd's servers do this when
//! the client gives up (its context is canceled) while waiting, and locks
//! also when waiting fails. Here giving up means dropping the call's future,
//! so the write is armed while the caller waits and, if dropped armed, runs
//! on a task of its own: a canceled call leaves no key behind to block the
//! queue until its lease expires.

use std::sync::Arc;

use api::Kv;
use api::pb::etcdserverpb::{DeleteRangeRequest, TxnRequest};
use tokio::runtime::Handle;

use crate::request::{created_at, delete, delete_op};

pub(crate) struct Withdrawal {
    kv: Arc<dyn Kv>,
    write: Option<Write>,
}

enum Write {
    /// A lock's key goes whoever created it (etcd's Mutex.Unlock).
    Delete(DeleteRangeRequest),
    /// A candidate's key goes only if it is still the one it created
    /// (etcd's Election.Resign).
    Resign(TxnRequest),
}

impl Withdrawal {
    pub(crate) fn delete(kv: Arc<dyn Kv>, key: &[u8]) -> Withdrawal {
        Withdrawal {
            kv,
            write: Some(Write::Delete(delete(key))),
        }
    }

    pub(crate) fn resign(kv: Arc<dyn Kv>, key: &[u8], create_revision: i64) -> Withdrawal {
        Withdrawal {
            kv,
            write: Some(Write::Resign(resign(key, create_revision))),
        }
    }

    /// The caller keeps its key.
    pub(crate) fn disarm(mut self) {
        self.write = None;
    }

    /// Withdraws now and waits for it. The write runs on its own task, so it
    /// completes even if this future is dropped half way.
    pub(crate) async fn now(mut self) {
        let Some(write) = self.write.take() else {
            return;
        };
        let kv = Arc::clone(&self.kv);
        match Handle::try_current() {
            Ok(runtime) => {
                // a failed task only means the write itself failed, which
                // `run` has already reported
                let _ = runtime.spawn(run(kv, write)).await;
            }
            Err(_) => run(kv, write).await,
        }
    }
}

impl Drop for Withdrawal {
    fn drop(&mut self) {
        let Some(write) = self.write.take() else {
            return;
        };
        match Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(run(Arc::clone(&self.kv), write));
            }
            Err(_) => tracing::warn!("abandoned waiter key left in place: no runtime to delete it"),
        }
    }
}

/// etcd ignores the outcome of a withdrawal; a failure is only worth a log
/// line, since the key's lease still bounds its life.
async fn run(kv: Arc<dyn Kv>, write: Write) {
    let result = match write {
        Write::Delete(req) => kv.delete_range(req).await.map(drop),
        Write::Resign(req) => kv.txn(req).await.map(drop),
    };
    if let Err(err) = result {
        tracing::warn!(%err, "withdrawing a waiter key failed");
    }
}

/// Deletes `key` if it was created at `create_revision`.
pub(crate) fn resign(key: &[u8], create_revision: i64) -> TxnRequest {
    TxnRequest {
        compare: vec![created_at(key, create_revision)],
        success: vec![delete_op(key)],
        failure: Vec::new(),
    }
}
