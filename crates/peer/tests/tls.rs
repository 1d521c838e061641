#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use api::LeaderLink;
use peer::{ClientTls, Error, PeerConfig, PeerTransport, fetch_members};
use raftnode::Transport;
use rustls::RootCertStore;
use rustls::pki_types::PrivateKeyDer;
use support::{CLUSTER, FixedDump, Listener, Spec, start_member};
use tokio::net::TcpListener;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_peers_are_dialed_over_tls() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let mut server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    server.alpn_protocols = vec![b"h2".to_vec()];
    let mut roots = RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = ClientTls::new(client);

    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    // The certificate names localhost, so that is the name dialed.
    let url = format!("https://localhost:{}", tcp.local_addr().unwrap().port());
    let listener = Listener::Tls(tcp, tokio_rustls::TlsAcceptor::from(Arc::new(server)));
    let dir = tempfile::tempdir().unwrap();
    let member = start_member(
        Spec {
            id: 1,
            dir: &dir.path().join("m1"),
            urls: &[(1, url.clone())],
            voters: &[1],
            cluster_id: CLUSTER,
            dump: FixedDump(Arc::new(Vec::new())),
            catch_up_entries: 5000,
            members: Vec::new(),
        },
        listener,
    )
    .await;

    let (cluster_id, _) = fetch_members(std::slice::from_ref(&url), Some(tls.clone()))
        .await
        .unwrap();
    assert_eq!(cluster_id, CLUSTER);
    // An https peer without client TLS is not dialed in the clear.
    assert!(matches!(
        fetch_members(std::slice::from_ref(&url), None).await,
        Err(Error::Connect { .. })
    ));

    let mut cfg = PeerConfig::new(2, CLUSTER, dir.path().join("m2"));
    cfg.tls = Some(tls);
    let follower = PeerTransport::new(cfg, Arc::new(FixedDump(Arc::new(Vec::new())))).unwrap();
    follower.add_peer(1, std::slice::from_ref(&url));
    assert_eq!(follower.lease_renew(1, 3).await, Ok(30));
    assert!(support::wait_until(support::WAIT, || follower.active_since(1).is_some()).await);
    follower.stop();
    member.kill().await;
}
