//! Waiting for keys to go away (`waitDelete`, `waitDeletes`): the newest
//! key under a prefix created at or before a revision is watched until it
//! is deleted, then the next one, until none is left.

use api::pb::etcdserverpb::range_request::SortOrder;
use api::pb::etcdserverpb::{ResponseHeader, WatchCreateRequest};
use api::pb::mvccpb::event::EventType;

use super::{by_create, failed};
use crate::client::{Client, Delivery, WatchUpdate};
use crate::error::Error;

/// Watches `key` from `rev` until a deletion shows up.
async fn wait_delete(client: &mut Client, key: &[u8], rev: i64) -> Result<(), Error> {
    let mut watcher = client.watcher(false).await?;
    watcher.watch(WatchCreateRequest {
        key: key.to_vec(),
        start_revision: rev,
        ..Default::default()
    });
    let mut last: Option<WatchUpdate> = None;
    while let Delivery::Update(_, update) = watcher.next().await {
        let deleted = update
            .events
            .iter()
            .flatten()
            .any(|e| e.r#type == EventType::Delete as i32);
        if deleted {
            return Ok(());
        }
        last = Some(update);
    }
    match last.and_then(|u| u.err()) {
        Some(err) => Err(failed(&err)),
        None => Err(failed("lost watcher waiting for delete")),
    }
}

/// Returns once no key under `prefix` has a create revision at or below
/// `max_create_rev`, with the header of the read that found none.
pub async fn wait_deletes(
    client: &mut Client,
    prefix: &[u8],
    max_create_rev: i64,
) -> Result<ResponseHeader, Error> {
    loop {
        let mut req = by_create(prefix, SortOrder::Descend);
        req.max_create_revision = max_create_rev;
        let resp = client.range(None, req).await?;
        let header = resp.header.unwrap_or_default();
        let Some(last) = resp.kvs.first() else {
            return Ok(header);
        };
        wait_delete(client, &last.key, header.revision).await?;
    }
}
