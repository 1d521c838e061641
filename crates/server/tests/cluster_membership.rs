//! Membership changes on a cluster of processes: a member nobody added
//! cannot join; a learner added later is promoted through a follower (which
//! forwards to the leader, the only one that knows the learner's progress);
//! removing the leader stops it and the others carry on.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use api::pb::etcdserverpb::cluster_client::ClusterClient;
use api::pb::etcdserverpb::kv_client::KvClient;
use api::pb::etcdserverpb::{MemberPromoteRequest, MemberRemoveRequest, PutRequest};
use testkit::{ClusterSpec, Spec};
use tonic::transport::Channel;

fn ours() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_server"))
}

fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string())
        .unwrap()
        .timeout(Duration::from_secs(5))
        .connect_lazy()
}

#[test]
fn a_member_nobody_added_cannot_join() {
    let cluster = ClusterSpec::new(3).timing(50, 500).start(ours());
    let stranger = Spec::on_free_ports().name("stranger");
    let stranger = stranger.clone().initial_cluster(&format!(
        "m0={},stranger={}",
        cluster.spec(0).peer_url(),
        stranger.peer_url()
    ));
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(ours())
        .args(stranger.args(dir.path()))
        .arg("--initial-cluster-state=existing")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("a member nobody added kept running");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains("error validating peerURLs") && stderr.contains("member count is unequal"),
        "{stderr}"
    );
}

#[test]
fn a_learner_is_promoted_through_a_follower_and_the_removed_leader_stops() {
    let mut cluster = ClusterSpec::new(3).timing(50, 500).start(ours());
    let learner = cluster.add_member(true);
    assert!(cluster.is_learner(learner));
    let leader = cluster.wait_leader(Duration::from_secs(10));
    let follower = (0..3).find(|&i| i != leader).unwrap();
    let learner_id = cluster.member_id(learner).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    let promoted = rt.block_on(async {
        ClusterClient::new(channel(&cluster.client_url(follower)))
            .member_promote(MemberPromoteRequest { id: learner_id })
            .await
    });
    let members = promoted.unwrap().into_inner().members;
    assert!(members.iter().all(|m| !m.is_learner), "{members:?}");
    // The leader answered once it applied the promotion; the learner
    // itself applies it a moment later.
    let started = Instant::now();
    while cluster.is_learner(learner) {
        assert!(started.elapsed() < Duration::from_secs(5), "never promoted");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(cluster.is_healthy(learner));

    // --strict-reconfig-check (etcd's default) refuses the removal until
    // the remaining voters have been connected for five seconds.
    let leader_id = cluster.member_id(leader).unwrap();
    let started = Instant::now();
    let removed = loop {
        let answer = rt.block_on(async {
            ClusterClient::new(channel(&cluster.client_url(follower)))
                .member_remove(MemberRemoveRequest { id: leader_id })
                .await
        });
        match answer {
            Err(status)
                if status.message() == "etcdserver: unhealthy cluster"
                    && started.elapsed() < Duration::from_secs(15) =>
            {
                std::thread::sleep(Duration::from_millis(200));
            }
            other => break other,
        }
    };
    let members = removed.unwrap().into_inner().members;
    assert_eq!(members.len(), 3);
    assert!(members.iter().all(|m| m.id != leader_id));

    // The removed leader stops by itself; the three left elect a leader
    // among them and keep taking writes.
    let started = Instant::now();
    while cluster.status(leader).is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the removed leader still serves"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(cluster.log(leader).contains("permanently removed"));
    cluster.kill(leader);
    let new_leader = cluster.wait_leader(Duration::from_secs(10));
    assert_ne!(new_leader, leader);
    let put = rt.block_on(async {
        KvClient::new(channel(&cluster.client_url(learner)))
            .put(PutRequest {
                key: b"after".to_vec(),
                value: b"removal".to_vec(),
                ..Default::default()
            })
            .await
    });
    assert!(put.is_ok(), "{put:?}");
}

/// A member removed while it was down learns of it from its former peers
/// when it comes back, and stops instead of disturbing them.
#[test]
fn a_member_removed_while_down_stops_when_it_comes_back() {
    let mut cluster = ClusterSpec::new(3).timing(50, 500).start(ours());
    let leader = cluster.wait_leader(Duration::from_secs(10));
    let gone = (leader + 1) % 3;
    let gone_id = cluster.member_id(gone).unwrap();
    cluster.stop(gone);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let removed = rt.block_on(async {
        ClusterClient::new(channel(&cluster.client_url(leader)))
            .member_remove(MemberRemoveRequest { id: gone_id })
            .await
    });
    assert_eq!(removed.unwrap().into_inner().members.len(), 2);

    let mut child = Command::new(ours())
        .args(cluster.spec(gone).args(&cluster.data_dir(gone)))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut kept_running = false;
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            kept_running = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!kept_running, "the removed member kept running:\n{stderr}");
    assert!(stderr.contains("permanently removed"), "{stderr}");
    let put = rt.block_on(async {
        KvClient::new(channel(&cluster.client_url(leader)))
            .put(PutRequest {
                key: b"still".to_vec(),
                value: b"serving".to_vec(),
                ..Default::default()
            })
            .await
    });
    assert!(put.is_ok(), "{put:?}");
}
