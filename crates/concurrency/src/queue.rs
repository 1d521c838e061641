//! Waiting for one's turn (etcd's waitDeletes). The waiters of one election
//! or lock form a queue ordered by the creation revision of their keys; a
//! waiter's turn comes when every key created before its own is gone.

use api::pb::etcdserverpb::ResponseHeader;
use api::{Kv, Watch};

use crate::request::header;
use crate::watcher::{Watcher, is_delete};
use crate::{Error, key};

/// Returns once no key under `prefix` was created at or before
/// `max_create_revision`, with the header of the read that saw so.
///
/// It waits on the youngest older key only, then looks again: each delete
/// wakes the one waiter right behind it instead of the whole queue.
pub(crate) async fn wait_for_turn(
    kv: &dyn Kv,
    watch: &dyn Watch,
    prefix: &[u8],
    max_create_revision: i64,
) -> Result<ResponseHeader, Error> {
    loop {
        let resp = kv
            .range(key::last_created(prefix, max_create_revision))
            .await?;
        let header = header(resp.header)?;
        let Some(ahead) = resp.kvs.into_iter().next() else {
            return Ok(header);
        };
        wait_for_delete(watch, ahead.key, header.revision).await?;
    }
}

/// Watching from the revision of the read that found `key` catches a delete
/// that happened between the read and the watch.
async fn wait_for_delete(watch: &dyn Watch, key: Vec<u8>, revision: i64) -> Result<(), Error> {
    let mut watcher = Watcher::open(watch, key, Vec::new(), revision).await;
    loop {
        if watcher.next().await?.events.iter().any(is_delete) {
            return Ok(());
        }
    }
}
