//! Members and their ids. Ids are derived the way etcd derives them (a SHA-1
//! over sorted peer URLs and the cluster token; the cluster id over the
//! sorted member ids), so the same `--initial-cluster` gives the same hex ids
//! that etcd would show. The member list changes only as the apply loop
//! applies conf changes and attribute updates, and is stored in the MVCC
//! store in the same write batch, so it survives restarts and travels in
//! snapshots.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{PoisonError, RwLock};

use api::pb::etcdserverpb::Member as PbMember;
use prost::Message;
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

    pub fn from_pb(pb: PbMember) -> Member {
        Member {
            id: pb.id,
            name: pb.name,
            peer_urls: pb.peer_ur_ls,
            client_urls: pb.client_ur_ls,
            is_learner: pb.is_learner,
        }
    }

    /// The form kept in the store and carried in conf change contexts.
    pub fn encode(&self) -> Vec<u8> {
        self.to_pb().encode_to_vec()
    }

    pub fn decode(bytes: &[u8]) -> Result<Member, prost::DecodeError> {
        PbMember::decode(bytes).map(Member::from_pb)
    }

    /// etcd counts a member as started once it has published its name.
    pub fn is_started(&self) -> bool {
        !self.name.is_empty()
    }
}

fn first_u64(digest: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(b)
}

