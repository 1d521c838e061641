//! The client's TLS settings (etcdctl's `--cacert`, `--cert`, `--key`,
//! `--insecure-skip-tls-verify`) as a rustls configuration. Without a CA
//! bundle the system's roots are trusted, as Go's empty `tls.Config` does.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::Error;
use crate::exit;

const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What the TLS flags ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: String,
    pub key: String,
    pub cacert: String,
    pub skip_verify: bool,
}

impl TlsFiles {
    /// pkg/transport's check that a client certificate comes with its key.
    pub fn check_pair(&self) -> Result<(), Error> {
        if self.cert.is_empty() == self.key.is_empty() {
            return Ok(());
        }
        Err(Error::bad_args(format!(
            "KeyFile and CertFile must both be present[key: {}, cert: {}]",
            self.key, self.cert
        )))
    }
}

fn read_pem(path: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| {
        let reason = crate::client::dial::os_text(&e);
        Error::exit(exit::BAD_ARGS, format!("open {path}: {reason}"))
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls configuration, failing as etcdctl does on unreadable
/// or malformed files.
pub fn client_config(files: &TlsFiles) -> Result<Arc<ClientConfig>, Error> {
    let bad = |m: String| Error::exit(exit::BAD_ARGS, m);
    let mut roots = RootCertStore::empty();
    let bundle = if files.cacert.is_empty() {
        std::fs::read(SYSTEM_ROOTS).unwrap_or_default()
    } else {
        read_pem(&files.cacert)?
    };
    for cert in rustls_pemfile::certs(&mut bundle.as_slice()).flatten() {
        let _ = roots.add(cert);
    }
    if !files.cacert.is_empty() && roots.is_empty() {
        return Err(bad(format!(
            "failed to load CA certificates from {}",
            files.cacert
        )));
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?;
    let builder = if files.skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider())))
    } else {
        builder.with_root_certificates(roots)
    };
    let mut config = if files.cert.is_empty() || files.key.is_empty() {
        builder.with_no_client_auth()
    } else {
        let cert_pem = read_pem(&files.cert)?;
        let key_pem = read_pem(&files.key)?;
        let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_slice())
            .flatten()
            .collect();
        let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
            .ok()
            .flatten()
            .ok_or_else(|| bad("tls: failed to find any PEM data in key input".to_string()))?;
        builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| bad(format!("tls: {e}")))?
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// `InsecureSkipVerify`: any certificate is accepted, but the handshake
/// signatures are still checked so the session is at least consistent.
#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
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

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
