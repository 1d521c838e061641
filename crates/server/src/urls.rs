//! Listen URLs as etcd takes them: `http://host:port` or `https://host:port`,
//! the host a name (resolved, first address wins, as Go's listener does) or
//! an IP.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use crate::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenUrl {
    pub url: String,
    pub tls: bool,
    pub addr: SocketAddr,
}

pub fn parse(url: &str) -> Result<ListenUrl, Error> {
    let bad = |why: &str| Error::Flag(format!("invalid URL {url:?}: {why}"));
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        Some(other) => {
            return Err(bad(&format!(
                "URL scheme must be http or https, got {other:?}"
            )));
        }
        None => return Err(bad("URL scheme must be http or https")),
    };
    let host = uri.host().ok_or_else(|| bad("missing host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().ok_or_else(|| bad("missing port"))?;
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| bad(&e.to_string()))?
        .min_by_key(|a| a.is_ipv6())
        .ok_or_else(|| bad("host resolves to no address"))?;
    Ok(ListenUrl {
        url: url.to_string(),
        tls,
        addr,
    })
}

pub fn parse_list(list: &[String]) -> Result<Vec<ListenUrl>, Error> {
    list.iter().map(|u| parse(u)).collect()
}

/// Where a peer listener listens: peer URLs may also be unix sockets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerAddr {
    Tcp(SocketAddr),
    /// etcd takes everything after `unix://` up to a path as the socket's
    /// file name (`unix://etcd.unix:1` listens on `./etcd.unix:1`).
    Unix(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerListenUrl {
    pub url: String,
    pub tls: bool,
    pub addr: PeerAddr,
}

pub fn parse_peer(url: &str) -> Result<PeerListenUrl, Error> {
    for (scheme, tls) in [("unix://", false), ("unixs://", true)] {
        if let Some(rest) = url.strip_prefix(scheme) {
            let file = rest.split('/').next().unwrap_or_default();
            if file.is_empty() {
                return Err(Error::Flag(format!(
                    "invalid URL {url:?}: missing socket name"
                )));
            }
            return Ok(PeerListenUrl {
                url: url.to_string(),
                tls,
                addr: PeerAddr::Unix(PathBuf::from(file)),
            });
        }
    }
    let tcp = parse(url)?;
    Ok(PeerListenUrl {
        url: tcp.url,
        tls: tcp.tls,
        addr: PeerAddr::Tcp(tcp.addr),
    })
}

pub fn parse_peer_list(list: &[String]) -> Result<Vec<PeerListenUrl>, Error> {
    list.iter().map(|u| parse_peer(u)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_etcd_urls() {
        let u = parse("http://127.0.0.1:2379").unwrap();
        assert!(!u.tls);
        assert_eq!(u.addr, "127.0.0.1:2379".parse().unwrap());
        let u = parse("https://localhost:20000").unwrap();
        assert!(u.tls);
        assert_eq!(u.addr.port(), 20000);
        assert!(parse("unix://x").is_err());
        assert!(parse("http://127.0.0.1").is_err());
        assert!(parse("nonsense").is_err());
    }

    #[test]
    fn peer_urls_may_be_unix_sockets() {
        let u = parse_peer("unix://etcd.unix:1").unwrap();
        assert_eq!(u.addr, PeerAddr::Unix(PathBuf::from("etcd.unix:1")));
        assert!(!u.tls);
        assert!(parse_peer("unixs://a.sock").unwrap().tls);
        assert!(matches!(
            parse_peer("http://127.0.0.1:2380").unwrap().addr,
            PeerAddr::Tcp(_)
        ));
        assert!(parse_peer("unix://").is_err());
    }
}
