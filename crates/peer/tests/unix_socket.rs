#![allow(clippy::unwrap_used)]

//! Alone in its test binary: it changes the working directory, which unix
//! peer URLs are relative to.

mod support;

use std::sync::Arc;

use support::{
    CLUSTER, FixedDump, Listener, Member, Spec, agreed_leader, start_member, wait_for_data,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_talk_over_unix_socket_peer_urls() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let urls: Vec<(u64, String)> = (1..=3u64)
        .map(|id| {
            let scheme_host = format!("unix://localhost:{}", 2380 + id);
            (id, scheme_host)
        })
        .collect();
    let mut members = Vec::new();
    for (id, url) in &urls {
        let listener = Listener::rebind(url).await;
        // The socket file is named by the URL's host:port, in the cwd.
        assert!(dir.path().join(format!("localhost:{}", 2380 + id)).exists());
        let spec = Spec {
            id: *id,
            dir: &dir.path().join(format!("m{id}")),
            urls: &urls,
            voters: &[1, 2, 3],
            cluster_id: CLUSTER,
            dump: FixedDump(Arc::new(Vec::new())),
            catch_up_entries: 5000,
            members: Vec::new(),
        };
        members.push(start_member(spec, listener).await);
    }
    let all: Vec<&Member> = members.iter().collect();
    let leader = agreed_leader(&all).await;
    let follower = &members[(leader % 3) as usize];
    follower
        .node
        .propose(b"over a socket".to_vec())
        .await
        .unwrap();
    for member in &members {
        assert_eq!(
            wait_for_data(member, 1).await,
            vec![b"over a socket".to_vec()]
        );
    }
    for member in &members {
        member.kill().await;
    }
}
