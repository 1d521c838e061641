//! Peer URLs as etcd accepts them: `scheme://host:port` with no path, the
//! scheme one of http, https, unix, unixs. For the unix schemes etcd listens
//! on (and dials) a socket whose path is the URL's `host:port` text taken
//! literally, relative to the working directory: `unix://localhost:2380` is
//! the socket file `./localhost:2380`.

use std::path::PathBuf;

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Network {
    Tcp,
    Unix,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeerUrl {
    pub(crate) url: String,
    pub(crate) network: Network,
    /// `host:port` to dial over TCP, or the socket path.
    pub(crate) address: String,
    /// The host the TLS certificate must name.
    pub(crate) server_name: String,
    pub(crate) tls: bool,
}

impl PeerUrl {
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: http::Uri = url.trim().parse().map_err(|_| bad("not a URL"))?;
        let (network, tls) = match uri.scheme_str() {
            Some("http") => (Network::Tcp, false),
            Some("https") => (Network::Tcp, true),
            Some("unix") => (Network::Unix, false),
            Some("unixs") => (Network::Unix, true),
            _ => return Err(bad("URL scheme must be http, https, unix, or unixs")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| bad("URL address does not have the form \"host:port\""))?;
        if authority.port().is_none() || authority.host().is_empty() {
            return Err(bad("URL address does not have the form \"host:port\""));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("URL must not contain a path"));
        }
        let host = authority.host();
        let server_name = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .to_string();
        Ok(Self {
            url: url.trim().to_string(),
            network,
            address: authority.as_str().to_string(),
            server_name,
            tls,
        })
    }
}

/// The socket file a `unix://` or `unixs://` peer URL names (what the
/// server listens on), or `None` for a TCP URL or one that does not parse.
pub fn unix_socket_path(url: &str) -> Option<PathBuf> {
    let parsed = PeerUrl::parse(url).ok()?;
    (parsed.network == Network::Unix).then(|| PathBuf::from(parsed.address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_urls_dial_host_and_port() {
        let u = PeerUrl::parse("https://10.0.0.1:2380").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.network, Network::Tcp);
        assert_eq!(u.address, "10.0.0.1:2380");
        assert_eq!(u.server_name, "10.0.0.1");
        assert!(u.tls);
        let v6 = PeerUrl::parse("http://[::1]:2380").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v6.address, "[::1]:2380");
        assert_eq!(v6.server_name, "::1");
        assert!(!v6.tls);
    }

    #[test]
    fn unix_urls_name_a_socket_relative_to_the_working_directory() {
        assert_eq!(
            unix_socket_path("unix://localhost:2380"),
            Some(PathBuf::from("localhost:2380"))
        );
        let u = PeerUrl::parse("unixs://node1:12345").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.network, Network::Unix);
        assert_eq!(u.server_name, "node1");
        assert!(u.tls);
        assert_eq!(unix_socket_path("http://127.0.0.1:2380"), None);
    }

    #[test]
    fn malformed_urls_are_refused() {
        for url in [
            "ftp://a:1",
            "http://a",
            "http://a:1/path",
            "a:1",
            "unix:///tmp/sock",
        ] {
            assert!(PeerUrl::parse(url).is_err(), "{url} accepted");
        }
    }
}
