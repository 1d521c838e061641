//! The v3lock service: taking and releasing named locks.

use api::pb::v3lockpb::{LockRequest, UnlockRequest};

use super::{Route, Services};
use crate::unary::{Unary, UnaryReply};

pub(super) const ROUTES: &[Route] = &[
    Route::unary("/v3/lock/lock", lock),
    Route::unary("/v3/lock/unlock", unlock),
];

fn lock(services: &Services, call: Unary) -> UnaryReply {
    let lock = services.lock();
    call.call("v3lockpb.LockRequest", move |req: LockRequest| async move {
        lock.lock(req).await
    })
}

fn unlock(services: &Services, call: Unary) -> UnaryReply {
    let lock = services.lock();
    call.call(
        "v3lockpb.UnlockRequest",
        move |req: UnlockRequest| async move { lock.unlock(req).await },
    )
}
