//! etcdctl's `--write-out` formats. [`Display`] picks the format's printer
//! for each kind of result; a format that has no printer for a result fails
//! with etcdctl's `<format> not supported as output format` (exit 4) after
//! the request already ran, as etcdctl does.

mod fields;
mod json;
mod protobuf;
mod simple;
mod table;
pub mod tablewriter;

use api::pb::etcdserverpb::{
    DeleteRangeResponse, HashKvResponse, LeaseGrantResponse, LeaseKeepAliveResponse,
    LeaseLeasesResponse, LeaseRevokeResponse, LeaseTimeToLiveResponse, MemberAddResponse,
    MemberListResponse, MemberPromoteResponse, MemberRemoveResponse, MemberUpdateResponse,
    MoveLeaderResponse, PutResponse, RangeResponse, StatusResponse, TxnResponse,
};

use crate::client::WatchUpdate;
use crate::error::Error;
use crate::exit;
use crate::io::Io;

/// One endpoint's answer to `endpoint health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpHealth {
    pub endpoint: String,
    pub health: bool,
    /// How long the check took, in Go's duration format.
    pub took: String,
    pub error: String,
}

/// One endpoint's answer to `endpoint status`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpStatus {
    pub endpoint: String,
    pub status: StatusResponse,
}

/// One endpoint's answer to `endpoint hashkv`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpHashKv {
    pub endpoint: String,
    pub hash: HashKvResponse,
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Simple,
    Json,
    Fields,
    Table,
    Protobuf,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Simple => "simple",
            Format::Json => "json",
            Format::Fields => "fields",
            Format::Table => "table",
            Format::Protobuf => "protobuf",
        }
    }
}

/// The printer etcdctl's `display` variable holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Display {
    pub format: Format,
    /// `--hex` (simple format only).
    pub hex: bool,
    /// `--print-value-only` (simple format only).
    pub value_only: bool,
}

fn unsupported(format: Format) -> Error {
    Error::exit(
        exit::BAD_FEATURE,
        format!("{} not supported as output format", format.name()),
    )
}

impl Display {
    /// `NewPrinter`: `None` for an unknown format.
    pub fn new(name: &str, hex: bool) -> Option<Display> {
        let format = match name {
            "simple" => Format::Simple,
            "json" => Format::Json,
            "fields" => Format::Fields,
            "table" => Format::Table,
            "protobuf" => Format::Protobuf,
            _ => return None,
        };
        Some(Display {
            format,
            hex,
            value_only: false,
        })
    }

