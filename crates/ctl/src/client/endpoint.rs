//! clientv3's reading of an endpoint string: an optional `scheme://` in
//! front of `host:port`. The scheme decides the transport: `http` is always
//! plaintext, `https` always TLS, and a bare address follows the TLS flags.

/// One endpoint as the client dials it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// What the user wrote; the name reports use.
    pub raw: String,
    /// `host:port` to dial.
    pub host: String,
    /// `Some(true)` for `https`, `Some(false)` for `http` and unknown
    /// schemes, `None` without a scheme.
    pub tls: Option<bool>,
}

impl Endpoint {
    pub fn parse(raw: &str) -> Self {
        let Some((scheme, rest)) = raw.split_once("://") else {
            return Endpoint {
                raw: raw.to_string(),
                host: raw.to_string(),
                tls: None,
            };
        };
        let host = rest.split('/').next().unwrap_or_default().to_string();
        Endpoint {
            raw: raw.to_string(),
            host,
            tls: Some(scheme == "https" || scheme == "unixs"),
        }
    }

    /// The host without its port, for TLS server name checks.
    pub fn hostname(&self) -> &str {
        let h = &self.host;
        if let Some(rest) = h.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        h.rsplit_once(':').map_or(h.as_str(), |(name, _)| name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_schemes_and_hosts() {
        let e = Endpoint::parse("127.0.0.1:2379");
        assert_eq!(
            (e.host.as_str(), e.tls, e.hostname()),
            ("127.0.0.1:2379", None, "127.0.0.1")
        );
        let e = Endpoint::parse("http://localhost:2379/");
        assert_eq!(
            (e.host.as_str(), e.tls, e.hostname()),
            ("localhost:2379", Some(false), "localhost")
        );
        let e = Endpoint::parse("https://[::1]:2379");
        assert_eq!(
            (e.host.as_str(), e.tls, e.hostname()),
            ("[::1]:2379", Some(true), "::1")
        );
    }
}
