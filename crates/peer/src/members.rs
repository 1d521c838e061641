//! Asking running members who is in the cluster, for a member that joins
//! one (`--initial-cluster-state existing`).

use std::time::Duration;

use api::pb::etcdserverpb::Member;
use tonic::Request;

use crate::dial::connect;
use crate::metadata::stamp;
use crate::peerpb::MembersRequest;
use crate::peerpb::peer_client::PeerClient;
use crate::{ClientTls, Error};

const DIAL_TIMEOUT: Duration = Duration::from_secs(1);
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The cluster id and member list as the first of `urls` that answers sees
/// them; the last failure when none does.
pub async fn fetch_members(
    urls: &[String],
    tls: Option<ClientTls>,
) -> Result<(u64, Vec<Member>), Error> {
    let mut last = Error::NoUrls;
    for url in urls {
        match fetch_one(url, tls.as_ref()).await {
            Ok(answer) => return Ok(answer),
            Err(e) => {
                tracing::warn!(%url, error = %e, "could not get the member list");
                last = e;
            }
        }
    }
    Err(last)
}

async fn fetch_one(url: &str, tls: Option<&ClientTls>) -> Result<(u64, Vec<Member>), Error> {
    let channel = connect(url, tls, DIAL_TIMEOUT).await?;
    let mut req = Request::new(MembersRequest {});
    // The joining member has neither an id nor a cluster id yet.
    stamp(&mut req, 0, 0, None);
    let refused = |status| Error::Refused {
        url: url.to_string(),
        status,
    };
    let answer = tokio::time::timeout(CALL_TIMEOUT, PeerClient::new(channel).members(req))
        .await
        .map_err(|_| refused(tonic::Status::deadline_exceeded("no answer in time")))?
        .map_err(refused)?
        .into_inner();
    Ok((answer.cluster_id, answer.members))
}
