//! The Cluster service: this member's view of the membership.

use std::sync::Arc;

use api::pb::etcdserverpb::MemberListRequest;

use super::{Route, Services};
use crate::unary::{Unary, UnaryReply};

pub(super) const ROUTES: &[Route] = &[Route::unary("/v3/cluster/member/list", member_list)];

fn member_list(services: &Services, call: Unary) -> UnaryReply {
    let cluster = Arc::clone(&services.cluster);
    call.call(
        "etcdserverpb.MemberListRequest",
        move |req: MemberListRequest| async move { cluster.member_list(req).await },
    )
}