/// A member's id: SHA-1 of its sorted peer URLs followed by `salt` (the
/// cluster token at bootstrap; the time of the request for a member added
/// later, as etcd does, so re-adding the same URLs gives a new id).
pub fn member_id(peer_urls: &[String], salt: &str) -> u64 {
    let mut urls = peer_urls.to_vec();
    urls.sort();
    let mut h = Sha1::new();
    for u in &urls {
        h.update(u.as_bytes());
    }
    h.update(salt.as_bytes());
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

#[derive(Default, Clone)]
struct State {
    members: BTreeMap<u64, Member>,
    removed: BTreeSet<u64>,
}

/// The members this member knows, and who it is.
pub struct Membership {
    pub cluster_id: u64,
    pub local_id: u64,
    state: RwLock<State>,
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
        if !same_urls(&local.peer_urls, &cfg.advertise_peer_urls) {
            return Err(Error::Config(format!(
                "--initial-cluster has {}={} but missing from --initial-advertise-peer-urls={} (peer URLs of a member must match)",
                cfg.name,
                local.peer_urls.join(","),
                cfg.advertise_peer_urls.join(",")
            )));
        }
        let local_id = local.id;
        let ids: Vec<u64> = members.keys().copied().collect();
        Ok(Membership {
            cluster_id: cluster_id(&ids),
            local_id,
            state: RwLock::new(State {
                members,
                removed: BTreeSet::new(),
            }),
        })
    }

    /// Joining an existing cluster: the member list and cluster id come from
    /// the peers; this member is the one whose peer URLs are ours.
    pub fn join(
        cfg: &ServerConfig,
        cluster_id: u64,
        members: Vec<Member>,
    ) -> Result<Membership, Error> {
        let local = members
            .iter()
            .find(|m| same_urls(&m.peer_urls, &cfg.advertise_peer_urls))
            .ok_or_else(|| {
                Error::Config(format!(
                    "error validating peerURLs {{ClusterID:{cluster_id:x} Members:[{}]}}: member count is unequal",
                    members
                        .iter()
                        .map(|m| format!("{:x}", m.id))
                        .collect::<Vec<_>>()
                        .join(" ")
                ))
            })?;
        let local_id = local.id;
        Ok(Membership {
            cluster_id,
            local_id,
            state: RwLock::new(State {
                members: members.into_iter().map(|m| (m.id, m)).collect(),
                removed: BTreeSet::new(),
            }),
        })
    }

    /// A restarting member: ids from its WAL, members from its store.
    pub fn restore(
        cluster_id: u64,
        local_id: u64,
        store: &mvcc::Store,
    ) -> Result<Membership, Error> {
        let membership = Membership {
            cluster_id,
            local_id,
            state: RwLock::new(State::default()),
        };
        membership.reload(store)?;
        Ok(membership)
    }

    /// Replaces the in-memory list with the store's (after a snapshot
    /// replaced the store's contents).
    pub fn reload(&self, store: &mvcc::Store) -> Result<(), Error> {
        let mut state = State::default();
        for (id, encoded) in store.members()? {
            let member = Member::decode(&encoded).map_err(|err| {
                Error::Config(format!("the stored member {id:x} is damaged: {err}"))
            })?;
            state.members.insert(id, member);
        }
        state.removed = store.removed_members()?.into_iter().collect();
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = state;
        Ok(())
    }

    pub fn voter_ids(&self) -> Vec<u64> {
        self.read()
            .members
            .values()
            .filter(|m| !m.is_learner)
            .map(|m| m.id)
            .collect()
    }

    pub fn members(&self) -> Vec<Member> {
        self.read().members.values().cloned().collect()
    }

    pub fn get(&self, id: u64) -> Option<Member> {
        self.read().members.get(&id).cloned()
    }

    pub fn is_removed(&self, id: u64) -> bool {
        self.read().removed.contains(&id)
    }

    pub fn local_is_learner(&self) -> bool {
        self.get(self.local_id).is_some_and(|m| m.is_learner)
    }

    /// The member using any of `urls` as a peer URL, other than `except`.
    pub fn peer_url_owner(&self, urls: &[String], except: u64) -> Option<u64> {
        self.read()
            .members
            .values()
            .find(|m| m.id != except && m.peer_urls.iter().any(|u| urls.contains(u)))
            .map(|m| m.id)
    }

    /// Adds or replaces a member.
    pub fn upsert(&self, member: Member) {
        self.write().members.insert(member.id, member);
    }

    /// Removes a member for good: its id can never come back.
    pub fn remove(&self, id: u64) -> Option<Member> {
        let mut state = self.write();
        state.removed.insert(id);
        state.members.remove(&id)
    }

    /// Records a member's published name and client URLs; returns the
    /// updated member.
    pub fn set_attributes(
        &self,
        id: u64,
        name: String,
        client_urls: Vec<String>,
    ) -> Option<Member> {
        let mut state = self.write();
        let m = state.members.get_mut(&id)?;
        m.name = name;
        m.client_urls = client_urls;
        Some(m.clone())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn same_urls(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
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

    #[test]
    fn joining_finds_itself_by_peer_urls() {
        let cfg = ServerConfig {
            advertise_peer_urls: vec!["http://127.0.0.1:3".into()],
            ..ServerConfig::default()
        };
        let member = |id: u64, url: &str| Member {
            id,
            name: String::new(),
            peer_urls: vec![url.into()],
            client_urls: vec![],
            is_learner: false,
        };
        let joined = Membership::join(
            &cfg,
            7,
            vec![
                member(1, "http://127.0.0.1:1"),
                member(3, "http://127.0.0.1:3"),
            ],
        )
        .unwrap();
        assert_eq!((joined.cluster_id, joined.local_id), (7, 3));
        assert!(Membership::join(&cfg, 7, vec![member(1, "http://127.0.0.1:1")]).is_err());
    }

    #[test]
    fn removed_ids_are_remembered() {
        let m = Membership::bootstrap(&ServerConfig::default()).unwrap();
        let id = m.local_id;
        assert!(m.remove(id).is_some());
        assert!(m.is_removed(id));
        assert!(m.get(id).is_none());
        assert_eq!(
            Member::decode(&Member::default_for_test().encode()).unwrap(),
            Member::default_for_test()
        );
    }

    impl Member {
        fn default_for_test() -> Member {
            Member {
                id: 9,
                name: "n".into(),
                peer_urls: vec!["http://a:1".into()],
                client_urls: vec!["http://a:2".into()],
                is_learner: true,
            }
        }
    }
}
