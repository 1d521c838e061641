//! The lease a caller's key is attached to. etcd's servers build a client
//! session around the request's lease: lease 0 means "none given", and the
//! session then grants a fresh lease with the default TTL, even for calls
//! that never attach it to a key (Resign). The session is orphaned at once,
//! so nothing keeps either lease alive: that is the caller's job.

use api::Lease;
use api::pb::etcdserverpb::LeaseGrantRequest;

use crate::Error;

/// The TTL, in seconds, of a lease granted for a caller that named none.
const DEFAULT_TTL: i64 = 60;

/// `lease`, or a newly granted lease when `lease` is 0.
pub(crate) async fn lease_of(leases: &dyn Lease, lease: i64) -> Result<i64, Error> {
    if lease != 0 {
        return Ok(lease);
    }
    let granted = leases
        .lease_grant(LeaseGrantRequest {
            ttl: DEFAULT_TTL,
            id: 0,
        })
        .await?;
    Ok(granted.id)
}
