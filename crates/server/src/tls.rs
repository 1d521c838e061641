//! TLS for the client and peer listeners: certificates from files
//! (`--cert-file`, `--key-file`, `--trusted-ca-file`, `--client-cert-auth`)
//! or a self-signed one (`--auto-tls`, `--peer-auto-tls`). ALPN offers h2 and
//! http/1.1 so gRPC and the JSON gateway share the port, as with etcd.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio_rustls::TlsAcceptor;

use crate::Error;

/// Where a listener's certificate comes from.
#[derive(Clone, Debug, Default)]
pub struct TlsFiles {
    pub cert_file: String,
    pub key_file: String,
    pub trusted_ca_file: String,
    pub client_cert_auth: bool,
    pub auto: bool,
}

impl TlsFiles {
    pub fn is_empty(&self) -> bool {
        self.cert_file.is_empty() && self.key_file.is_empty() && !self.auto
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::Tls(format!("cannot read certificates from {path}: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!("no certificate found in {path}")));
    }
    Ok(certs)
}

/// A self-signed certificate for `hosts`, as etcd's auto TLS makes one.
fn self_signed(
    hosts: &[String],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
    let cert = rcgen::generate_simple_self_signed(hosts.to_vec())
        .map_err(|e| Error::Tls(format!("cannot generate a self-signed certificate: {e}")))?;
    let key = PrivateKeyDer::try_from(cert.signing_key.serialize_der())
        .map_err(|e| Error::Tls(format!("cannot encode the generated key: {e}")))?;
    Ok((vec![cert.cert.der().clone()], key))
}

/// The acceptor for a listener, or None when `files` asks for no TLS.
pub fn acceptor(files: &TlsFiles, hosts: &[String]) -> Result<Option<TlsAcceptor>, Error> {
    if files.is_empty() {
        return Ok(None);
    }
    let (certs, key) = if !files.cert_file.is_empty() || !files.key_file.is_empty() {
        let certs = load_certs(&files.cert_file)?;
        let key = PrivateKeyDer::from_pem_file(&files.key_file).map_err(|e| {
            Error::Tls(format!(
                "cannot read private key from {}: {e}",
                files.key_file
            ))
        })?;
        (certs, key)
    } else {
        self_signed(hosts)?
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = if files.client_cert_auth && !files.trusted_ca_file.is_empty() {
        let mut roots = RootCertStore::empty();
        for ca in load_certs(&files.trusted_ca_file)? {
            roots
                .add(ca)
                .map_err(|e| Error::Tls(format!("bad CA in {}: {e}", files.trusted_ca_file)))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| Error::Tls(e.to_string()))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls(format!("certificate and key do not match: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// The client side of peer TLS, for dialing `https`/`unixs` peers: the
/// peer certificate (or a generated one with `--peer-auto-tls`) as client
/// certificate, and the peers verified against `--peer-trusted-ca-file`.
/// Without a CA file (auto TLS), peers are not verified, as etcd's auto TLS
/// skips verification.
pub fn peer_client(
    files: &TlsFiles,
    hosts: &[String],
) -> Result<Option<rustls::ClientConfig>, Error> {
    if files.is_empty() {
        return Ok(None);
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = if files.trusted_ca_file.is_empty() {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(unverified::AnyServer(provider())))
    } else {
        let mut roots = RootCertStore::empty();
        for ca in load_certs(&files.trusted_ca_file)? {
            roots
                .add(ca)
                .map_err(|e| Error::Tls(format!("bad CA in {}: {e}", files.trusted_ca_file)))?;
        }
        builder.with_root_certificates(roots)
    };
    let (certs, key) = if !files.cert_file.is_empty() || !files.key_file.is_empty() {
        let certs = load_certs(&files.cert_file)?;
        let key = PrivateKeyDer::from_pem_file(&files.key_file).map_err(|e| {
            Error::Tls(format!(
                "cannot read private key from {}: {e}",
                files.key_file
            ))
        })?;
        (certs, key)
    } else {
        self_signed(hosts)?
    };
    let config = builder
        .with_client_auth_cert(certs, key)
        .map_err(|e| Error::Tls(format!("certificate and key do not match: {e}")))?;
    Ok(Some(config))
}

mod unverified {
    use std::sync::Arc;

    use rustls::DigitallySignedStruct;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

    /// Accepts any peer certificate whose handshake signature is valid:
    /// auto TLS encrypts peer traffic but, like etcd's, cannot authenticate.
    #[derive(Debug)]
    pub(super) struct AnyServer(pub(super) Arc<CryptoProvider>);

    impl ServerCertVerifier for AnyServer {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}
