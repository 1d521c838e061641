//! Asking a peer for its HashKV at a revision: a member started with
//! `--experimental-initial-corrupt-check` compares its store with every
//! peer's before it serves clients.

use std::time::Duration;

use api::pb::etcdserverpb::{HashKvRequest, HashKvResponse};
use tonic::Request;

use crate::api_status::from_status;
use crate::dial::connect;
use crate::metadata::stamp;
use crate::peerpb::peer_client::PeerClient;
use crate::{ClientTls, Error, PeerConfig};

const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What a peer said about its HashKV at a revision.
#[derive(Debug)]
pub enum PeerHash {
    Answer(HashKvResponse),
    /// The peer answered with an etcd error (e.g. the revision is compacted
    /// there, or still in its future).
    Refused(api::Error),
}

/// The HashKV at `revision` of the peer reachable at one of `urls` (tried
/// in turn).
pub async fn peer_hash_kv(
    cfg: &PeerConfig,
    urls: &[String],
    revision: i64,
) -> Result<PeerHash, Error> {
    let mut last = Error::NoUrls;
    for url in urls {
        match hash_one(cfg, cfg.tls.as_ref(), url, revision).await {
            Ok(answer) => return Ok(answer),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn hash_one(
    cfg: &PeerConfig,
    tls: Option<&ClientTls>,
    url: &str,
    revision: i64,
) -> Result<PeerHash, Error> {
    let channel = connect(url, tls, cfg.dial_timeout).await?;
    let mut req = Request::new(HashKvRequest { revision });
    stamp(&mut req, cfg.local_id, cfg.cluster_id, None);
    let refused = |status| Error::Refused {
        url: url.to_string(),
        status,
    };
    match tokio::time::timeout(CALL_TIMEOUT, PeerClient::new(channel).hash_kv(req)).await {
        Err(_) => Err(refused(tonic::Status::deadline_exceeded(
            "no answer in time",
        ))),
        Ok(Ok(answer)) => Ok(PeerHash::Answer(answer.into_inner())),
        Ok(Err(status)) => match from_status(&status) {
            Some(err) => Ok(PeerHash::Refused(err)),
            None => Err(refused(status)),
        },
    }
}