    pub fn get(&self, io: &mut Io<'_>, r: &RangeResponse) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::get(io, self, r),
            Format::Json => json::print(io, json::range(r)),
            Format::Fields => fields::get(io, r),
            Format::Protobuf => protobuf::print(io, r),
            Format::Table => Err(unsupported(self.format)),
        }
    }

    pub fn put(&self, io: &mut Io<'_>, r: &PutResponse) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::put(io, self, r),
            Format::Json => json::print(io, json::put(r)),
            Format::Fields => fields::put(io, r),
            Format::Protobuf => protobuf::print(io, r),
            Format::Table => Err(unsupported(self.format)),
        }
    }

    pub fn del(&self, io: &mut Io<'_>, r: &DeleteRangeResponse) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::del(io, self, r),
            Format::Json => json::print(io, json::delete(r)),
            Format::Fields => fields::del(io, r),
            Format::Protobuf => protobuf::print(io, r),
            Format::Table => Err(unsupported(self.format)),
        }
    }

    pub fn txn(&self, io: &mut Io<'_>, r: &TxnResponse) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::txn(io, self, r),
            Format::Json => json::print(io, json::txn(r)),
            Format::Fields => fields::txn(io, r),
            Format::Protobuf => protobuf::print(io, r),
            Format::Table => Err(unsupported(self.format)),
        }
    }

    pub fn watch(&self, io: &mut Io<'_>, r: &WatchUpdate) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::watch(io, self, r),
            Format::Json => json::print(io, json::watch(r)),
            Format::Fields => fields::watch(io, r),
            Format::Protobuf => protobuf::watch(io, r),
            Format::Table => Err(unsupported(self.format)),
        }
    }

    pub fn grant(&self, io: &mut Io<'_>, r: &LeaseGrantResponse) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::grant(io, r),
            Format::Json => json::print(io, json::grant(r)),
            Format::Fields => fields::grant(io, r),
            Format::Protobuf => protobuf::header_of(io, r.header.as_ref()),
            Format::Table => Err(unsupported(self.format)),
        }
    }

    /// `Revoke(id, resp)`: the simple format names the lease asked for.
    pub fn revoke(&self, io: &mut Io<'_>, id: i64, r: &LeaseRevokeResponse) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::revoke(io, id),
            Format::Json => json::print(io, json::revoke(r)),
            Format::Fields => fields::revoke(io, r),
            Format::Protobuf => Err(protobuf::revoke_unsupported(r)),
            Format::Table => Err(unsupported(self.format)),
        }
    }

    pub fn keep_alive(&self, io: &mut Io<'_>, r: &LeaseKeepAliveResponse) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::keep_alive(io, r),
            Format::Json => json::print(io, json::keep_alive(r)),
            Format::Fields => fields::keep_alive(io, r),
            Format::Protobuf => protobuf::header_of(io, r.header.as_ref()),
            Format::Table => Err(unsupported(self.format)),
        }
    }

    /// `TimeToLive(resp, keys)`: the simple format lists the keys only
    /// when they were asked for.
    pub fn time_to_live(
        &self,
        io: &mut Io<'_>,
        r: &LeaseTimeToLiveResponse,
        keys: bool,
    ) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::time_to_live(io, r, keys),
            Format::Json => json::print(io, json::time_to_live(r)),
            Format::Fields => fields::time_to_live(io, r),
            Format::Protobuf => protobuf::header_of(io, r.header.as_ref()),
            Format::Table => Err(unsupported(self.format)),
        }
    }

    pub fn leases(&self, io: &mut Io<'_>, r: &LeaseLeasesResponse) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::leases(io, r),
            Format::Json => json::print(io, json::leases(r)),
            Format::Fields => fields::leases(io, r),
            Format::Protobuf => protobuf::header_of(io, r.header.as_ref()),
            Format::Table => Err(unsupported(self.format)),
        }
    }

    /// Whether this is the simple format, after which `lease keep-alive`
    /// says the lease is gone.
    pub fn is_simple(&self) -> bool {
        self.format == Format::Simple
    }

    pub fn member_add(&self, io: &mut Io<'_>, r: &MemberAddResponse) -> Result<(), Error> {
        match self.format {
            Format::Simple => {
                let id = r.member.as_ref().map_or(0, |m| m.id);
                simple::membership(io, id, "added to", r.header.as_ref())
            }
            Format::Json => json::print(io, json::member_add(r)),
            Format::Protobuf => protobuf::print(io, r),
            Format::Fields | Format::Table => Err(unsupported(self.format)),
        }
    }

    pub fn member_remove(
        &self,
        io: &mut Io<'_>,
        id: u64,
        r: &MemberRemoveResponse,
    ) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::membership(io, id, "removed from", r.header.as_ref()),
            Format::Json => json::print(io, json::membership(r.header.as_ref(), &r.members)),
            Format::Protobuf => protobuf::print(io, r),
            Format::Fields | Format::Table => Err(unsupported(self.format)),
        }
    }

    pub fn member_update(
        &self,
        io: &mut Io<'_>,
        id: u64,
        r: &MemberUpdateResponse,
    ) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::membership(io, id, "updated in", r.header.as_ref()),
            Format::Json => json::print(io, json::membership(r.header.as_ref(), &r.members)),
            Format::Protobuf => protobuf::print(io, r),
            Format::Fields | Format::Table => Err(unsupported(self.format)),
        }
    }

    /// etcdctl's printers other than `simple` have no `MemberPromote`: the
    /// call lands on a nil embedded printer and the process panics.
    pub fn member_promote(
        &self,
        io: &mut Io<'_>,
        id: u64,
        r: &MemberPromoteResponse,
    ) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::membership(io, id, "promoted in", r.header.as_ref()),
            _ => Err(Error::Panic(
                "runtime error: invalid memory address or nil pointer dereference".to_string(),
            )),
        }
    }

    pub fn member_list(&self, io: &mut Io<'_>, r: &MemberListResponse) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::member_list(io, r),
            Format::Json => json::print(io, json::membership(r.header.as_ref(), &r.members)),
            Format::Fields => fields::member_list(io, r),
            Format::Table => table::member_list(io, r),
            Format::Protobuf => protobuf::print(io, r),
        }
    }

    pub fn move_leader(
        &self,
        io: &mut Io<'_>,
        leader: u64,
        target: u64,
        r: &MoveLeaderResponse,
    ) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::move_leader(io, leader, target),
            Format::Json => json::print(io, json::move_leader(r)),
            Format::Protobuf => protobuf::print(io, r),
            Format::Fields | Format::Table => Err(unsupported(self.format)),
        }
    }

    pub fn endpoint_health(&self, io: &mut Io<'_>, list: &[EpHealth]) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::endpoint_health(io, list),
            Format::Json => json::print(io, json::endpoint_health(list)),
            Format::Fields => fields::endpoint_health(io, list),
            Format::Table => table::endpoint_health(io, list),
            Format::Protobuf => Err(unsupported(self.format)),
        }
    }

    pub fn endpoint_status(&self, io: &mut Io<'_>, list: &[EpStatus]) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::endpoint_status(io, list),
            Format::Json => json::print(io, json::endpoint_status(list)),
            Format::Fields => fields::endpoint_status(io, list),
            Format::Table => table::endpoint_status(io, list),
            Format::Protobuf => Err(unsupported(self.format)),
        }
    }

    pub fn endpoint_hashkv(&self, io: &mut Io<'_>, list: &[EpHashKv]) -> Result<(), Error> {
        match self.format {
            Format::Simple => simple::endpoint_hashkv(io, list),
            Format::Json => json::print(io, json::endpoint_hashkv(list)),
            Format::Fields => fields::endpoint_hashkv(io, list),
            Format::Table => table::endpoint_hashkv(io, list),
            Format::Protobuf => Err(unsupported(self.format)),
        }
    }
}

