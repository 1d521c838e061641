//! A throwaway certificate authority for TLS tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

/// A CA, a server certificate for 127.0.0.1/localhost and a client
/// certificate, all signed by it, plus an unrelated CA. The files live as
/// long as any clone of this value.
#[derive(Debug, Clone)]
pub struct Pki {
    _dir: Arc<tempfile::TempDir>,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn write(dir: &Path, name: &str, pem: String) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

fn new_ca() -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("self-signed CA");
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(names: &[&str], issuer: &Issuer<'static, KeyPair>) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let params = CertificateParams::new(names).expect("leaf parameters");
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("signed leaf");
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    pub fn generate() -> Pki {
        let dir = tempfile::tempdir().expect("temporary directory for the PKI");
        let (ca_pem, issuer) = new_ca();
        let (other_pem, _) = new_ca();
        let (server_pem, server_key) = leaf(&["127.0.0.1", "localhost"], &issuer);
        let (client_pem, client_key) = leaf(&["client"], &issuer);
        let d = dir.path();
        Pki {
            ca: write(d, "ca.pem", ca_pem),
            other_ca: write(d, "other-ca.pem", other_pem),
            server_cert: write(d, "server.pem", server_pem),
            server_key: write(d, "server-key.pem", server_key),
            client_cert: write(d, "client.pem", client_pem),
            client_key: write(d, "client-key.pem", client_key),
            _dir: Arc::new(dir),
        }
    }

    /// The client flags that make a trusted, certified connection.
    pub fn client_flags(&self) -> Vec<String> {
        vec![
            format!("--cacert={}", self.ca.display()),
            format!("--cert={}", self.client_cert.display()),
            format!("--key={}", self.client_key.display()),
        ]
    }

    /// The server flags that serve clients over TLS and require their
    /// certificates.
    pub fn server_flags(&self) -> Vec<String> {
        vec![
            format!("--cert-file={}", self.server_cert.display()),
            format!("--key-file={}", self.server_key.display()),
            format!("--trusted-ca-file={}", self.ca.display()),
            "--client-cert-auth".to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_file_and_names_them_in_the_flags() {
        let pki = Pki::generate();
        for f in [&pki.ca, &pki.other_ca, &pki.server_cert, &pki.client_cert] {
            let pem = std::fs::read_to_string(f).unwrap();
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        }
        assert_ne!(
            std::fs::read(&pki.ca).unwrap(),
            std::fs::read(&pki.other_ca).unwrap()
        );
        let flags = pki.client_flags().join(" ");
        assert!(flags.contains(&pki.client_key.display().to_string()));
        let clone = pki.clone();
        drop(pki);
        assert!(clone.server_key.exists(), "a clone keeps the files alive");
    }
}
