//! The `protobuf` format: the response's wire encoding, raw. etcdctl hands
//! clientv3's own lease structs to gogo's marshaller, which finds only the
//! embedded header's `Marshal`, so lease responses print their header; the
//! revoke response has no marshaller at all.

use api::pb::etcdserverpb::{LeaseRevokeResponse, ResponseHeader, WatchResponse};

use crate::client::WatchUpdate;
use crate::error::Error;
use crate::exit;
use crate::io::Io;

pub fn print(io: &mut Io<'_>, message: &impl prost::Message) -> Result<(), Error> {
    io.write(&message.encode_to_vec());
    Ok(())
}

/// The embedded header's encoding (nothing for a missing one).
pub fn header_of(io: &mut Io<'_>, header: Option<&ResponseHeader>) -> Result<(), Error> {
    print(io, &header.copied().unwrap_or_default())
}

/// etcdctl's own `WatchResponse` rebuilt from what clientv3 delivered.
pub fn watch(io: &mut Io<'_>, r: &WatchUpdate) -> Result<(), Error> {
    let message = WatchResponse {
        header: Some(r.header),
        watch_id: 0,
        created: r.created,
        canceled: r.canceled,
        compact_revision: r.compact_revision,
        cancel_reason: String::new(),
        fragment: false,
        events: r.events.clone().unwrap_or_default(),
    };
    print(io, &message)
}

/// Go's compact text form of a header (`proto.CompactTextString`).
fn compact_text(h: &ResponseHeader) -> String {
    let mut s = String::new();
    let fields: [(&str, i128); 4] = [
        ("cluster_id", h.cluster_id.into()),
        ("member_id", h.member_id.into()),
        ("revision", h.revision.into()),
        ("raft_term", h.raft_term.into()),
    ];
    for (name, value) in fields {
        if value != 0 {
            s.push_str(&format!("{name}:{value} "));
        }
    }
    s
}

/// What `printPB` says of a value that cannot marshal itself.
pub fn revoke_unsupported(r: &LeaseRevokeResponse) -> Error {
    let shown = r.header.as_ref().map_or("<nil>".to_string(), compact_text);
    Error::exit(
        exit::BAD_FEATURE,
        format!("marshal unsupported for type clientv3.LeaseRevokeResponse ({{{shown}}})"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn revoke_names_its_go_type_and_header() {
        let r = LeaseRevokeResponse {
            header: Some(ResponseHeader {
                cluster_id: 1,
                member_id: 2,
                revision: 0,
                raft_term: 4,
            }),
        };
        assert_eq!(
            revoke_unsupported(&r).to_string(),
            "marshal unsupported for type clientv3.LeaseRevokeResponse ({cluster_id:1 member_id:2 raft_term:4 })"
        );
        let none = LeaseRevokeResponse { header: None };
        assert!(revoke_unsupported(&none).to_string().ends_with("({<nil>})"));
    }
}
