//! The election service against an in-process store: ordering, leader and
//! observe, proclaim and resign, leases, cancellation, and etcd's errors.
#![allow(clippy::unwrap_used)]

mod mvcc_backend;

use std::sync::Arc;
use std::time::Duration;

use api::pb::etcdserverpb::{LeaseGrantRequest, LeaseRevokeRequest};
use api::pb::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderKey, LeaderRequest, ProclaimRequest, ResignRequest,
};
use api::{Election, Lease};
use concurrency::ElectionService;
use futures::StreamExt;
use mvcc_backend::{Backend, LostWatch};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

async fn grant(backend: &Arc<Backend>) -> i64 {
    let req = LeaseGrantRequest { ttl: 30, id: 0 };
    backend.lease_grant(req).await.unwrap().id
}

async fn revoke(backend: &Arc<Backend>, id: i64) {
    backend
        .lease_revoke(LeaseRevokeRequest { id })
        .await
        .unwrap();
}

fn campaign_req(name: &str, lease: i64, value: &str) -> CampaignRequest {
    CampaignRequest {
        name: name.into(),
        lease,
        value: value.into(),
    }
}

fn spawn_campaign(
    election: &Arc<ElectionService>,
    req: CampaignRequest,
) -> JoinHandle<Result<CampaignResponse, api::Error>> {
    let election = Arc::clone(election);
    tokio::spawn(async move { election.campaign(req).await })
}

/// Waits for a condition on the backend that another task brings about.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The task is still blocked a while later.
async fn still_waiting<T>(task: &JoinHandle<T>) {
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!task.is_finished(), "should still be waiting");
}

async fn leader_value(election: &ElectionService, name: &str) -> Vec<u8> {
    let resp = election
        .leader(LeaderRequest { name: name.into() })
        .await
        .unwrap();
    resp.kv.unwrap().value
}

fn hex_key(name: &str, lease: i64) -> Vec<u8> {
    format!("{name}/{lease:x}").into_bytes()
}

#[tokio::test]
async fn the_second_candidate_leads_once_the_first_resigns() {
    let backend = Backend::new();
    let election = Arc::new(backend.election());
    let (a, b) = (grant(&backend).await, grant(&backend).await);

    let first = election.campaign(campaign_req("e", a, "va")).await.unwrap();
    let leader_a = first.leader.unwrap();
    assert_eq!(leader_a.name, b"e");
    assert_eq!(leader_a.key, hex_key("e", a));
    assert_eq!(leader_a.lease, a);
    let kv = backend.keys("e/").pop().unwrap();
    assert_eq!(leader_a.rev, kv.create_revision);
    assert_eq!(first.header.unwrap().revision, kv.create_revision);
    assert_eq!(kv.lease, a);

    let second = spawn_campaign(&election, campaign_req("e", b, "vb"));
    eventually("b's key is queued", || backend.keys("e/").len() == 2).await;
    still_waiting(&second).await;
    assert_eq!(leader_value(&election, "e").await, b"va");

    election
        .resign(ResignRequest {
            leader: Some(leader_a.clone()),
        })
        .await
        .unwrap();
    let won = timeout(WAIT, second).await.unwrap().unwrap().unwrap();
    let leader_b = won.leader.unwrap();
    assert_eq!(leader_b.key, hex_key("e", b));
    assert_eq!(leader_value(&election, "e").await, b"vb");
    assert_eq!(backend.watchers(), 0, "no watcher outlives the campaign");
}

#[tokio::test]
async fn revoking_the_leaders_lease_elects_the_next_candidate() {
    let backend = Backend::new();
    let election = Arc::new(backend.election());
    let (a, b) = (grant(&backend).await, grant(&backend).await);
    election.campaign(campaign_req("e", a, "va")).await.unwrap();
    let second = spawn_campaign(&election, campaign_req("e", b, "vb"));
    eventually("b's key is queued", || backend.keys("e/").len() == 2).await;
    still_waiting(&second).await;

    revoke(&backend, a).await;
    let won = timeout(WAIT, second).await.unwrap().unwrap().unwrap();
    assert_eq!(won.leader.unwrap().lease, b);
}

