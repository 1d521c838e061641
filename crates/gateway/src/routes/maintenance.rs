//! The Maintenance service's read and housekeeping calls.
//!
//! etcd registers both Hash and HashKV at `/v3/maintenance/hash`;
//! grpc-gateway serves the first registered, so HashKV is unreachable over
//! HTTP in etcd 3.4 and is not routed here either.

use std::sync::Arc;

use api::pb::etcdserverpb::{
    AlarmRequest, DefragmentRequest, HashRequest, MoveLeaderRequest, StatusRequest,
};

use super::{Route, Services};
use crate::unary::{Unary, UnaryReply};

pub(super) const ROUTES: &[Route] = &[
    Route::unary("/v3/maintenance/alarm", alarm),
    Route::unary("/v3/maintenance/status", status),
    Route::unary("/v3/maintenance/defragment", defragment),
    Route::unary("/v3/maintenance/hash", hash),
    Route::unary("/v3/maintenance/transfer-leadership", move_leader),
];

fn alarm(services: &Services, call: Unary) -> UnaryReply {
    let maintenance = Arc::clone(&services.maintenance);
    call.call(
        "etcdserverpb.AlarmRequest",
        move |req: AlarmRequest| async move { maintenance.alarm(req).await },
    )
}

fn status(services: &Services, call: Unary) -> UnaryReply {
    let maintenance = Arc::clone(&services.maintenance);
    call.call(
        "etcdserverpb.StatusRequest",
        move |req: StatusRequest| async move { maintenance.status(req).await },
    )
}

fn defragment(services: &Services, call: Unary) -> UnaryReply {
    let maintenance = Arc::clone(&services.maintenance);
    call.call(
        "etcdserverpb.DefragmentRequest",
        move |req: DefragmentRequest| async move { maintenance.defragment(req).await },
    )
}

fn hash(services: &Services, call: Unary) -> UnaryReply {
    let maintenance = Arc::clone(&services.maintenance);
    call.call(
        "etcdserverpb.HashRequest",
        move |req: HashRequest| async move { maintenance.hash(req).await },
    )
}

fn move_leader(services: &Services, call: Unary) -> UnaryReply {
    let maintenance = Arc::clone(&services.maintenance);
    call.call(
        "etcdserverpb.MoveLeaderRequest",
        move |req: MoveLeaderRequest| async move { maintenance.move_leader(req).await },
    )
}
