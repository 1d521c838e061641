//! Members and their ids. Ids are derived the way etcd derives them (a SHA-1
//! over sorted peer URLs and the cluster token; the cluster id over the
//! sorted member ids), so the same `--initial-cluster` gives the same hex ids
//! that etcd would show.

use std::collections::BTreeMap;
use std::sync::RwLock;

use api::pb::etcdserverpb::Member as PbMember;
use sha1::{Digest, Sha1};

use crate::Error;
use crate::config::ServerConfig;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

impl Member {
    pub fn to_pb(&self) -> PbMember {
        PbMember {
            id: self.id,
            name: self.name.clone(),
            peer_ur_ls: self.peer_urls.clone(),
            client_ur_ls: self.client_urls.clone(),
            is_learner: self.is_learner,
        }
    }
}

fn first_u64(digest: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(b)
}

/// A member's id: SHA-1 of its sorted peer URLs followed by the cluster token.
pub fn member_id(peer_urls: &[String], token: &str) -> u64 {
    let mut urls = peer_urls.to_vec();
    urls.sort();
    let mut h = Sha1::new();
    for u in &urls {
        h.update(u.as_bytes());
    }
    h.update(token.as_bytes());
    first_u64(&h.finalize())
}

/// The cluster id: SHA-1 of the sorted member ids, 8 big-endian bytes each.
pub fn cluster_id(member_ids: &[u64]) -> u64 {
    let mut ids = member_ids.to_vec();
    ids.sort_unstable();
    let mut h = Sha1::new();
    for id in ids {
        h.update(id.to_be_bytes());
    }
    first_u64(&h.finalize())
}

/// The members this member knows, and who it is.
pub struct Membership {
    pub cluster_id: u64,
    pub local_id: u64,
    members: RwLock<BTreeMap<u64, Member>>,
}

impl Membership {
    /// The cluster `--initial-cluster` describes, with this member located in it
    /// by `--name` and checked against `--initial-advertise-peer-urls`.
    pub fn bootstrap(cfg: &ServerConfig) -> Result<Membership, Error> {
        let mut members = BTreeMap::new();
        for (name, urls) in &cfg.initial_cluster {
            let id = member_id(urls, &cfg.initial_cluster_token);
            if members.contains_key(&id) {
                return Err(Error::Config(format!(
                    "member count is unequal or duplicate peer URLs in --initial-cluster ({name})"
                )));
            }
            members.insert(
                id,
                Member {
                    id,
                    name: name.clone(),
                    peer_urls: urls.clone(),
                    client_urls: vec![],
                    is_learner: false,
                },
            );
        }
        let local = members
            .values()
            .find(|m| m.name == cfg.name)
            .ok_or_else(|| {
                Error::Config(format!(
                    "couldn't find local name {:?} in the initial cluster configuration",
                    cfg.name
                ))
            })?;
        let mut local_urls = local.peer_urls.clone();
        let mut advertised = cfg.advertise_peer_urls.clone();
        local_urls.sort();
        advertised.sort();
        if local_urls != advertised {
            return Err(Error::Config(format!(
                "--initial-cluster has {}={} but missing from --initial-advertise-peer-urls={} (peer URLs of a member must match)",
                cfg.name,
                local_urls.join(","),
                advertised.join(",")
            )));
        }
        let local_id = local.id;
        let ids: Vec<u64> = members.keys().copied().collect();
        Ok(Membership {
            cluster_id: cluster_id(&ids),
            local_id,
            members: RwLock::new(members),
        })
    }

    pub fn voter_ids(&self) -> Vec<u64> {
        self.read()
            .values()
            .filter(|m| !m.is_learner)
            .map(|m| m.id)
            .collect()
    }

    pub fn members(&self) -> Vec<Member> {
        self.read().values().cloned().collect()
    }

    /// Records a member's published name and client URLs.
    pub fn set_attributes(&self, id: u64, name: String, client_urls: Vec<String>) {
        let mut members = match self.members.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(m) = members.get_mut(&id) {
            m.name = name;
            m.client_urls = client_urls;
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u64, Member>> {
        match self.members.read() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids etcd 3.4 printed for `--initial-cluster default=http://localhost:2380`
    /// with the default token `etcd-cluster`.
    #[test]
    fn ids_match_etcd() {
        let id = member_id(&["http://localhost:2380".to_string()], "etcd-cluster");
        assert_eq!(format!("{id:x}"), "8e9e05c52164694d");
        assert_eq!(format!("{:x}", cluster_id(&[id])), "cdf818194e3a8c32");
    }

    #[test]
    fn local_member_must_be_in_the_initial_cluster() {
        let cfg = ServerConfig {
            name: "other".into(),
            ..ServerConfig::default()
        };
        assert!(matches!(Membership::bootstrap(&cfg), Err(Error::Config(_))));
        let ok = Membership::bootstrap(&ServerConfig::default()).unwrap();
        assert_eq!(ok.voter_ids(), vec![ok.local_id]);
    }
}