#[tokio::test]
async fn candidates_win_in_the_order_they_joined() {
    let backend = Backend::new();
    let election = Arc::new(backend.election());
    let leases = [
        grant(&backend).await,
        grant(&backend).await,
        grant(&backend).await,
    ];
    election
        .campaign(campaign_req("e", leases[0], "0"))
        .await
        .unwrap();
    let second = spawn_campaign(&election, campaign_req("e", leases[1], "1"));
    eventually("second queued", || backend.keys("e/").len() == 2).await;
    let third = spawn_campaign(&election, campaign_req("e", leases[2], "2"));
    eventually("third queued", || backend.keys("e/").len() == 3).await;

    revoke(&backend, leases[0]).await;
    timeout(WAIT, second).await.unwrap().unwrap().unwrap();
    still_waiting(&third).await;
    revoke(&backend, leases[1]).await;
    timeout(WAIT, third).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn observe_reports_every_leader_and_value_in_order() {
    let backend = Backend::new();
    let election = Arc::new(backend.election());
    let mut observed = election.observe(LeaderRequest { name: "e".into() }).await;
    let (a, b) = (grant(&backend).await, grant(&backend).await);

    let leader_a = election
        .campaign(campaign_req("e", a, "a1"))
        .await
        .unwrap()
        .leader
        .unwrap();
    let first = timeout(WAIT, observed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let kv = first.kv.unwrap();
    assert_eq!(
        (kv.key.as_slice(), kv.value.as_slice()),
        (&leader_a.key[..], &b"a1"[..])
    );
    assert_eq!(first.header.unwrap().revision, kv.mod_revision);

    election
        .proclaim(ProclaimRequest {
            leader: Some(leader_a.clone()),
            value: "a2".into(),
        })
        .await
        .unwrap();
    let second = spawn_campaign(&election, campaign_req("e", b, "b1"));
    eventually("b's key is queued", || backend.keys("e/").len() == 2).await;
    election
        .resign(ResignRequest {
            leader: Some(leader_a),
        })
        .await
        .unwrap();
    timeout(WAIT, second).await.unwrap().unwrap().unwrap();

    let mut values = Vec::new();
    for _ in 0..2 {
        let resp = timeout(WAIT, observed.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        values.push(resp.kv.unwrap().value);
    }
    assert_eq!(values, [b"a2".to_vec(), b"b1".to_vec()]);

    drop(observed);
    eventually("observe's watcher is gone", || backend.watchers() == 0).await;
}

#[tokio::test]
async fn observe_starts_with_the_current_leader() {
    let backend = Backend::new();
    let election = backend.election();
    let a = grant(&backend).await;
    election
        .campaign(campaign_req("e", a, "now"))
        .await
        .unwrap();
    let mut observed = election.observe(LeaderRequest { name: "e".into() }).await;
    let resp = timeout(WAIT, observed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(resp.kv.unwrap().value, b"now");
    let quiet = timeout(Duration::from_millis(100), observed.next()).await;
    assert!(quiet.is_err(), "nothing changed, so nothing more to report");
    assert_eq!(backend.watchers(), 1, "observe follows the leader's key");
}

#[tokio::test]
async fn proclaim_needs_the_leaders_current_key() {
    let backend = Backend::new();
    let election = backend.election();
    let a = grant(&backend).await;
    let leader = election
        .campaign(campaign_req("e", a, "v1"))
        .await
        .unwrap()
        .leader
        .unwrap();

    let resp = election
        .proclaim(ProclaimRequest {
            leader: Some(leader.clone()),
            value: "v2".into(),
        })
        .await
        .unwrap();
    assert_eq!(resp.header.unwrap().revision, backend.revision());
    assert_eq!(leader_value(&election, "e").await, b"v2");

    let not_leader = api::Error::Internal("election: not leader".into());
    let wrong_rev = LeaderKey {
        rev: leader.rev + 1,
        ..leader.clone()
    };
    let err = election
        .proclaim(ProclaimRequest {
            leader: Some(wrong_rev),
            value: "v3".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err, not_leader);

    election
        .resign(ResignRequest {
            leader: Some(leader.clone()),
        })
        .await
        .unwrap();
    let err = election
        .proclaim(ProclaimRequest {
            leader: Some(leader),
            value: "v4".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err, not_leader);
    assert!(
        backend.keys("e/").is_empty(),
        "a failed proclaim puts nothing"
    );
}

#[tokio::test]
async fn resign_only_deletes_the_key_it_names() {
    let backend = Backend::new();
    let election = backend.election();
    let a = grant(&backend).await;
    let leader = election
        .campaign(campaign_req("e", a, "v"))
        .await
        .unwrap()
        .leader
        .unwrap();
    let stale = LeaderKey {
        rev: leader.rev - 1,
        ..leader.clone()
    };
    let resp = election
        .resign(ResignRequest {
            leader: Some(stale),
        })
        .await
        .unwrap();
    assert!(resp.header.is_some());
    assert_eq!(backend.keys("e/").len(), 1, "a stale resign is a no-op");

    let missing = LeaderKey {
        key: "e/ffff".into(),
        ..leader
    };
    election
        .resign(ResignRequest {
            leader: Some(missing),
        })
        .await
        .unwrap();
    assert_eq!(backend.keys("e/").len(), 1);
}

#[tokio::test]
async fn campaigning_again_keeps_the_place_and_updates_the_value() {
    let backend = Backend::new();
    let election = backend.election();
    let a = grant(&backend).await;
    let first = election.campaign(campaign_req("e", a, "v1")).await.unwrap();
    let again = election.campaign(campaign_req("e", a, "v2")).await.unwrap();
    assert_eq!(again.leader, first.leader);
    // etcd answers with the header of the txn that found the key, which
    // precedes the proclaim
    assert_eq!(
        again.header.unwrap().revision,
        first.header.unwrap().revision
    );
    assert_eq!(backend.revision(), first.leader.unwrap().rev + 1);
    assert_eq!(leader_value(&election, "e").await, b"v2");
}

#[tokio::test]
async fn campaign_without_a_lease_grants_one_for_sixty_seconds() {
    let backend = Backend::new();
    let election = backend.election();
    let leader = election
        .campaign(campaign_req("e", 0, "v"))
        .await
        .unwrap()
        .leader
        .unwrap();
    assert_eq!(backend.lease_ids(), [(leader.lease, 60)]);
    assert_eq!(backend.keys("e/")[0].lease, leader.lease);
}

#[tokio::test]
async fn etcds_errors_reach_the_caller_with_their_text() {
    let backend = Backend::new();
    let election = backend.election();
    let err = election
        .leader(LeaderRequest { name: "e".into() })
        .await
        .unwrap_err();
    assert_eq!(err, api::Error::Internal("election: no leader".into()));

    let err = election
        .campaign(campaign_req("e", 12345, "v"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        api::Error::Internal("etcdserver: requested lease not found".into())
    );

    let missing = api::Error::Internal("\"leader\" field must be provided".into());
    let err = election
        .proclaim(ProclaimRequest {
            leader: None,
            value: "v".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err, missing);
    let err = election
        .resign(ResignRequest { leader: None })
        .await
        .unwrap_err();
    assert_eq!(err, missing);
    assert!(backend.lease_ids().is_empty(), "no lease for a bad request");
}

#[tokio::test]
async fn an_abandoned_campaign_takes_its_key_and_watch_back() {
    let backend = Backend::new();
    let election = Arc::new(backend.election());
    let (a, b, c) = (
        grant(&backend).await,
        grant(&backend).await,
        grant(&backend).await,
    );
    let leader = election
        .campaign(campaign_req("e", a, "va"))
        .await
        .unwrap()
        .leader
        .unwrap();

    let gave_up = timeout(
        Duration::from_millis(200),
        election.campaign(campaign_req("e", b, "vb")),
    )
    .await;
    assert!(gave_up.is_err(), "b must still be waiting when it gives up");
    eventually("b's key is withdrawn", || backend.keys("e/").len() == 1).await;
    eventually("b's watcher is gone", || backend.watchers() == 0).await;

    let third = spawn_campaign(&election, campaign_req("e", c, "vc"));
    eventually("c's key is queued", || backend.keys("e/").len() == 2).await;
    election
        .resign(ResignRequest {
            leader: Some(leader),
        })
        .await
        .unwrap();
    let won = timeout(WAIT, third).await.unwrap().unwrap().unwrap();
    assert_eq!(won.leader.unwrap().lease, c);
}

/// etcd 3.4 does not notice that a waiting candidate's own key vanished:
/// the campaign still returns once everyone ahead has gone.
#[tokio::test]
async fn a_candidate_whose_lease_is_revoked_while_waiting_still_returns() {
    let backend = Backend::new();
    let election = Arc::new(backend.election());
    let (a, b) = (grant(&backend).await, grant(&backend).await);
    election.campaign(campaign_req("e", a, "va")).await.unwrap();
    let second = spawn_campaign(&election, campaign_req("e", b, "vb"));
    eventually("b's key is queued", || backend.keys("e/").len() == 2).await;

    revoke(&backend, b).await;
    still_waiting(&second).await;
    revoke(&backend, a).await;
    let resp = timeout(WAIT, second).await.unwrap().unwrap().unwrap();
    assert_eq!(resp.leader.unwrap().key, hex_key("e", b));
    assert!(backend.keys("e/").is_empty());
}

/// Unlike a lock, a campaign that fails while the caller still waits keeps
/// its key, as etcd's does: only an abandoned campaign resigns.
#[tokio::test]
async fn a_campaign_whose_wait_fails_keeps_its_key() {
    let backend = Backend::new();
    let election = backend.election();
    let broken = ElectionService::new(backend.clone(), Arc::new(LostWatch), backend.clone());
    let (a, b) = (grant(&backend).await, grant(&backend).await);
    election.campaign(campaign_req("e", a, "va")).await.unwrap();

    let err = broken
        .campaign(campaign_req("e", b, "vb"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        api::Error::Internal("lost watcher waiting for delete".into())
    );
    let left: Vec<i64> = backend.keys("e/").iter().map(|kv| kv.lease).collect();
    assert_eq!(left, [a, b]);
}

#[tokio::test]
async fn observe_ends_quietly_when_its_watch_is_lost() {
    let backend = Backend::new();
    let broken = ElectionService::new(backend.clone(), Arc::new(LostWatch), backend.clone());
    let mut observed = broken.observe(LeaderRequest { name: "e".into() }).await;
    let end = timeout(WAIT, observed.next()).await.unwrap();
    assert!(end.is_none(), "etcd closes observe without an error");
}
