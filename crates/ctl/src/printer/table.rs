//! The `table` format, which etcdctl offers for `member list` and the
//! endpoint commands only.

use api::pb::etcdserverpb::MemberListResponse;

use super::{EpHashKv, EpHealth, EpStatus, tablewriter};
use crate::error::Error;
use crate::io::Io;

pub fn endpoint_health(io: &mut Io<'_>, list: &[EpHealth]) -> Result<(), Error> {
    let t = tablewriter::render(
        &["endpoint", "health", "took", "error"],
        &super::health_rows(list),
    );
    io.print(&t);
    Ok(())
}

pub fn endpoint_status(io: &mut Io<'_>, list: &[EpStatus]) -> Result<(), Error> {
    let header = [
        "endpoint",
        "ID",
        "version",
        "db size",
        "is leader",
        "is learner",
        "raft term",
        "raft index",
        "raft applied index",
        "errors",
    ];
    io.print(&tablewriter::render(&header, &super::status_rows(list)));
    Ok(())
}

pub fn endpoint_hashkv(io: &mut Io<'_>, list: &[EpHashKv]) -> Result<(), Error> {
    io.print(&tablewriter::render(
        &["endpoint", "hash"],
        &super::hashkv_rows(list),
    ));
    Ok(())
}

pub fn member_list(io: &mut Io<'_>, r: &MemberListResponse) -> Result<(), Error> {
    let header = [
        "ID",
        "Status",
        "Name",
        "Peer Addrs",
        "Client Addrs",
        "Is Learner",
    ];
    io.print(&tablewriter::render(&header, &super::member_rows(r)));
    Ok(())
}
