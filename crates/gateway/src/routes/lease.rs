//! The Lease service: grants, revocations, keepalives and lookups. etcd
//! 3.4 also serves revoke, timetolive and leases under `/v3/kv/lease/`,
//! a spelling kept for older clients.

use api::RequestStream;
use api::pb::etcdserverpb::{
    LeaseGrantRequest, LeaseKeepAliveRequest, LeaseLeasesRequest, LeaseRevokeRequest,
    LeaseTimeToLiveRequest,
};

use super::{Route, Services};
use crate::streaming::{StreamReply, Streaming};
use crate::unary::{Unary, UnaryReply};

pub(super) const ROUTES: &[Route] = &[
    Route::unary("/v3/lease/grant", grant),
    Route::unary("/v3/lease/revoke", revoke),
    Route::unary("/v3/kv/lease/revoke", revoke),
    Route::stream("/v3/lease/keepalive", keep_alive),
    Route::unary("/v3/lease/timetolive", time_to_live),
    Route::unary("/v3/kv/lease/timetolive", time_to_live),
    Route::unary("/v3/lease/leases", leases),
    Route::unary("/v3/kv/lease/leases", leases),
];

fn grant(services: &Services, call: Unary) -> UnaryReply {
    let lease = services.lease();
    call.call(
        "etcdserverpb.LeaseGrantRequest",
        move |req: LeaseGrantRequest| async move { lease.lease_grant(req).await },
    )
}

fn revoke(services: &Services, call: Unary) -> UnaryReply {
    let lease = services.lease();
    call.call(
        "etcdserverpb.LeaseRevokeRequest",
        move |req: LeaseRevokeRequest| async move { lease.lease_revoke(req).await },
    )
}

fn keep_alive(services: &Services, call: Streaming) -> StreamReply {
    let lease = services.lease();
    call.bidi(
        "etcdserverpb.LeaseKeepAliveRequest",
        move |requests: RequestStream<LeaseKeepAliveRequest>| async move {
            lease.lease_keep_alive(requests).await
        },
    )
}

fn time_to_live(services: &Services, call: Unary) -> UnaryReply {
    let lease = services.lease();
    call.call(
        "etcdserverpb.LeaseTimeToLiveRequest",
        move |req: LeaseTimeToLiveRequest| async move { lease.lease_time_to_live(req).await },
    )
}

fn leases(services: &Services, call: Unary) -> UnaryReply {
    let lease = services.lease();
    call.call(
        "etcdserverpb.LeaseLeasesRequest",
        move |req: LeaseLeasesRequest| async move { lease.lease_leases(req).await },
    )
}
