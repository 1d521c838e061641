//! Leases in a 3-member cluster of processes: a follower forwards
//! keepalives and time-to-live to the leader; when the leader is killed the
//! lease survives (the new leader extends every TTL instead of expiring
//! them at once) and then expires on time, on every member alike.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use api::pb::etcdserverpb::kv_client::KvClient;
use api::pb::etcdserverpb::lease_client::LeaseClient;
use api::pb::etcdserverpb::{
    LeaseGrantRequest, LeaseKeepAliveRequest, LeaseTimeToLiveRequest, PutRequest, RangeRequest,
};
use futures::StreamExt;
use testkit::ClusterSpec;
use tonic::transport::Channel;

const TTL: i64 = 4;

fn ours() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_server"))
}

fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string())
        .unwrap()
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(3))
        .connect_lazy()
}

async fn keys(url: &str) -> Option<usize> {
    KvClient::new(channel(url))
        .range(RangeRequest {
            key: b"lease/".to_vec(),
            range_end: b"lease0".to_vec(),
            serializable: true,
            ..Default::default()
        })
        .await
        .ok()
        .map(|r| r.into_inner().kvs.len())
}

#[test]
fn a_lease_kept_alive_through_a_follower_outlives_a_leader_kill_then_expires_on_time() {
    let mut cluster = ClusterSpec::new(3).timing(50, 500).start(ours());
    let leader = cluster.wait_leader(Duration::from_secs(10));
    let follower = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let (f_url, o_url) = (cluster.client_url(follower), cluster.client_url(other));
    let rt = tokio::runtime::Runtime::new().unwrap();

    let id = rt.block_on(async {
        let mut lease = LeaseClient::new(channel(&f_url));
        let id = lease
            .lease_grant(LeaseGrantRequest { ttl: TTL, id: 0 })
            .await
            .unwrap()
            .into_inner()
            .id;
        KvClient::new(channel(&f_url))
            .put(PutRequest {
                key: b"lease/a".to_vec(),
                value: b"1".to_vec(),
                lease: id,
                ..Default::default()
            })
            .await
            .unwrap();
        // The follower's lessor cannot renew: this reaches the leader.
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tx.send(LeaseKeepAliveRequest { id }).await.unwrap();
        let mut answers = lease
            .lease_keep_alive(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        let renewed = answers.next().await.unwrap().unwrap();
        assert_eq!((renewed.id, renewed.ttl), (id, TTL));
        let ttl = lease
            .lease_time_to_live(LeaseTimeToLiveRequest { id, keys: true })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ttl.keys, vec![b"lease/a".to_vec()]);
        assert!(ttl.ttl > 0 && ttl.ttl <= TTL, "{ttl:?}");
        id
    });
    let last_keepalive = Instant::now();

    cluster.kill(leader);
    let new_leader = cluster.wait_leader(Duration::from_secs(10));
    assert_ne!(new_leader, leader);
    rt.block_on(async {
        let ttl = LeaseClient::new(channel(&o_url))
            .lease_time_to_live(LeaseTimeToLiveRequest { id, keys: false })
            .await
            .unwrap()
            .into_inner();
        assert!(ttl.ttl > 0, "the lease expired with its leader: {ttl:?}");
        assert_eq!(keys(&f_url).await, Some(1));
    });

    // No keepalive since: the new leader expires it about TTL (plus the
    // election timeout it grants on taking over) after the last one.
    let expired = loop {
        let gone =
            rt.block_on(async { keys(&f_url).await == Some(0) && keys(&o_url).await == Some(0) });
        if gone {
            break last_keepalive.elapsed();
        }
        assert!(
            last_keepalive.elapsed() < Duration::from_secs(20),
            "the lease never expired"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("lease expired {expired:?} after its last keepalive");
    assert!(expired >= Duration::from_secs(TTL as u64), "{expired:?}");
    assert!(expired < Duration::from_secs(TTL as u64 + 4), "{expired:?}");
    let revisions: Vec<i64> = [f_url, o_url]
        .iter()
        .map(|url| {
            rt.block_on(async {
                KvClient::new(channel(url))
                    .range(RangeRequest {
                        key: b"lease/a".to_vec(),
                        serializable: true,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .header
                    .unwrap()
                    .revision
            })
        })
        .collect();
    assert_eq!(
        revisions[0], revisions[1],
        "members deleted at different revisions"
    );
}
