//! The Cluster service: membership as this member sees it, and changes to it.

use std::sync::Arc;

use api::pb::etcdserverpb::{
    MemberAddRequest, MemberListRequest, MemberPromoteRequest, MemberRemoveRequest,
    MemberUpdateRequest,
};

use super::{Route, Services};
use crate::unary::{Unary, UnaryReply};

pub(super) const ROUTES: &[Route] = &[
    Route::unary("/v3/cluster/member/add", member_add),
    Route::unary("/v3/cluster/member/remove", member_remove),
    Route::unary("/v3/cluster/member/update", member_update),
    Route::unary("/v3/cluster/member/list", member_list),
    Route::unary("/v3/cluster/member/promote", member_promote),
];

fn member_add(services: &Services, call: Unary) -> UnaryReply {
    let cluster = Arc::clone(&services.cluster);
    call.call(
        "etcdserverpb.MemberAddRequest",
        move |req: MemberAddRequest| async move { cluster.member_add(req).await },
    )
}

fn member_remove(services: &Services, call: Unary) -> UnaryReply {
    let cluster = Arc::clone(&services.cluster);
    call.call(
        "etcdserverpb.MemberRemoveRequest",
        move |req: MemberRemoveRequest| async move { cluster.member_remove(req).await },
    )
}

fn member_update(services: &Services, call: Unary) -> UnaryReply {
    let cluster = Arc::clone(&services.cluster);
    call.call(
        "etcdserverpb.MemberUpdateRequest",
        move |req: MemberUpdateRequest| async move { cluster.member_update(req).await },
    )
}

fn member_list(services: &Services, call: Unary) -> UnaryReply {
    let cluster = Arc::clone(&services.cluster);
    call.call(
        "etcdserverpb.MemberListRequest",
        move |req: MemberListRequest| async move { cluster.member_list(req).await },
    )
}

fn member_promote(services: &Services, call: Unary) -> UnaryReply {
    let cluster = Arc::clone(&services.cluster);
    call.call(
        "etcdserverpb.MemberPromoteRequest",
        move |req: MemberPromoteRequest| async move { cluster.member_promote(req).await },
    )
}
