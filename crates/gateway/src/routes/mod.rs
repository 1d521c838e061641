//! The route table: one file per etcd service, each a list of the HTTP
//! paths grpc-gateway registers for it (see etcd's `rpc.pb.gw.go`,
//! `v3lock.pb.gw.go` and `v3election.pb.gw.go`) and the function that
//! serves each. A new service adds a file with its `ROUTES` and a line in
//! [`SERVICES`]. Only `/v3/` paths are listed; the
//! `/v3beta/` alias is handled before lookup.

mod cluster;
mod election;
mod kv;
mod lease;
mod lock;
mod maintenance;
mod watch;

use crate::services::Services;
use crate::streaming::{StreamReply, Streaming};
use crate::unary::{Unary, UnaryReply};

/// How a route is served.
#[derive(Clone, Copy)]
pub(crate) enum Handler {
    /// One JSON request, one JSON response.
    Unary(fn(&Services, Unary) -> UnaryReply),
    /// JSON requests in (one, or a stream of them), newline-delimited JSON
    /// responses out.
    Stream(fn(&Services, Streaming) -> StreamReply),
}

/// One HTTP path and its handler; every route is POST.
pub(crate) struct Route {
    pub(crate) path: &'static str,
    pub(crate) handler: Handler,
}

impl Route {
    pub(crate) const fn unary(
        path: &'static str,
        serve: fn(&Services, Unary) -> UnaryReply,
    ) -> Self {
        Self {
            path,
            handler: Handler::Unary(serve),
        }
    }

    pub(crate) const fn stream(
        path: &'static str,
        serve: fn(&Services, Streaming) -> StreamReply,
    ) -> Self {
        Self {
            path,
            handler: Handler::Stream(serve),
        }
    }
}

/// Every service's routes, in the order etcd registers its services. When
/// two routes share a path the first wins, as in grpc-gateway.
const SERVICES: &[&[Route]] = &[
    kv::ROUTES,
    watch::ROUTES,
    lease::ROUTES,
    cluster::ROUTES,
    maintenance::ROUTES,
    lock::ROUTES,
    election::ROUTES,
];

/// The route serving `path`.
pub(crate) fn find(path: &[u8]) -> Option<&'static Route> {
    SERVICES
        .iter()
        .flat_map(|routes| routes.iter())
        .find(|route| route.path.as_bytes() == path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The paths etcd 3.4's gateway registers for these services
    /// (rpc.pb.gw.go, v3lock.pb.gw.go, v3election.pb.gw.go), less HashKV,
    /// which shares Hash's path, Snapshot (not served yet) and Auth (a later
    /// issue).
    #[test]
    fn paths_are_etcds() {
        let paths: Vec<&str> = SERVICES
            .iter()
            .flat_map(|routes| routes.iter())
            .map(|route| route.path)
            .collect();
        assert_eq!(
            paths,
            [
                "/v3/kv/range",
                "/v3/kv/put",
                "/v3/kv/deleterange",
                "/v3/kv/txn",
                "/v3/kv/compaction",
                "/v3/watch",
                "/v3/lease/grant",
                "/v3/lease/revoke",
                "/v3/kv/lease/revoke",
                "/v3/lease/keepalive",
                "/v3/lease/timetolive",
                "/v3/kv/lease/timetolive",
                "/v3/lease/leases",
                "/v3/kv/lease/leases",
                "/v3/cluster/member/add",
                "/v3/cluster/member/remove",
                "/v3/cluster/member/update",
                "/v3/cluster/member/list",
                "/v3/cluster/member/promote",
                "/v3/maintenance/alarm",
                "/v3/maintenance/status",
                "/v3/maintenance/defragment",
                "/v3/maintenance/hash",
                "/v3/maintenance/transfer-leadership",
                "/v3/lock/lock",
                "/v3/lock/unlock",
                "/v3/election/campaign",
                "/v3/election/proclaim",
                "/v3/election/leader",
                "/v3/election/observe",
                "/v3/election/resign",
            ]
        );
        assert!(find(b"/v3/kv/range").is_some());
        assert!(find(b"/v3/kv/range/").is_none());
        assert!(find(b"/v3beta/kv/range").is_none());
        assert!(find(b"/v3/lock").is_none());
        assert!(matches!(
            find(b"/v3/election/observe").map(|route| route.handler),
            Some(Handler::Stream(_))
        ));
    }
}
