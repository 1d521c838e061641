//! Response headers: every answer carries the cluster id, the member id, the
//! raft term and a revision, as etcd's `header.fill` does.

use api::HeaderSource;
use api::pb::etcdserverpb::ResponseHeader;

/// Completes `header` from `source`. A revision already set by the server
/// (the revision a write created, the revision a read was served at) is
/// kept; otherwise the current revision is used.
pub fn fill(source: &dyn HeaderSource, header: &mut Option<ResponseHeader>) {
    let current = source.header();
    let h = header.get_or_insert_with(ResponseHeader::default);
    h.cluster_id = current.cluster_id;
    h.member_id = current.member_id;
    h.raft_term = current.raft_term;
    if h.revision == 0 {
        h.revision = current.revision;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl HeaderSource for Fixed {
        fn header(&self) -> ResponseHeader {
            ResponseHeader {
                cluster_id: 7,
                member_id: 9,
                revision: 42,
                raft_term: 3,
            }
        }
    }

    #[test]
    fn keeps_the_servers_revision_and_fills_the_rest() {
        let mut h = Some(ResponseHeader {
            revision: 5,
            ..Default::default()
        });
        fill(&Fixed, &mut h);
        assert_eq!(
            h,
            Some(ResponseHeader {
                cluster_id: 7,
                member_id: 9,
                revision: 5,
                raft_term: 3
            })
        );

        let mut missing = None;
        fill(&Fixed, &mut missing);
        assert_eq!(missing.map(|h| h.revision), Some(42));
    }
}
