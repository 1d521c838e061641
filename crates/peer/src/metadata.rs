//! The metadata every peer call carries (see `proto/peerpb/peer.proto`):
//! who sends it, for which cluster, and for Raft and Snapshot to whom.

use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Status};

const FROM: &str = "x-server-from";
const CLUSTER_ID: &str = "x-etcd-cluster-id";
const RAFT_TO: &str = "x-raft-to";

/// etcd's wording, logged on both sides and sent back to the caller.
pub(crate) const CLUSTER_ID_MISMATCH: &str = "request cluster ID mismatch";

pub(crate) fn stamp<T>(req: &mut Request<T>, from: u64, cluster_id: u64, to: Option<u64>) {
    let md = req.metadata_mut();
    put_hex(md, FROM, from);
    put_hex(md, CLUSTER_ID, cluster_id);
    if let Some(to) = to {
        put_hex(md, RAFT_TO, to);
    }
}

fn put_hex(md: &mut MetadataMap, key: &'static str, value: u64) {
    // Hex digits are always valid metadata.
    if let Ok(v) = MetadataValue::try_from(format!("{value:x}")) {
        md.insert(key, v);
    }
}

fn hex(md: &MetadataMap, key: &str) -> Option<u64> {
    let text = md.get(key)?.to_str().ok()?;
    u64::from_str_radix(text, 16).ok()
}

/// The sender's member id; 0 when it did not say.
pub(crate) fn sender(md: &MetadataMap) -> u64 {
    hex(md, FROM).unwrap_or(0)
}

/// Refuses a call from another cluster (or one that does not say which).
pub(crate) fn check_cluster(md: &MetadataMap, local_cluster: u64) -> Result<(), Status> {
    let remote = hex(md, CLUSTER_ID);
    if remote == Some(local_cluster) {
        return Ok(());
    }
    tracing::warn!(
        local_member_cluster_id = format_args!("{local_cluster:x}"),
        remote_peer_cluster_id = ?remote.map(|id| format!("{id:x}")),
        remote_peer_id = format_args!("{:x}", sender(md)),
        "{CLUSTER_ID_MISMATCH}"
    );
    Err(Status::failed_precondition(CLUSTER_ID_MISMATCH))
}

/// Refuses a Raft or Snapshot call meant for another member (an address
/// reused by a new member, a stale peer URL).
pub(crate) fn check_to(md: &MetadataMap, local_id: u64) -> Result<(), Status> {
    match hex(md, RAFT_TO) {
        Some(to) if to == local_id => Ok(()),
        to => Err(Status::failed_precondition(format!(
            "raft message meant for member {} reached member {local_id:x}",
            to.map_or_else(|| "(unnamed)".to_string(), |t| format!("{t:x}"))
        ))),
    }
}

/// etcd's wording for a member that was removed from the cluster and still
/// calls its former peers.
pub(crate) const MEMBER_REMOVED: &str = "the member has been permanently removed from the cluster";

/// The refusal a removed member gets: it must stop.
pub(crate) fn removed() -> Status {
    Status::permission_denied(MEMBER_REMOVED)
}

/// Whether a refusal says this member was removed from the cluster.
pub(crate) fn is_removed(status: &Status) -> bool {
    status.code() == tonic::Code::PermissionDenied && status.message() == MEMBER_REMOVED
}

/// Whether a refusal was a cluster id mismatch (worth an error in the log
/// rather than a quiet retry).
pub(crate) fn is_cluster_mismatch(status: &Status) -> bool {
    status.code() == tonic::Code::FailedPrecondition && status.message() == CLUSTER_ID_MISMATCH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_requests_pass_the_receivers_checks() {
        let mut req = Request::new(());
        stamp(&mut req, 0xabc, 0x1234, Some(7));
        let md = req.metadata();
        assert_eq!(sender(md), 0xabc);
        assert!(check_cluster(md, 0x1234).is_ok());
        assert!(check_to(md, 7).is_ok());
        let refused = check_cluster(md, 0x9999).err();
        assert!(refused.as_ref().is_some_and(is_cluster_mismatch));
        assert!(check_to(md, 8).is_err());
        assert!(check_cluster(&MetadataMap::new(), 0x1234).is_err());
    }
}