/// Go's `%016x` of a lease id: sixteen hex digits, a sign taking one.
pub fn lease_hex(id: i64) -> String {
    if id < 0 {
        format!("-{:015x}", id.unsigned_abs())
    } else {
        format!("{id:016x}")
    }
}

/// An event type as Go's `%v` (and gogo's `String()`) shows it.
pub fn event_type(t: i32) -> String {
    match t {
        0 => "PUT".to_string(),
        1 => "DELETE".to_string(),
        other => other.to_string(),
    }
}

/// The rows etcdctl's simple and table printers share for `endpoint
/// status` (`makeEndpointStatusTable`).
fn status_rows(list: &[EpStatus]) -> Vec<Vec<String>> {
    list.iter()
        .map(|s| {
            let r = &s.status;
            let member = r.header.as_ref().map_or(0, |h| h.member_id);
            vec![
                s.endpoint.clone(),
                format!("{member:x}"),
                r.version.clone(),
                // Go converts with uint64(), wrapping a negative size.
                crate::go::humanize::bytes(r.db_size as u64),
                (r.leader == member).to_string(),
                r.is_learner.to_string(),
                r.raft_term.to_string(),
                r.raft_index.to_string(),
                r.raft_applied_index.to_string(),
                r.errors.join(", "),
            ]
        })
        .collect()
}

/// The rows etcdctl's simple and table printers share for `member list`
/// (`makeMemberListTable`); a member that never started has no name yet.
fn member_rows(r: &MemberListResponse) -> Vec<Vec<String>> {
    r.members
        .iter()
        .map(|m| {
            let status = if m.name.is_empty() {
                "unstarted"
            } else {
                "started"
            };
            vec![
                format!("{:x}", m.id),
                status.to_string(),
                m.name.clone(),
                m.peer_ur_ls.join(","),
                m.client_ur_ls.join(","),
                m.is_learner.to_string(),
            ]
        })
        .collect()
}

fn health_rows(list: &[EpHealth]) -> Vec<Vec<String>> {
    list.iter()
        .map(|h| {
            vec![
                h.endpoint.clone(),
                h.health.to_string(),
                h.took.clone(),
                h.error.clone(),
            ]
        })
        .collect()
}

fn hashkv_rows(list: &[EpHashKv]) -> Vec<Vec<String>> {
    list.iter()
        .map(|h| vec![h.endpoint.clone(), h.hash.hash.to_string()])
        .collect()
}
