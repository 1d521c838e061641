//! `--experimental-initial-corrupt-check`: before serving clients, a
//! restarted member compares its HashKV with every peer's at its own
//! revision and refuses to serve when a peer with the same compaction
//! revision disagrees, as etcd does. Peers that are behind or ahead in
//! compaction cannot be compared and are only reported.

use api::pb::etcdserverpb::MemberListRequest;
use etcdserver::EtcdServer;
use peer::{PeerConfig, PeerHash};

use crate::Error;

pub async fn check(server: &EtcdServer, peers: &PeerConfig) -> Result<(), Error> {
    let local = server.member_id();
    tracing::info!(
        "{local:x} starting initial corruption check with timeout {:?}...",
        server.config().request_timeout()
    );
    let (hash, compact_rev, rev) = server
        .store()
        .hash_kv(0)
        .map_err(|e| Error::Corrupt(format!("{local:x} failed to fetch hash ({e})")))?;
    let members = api::Cluster::member_list(server, MemberListRequest {})
        .await
        .map_err(|e| Error::Corrupt(format!("{local:x} cannot list the members ({e})")))?
        .members;
    let mut mismatches = 0;
    for m in members.iter().filter(|m| m.id != local) {
        match peer::peer_hash_kv(peers, &m.peer_ur_ls, rev).await {
            Ok(PeerHash::Answer(theirs)) if theirs.hash != hash => {
                if theirs.compact_revision == compact_rev {
                    tracing::error!(
                        "{local:x}'s hash {hash} != {:x}'s hash {} (revision {rev}, peer revision {}, compact revision {compact_rev})",
                        m.id,
                        theirs.hash,
                        theirs.header.map_or(0, |h| h.revision)
                    );
                    mismatches += 1;
                } else {
                    tracing::warn!(
                        "{local:x} cannot check hash of peer({:x}): peer has a different compact revision {} (revision:{rev})",
                        m.id,
                        theirs.compact_revision
                    );
                }
            }
            Ok(PeerHash::Answer(_)) => {}
            Ok(PeerHash::Refused(api::Error::FutureRev)) => tracing::warn!(
                "{local:x} cannot check the hash of peer({:x}) at revision {rev}: peer is lagging behind",
                m.id
            ),
            Ok(PeerHash::Refused(api::Error::Compacted)) => tracing::warn!(
                "{local:x} cannot check the hash of peer({:x}) at revision {rev}: local node is lagging behind",
                m.id
            ),
            Ok(PeerHash::Refused(err)) => {
                tracing::warn!("{local:x} cannot check the hash of peer({:x}): {err}", m.id)
            }
            Err(err) => {
                tracing::warn!(
                    "{local:x} cannot reach peer({:x}) for a hash check: {err}",
                    m.id
                )
            }
        }
    }
    if mismatches > 0 {
        return Err(Error::Corrupt(format!(
            "{local:016x} found data inconsistency with peers"
        )));
    }
    tracing::info!("{local:x} succeeded on initial corruption checking: no corruption");
    Ok(())
}
