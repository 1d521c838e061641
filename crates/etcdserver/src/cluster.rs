//! The Cluster service: membership changes become raft conf changes whose
//! context is the member, proposed with a request id and answered when the
//! apply loop has applied them (membership.rs holds the list). The checks
//! that need this member's view of the others (`--strict-reconfig-check`,
//! a learner's progress) run here, before proposing, as etcd runs them.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use api::Error;
use api::pb::etcdserverpb::{
    Member as PbMember, MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse,
};
use raft::eraftpb::{ConfChange, ConfChangeType};

use crate::apply::Applied;
use crate::membership::{Member, member_id};
use crate::propose::propose_error;
use crate::server::EtcdServer;

/// etcd's HealthInterval: a peer counts as healthy once connected this long.
const HEALTH_INTERVAL: Duration = Duration::from_secs(5);
/// etcd's maxLearners.
const MAX_LEARNERS: usize = 1;
/// A learner may be promoted once it has this share of the leader's log.
const LEARNER_READY_PERCENT: f64 = 0.9;

#[async_trait::async_trait]
impl api::Cluster for EtcdServer {
    async fn member_list(&self, _req: MemberListRequest) -> Result<MemberListResponse, Error> {
        Ok(MemberListResponse {
            header: Some(self.header()),
            members: self.member_pbs(),
        })
    }

    async fn member_add(&self, req: MemberAddRequest) -> Result<MemberAddResponse, Error> {
        check_urls(&req.peer_ur_ls)?;
        let membership = &self.inner.membership;
        if membership.peer_url_owner(&req.peer_ur_ls, 0).is_some() {
            return Err(Error::PeerUrlExist);
        }
        if req.is_learner {
            let learners = membership.members().iter().filter(|m| m.is_learner).count();
            if learners >= MAX_LEARNERS {
                return Err(Error::TooManyLearners);
            }
        } else if self.inner.cfg.strict_reconfig_check {
            self.check_ready_to_add_voter()?;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let member = Member {
            id: member_id(&req.peer_ur_ls, &now.to_string()),
            name: String::new(),
            peer_urls: req.peer_ur_ls,
            client_urls: Vec::new(),
            is_learner: req.is_learner,
        };
        if membership.get(member.id).is_some() || membership.is_removed(member.id) {
            return Err(Error::MemberExist);
        }
        let change = if member.is_learner {
            ConfChangeType::AddLearnerNode
        } else {
            ConfChangeType::AddNode
        };
        let members = self.conf_change(change, &member).await?;
        Ok(MemberAddResponse {
            header: Some(self.header()),
            member: Some(member.to_pb()),
            members,
        })
    }

    async fn member_remove(&self, req: MemberRemoveRequest) -> Result<MemberRemoveResponse, Error> {
        let member = self.existing_member(req.id)?;
        if self.inner.cfg.strict_reconfig_check && !member.is_learner {
            self.check_ready_to_remove_voter(member.id)?;
        }
        let members = self
            .conf_change(ConfChangeType::RemoveNode, &member)
            .await?;
        Ok(MemberRemoveResponse {
            header: Some(self.header()),
            members,
        })
    }

    async fn member_update(&self, req: MemberUpdateRequest) -> Result<MemberUpdateResponse, Error> {
        check_urls(&req.peer_ur_ls)?;
        let mut member = self.existing_member(req.id)?;
        if self
            .inner
            .membership
            .peer_url_owner(&req.peer_ur_ls, member.id)
            .is_some()
        {
            return Err(Error::PeerUrlExist);
        }
        member.peer_urls = req.peer_ur_ls;
        // Adding a member raft already has changes nothing in raft; the
        // context carries the new URLs to every member's list.
        let change = if member.is_learner {
            ConfChangeType::AddLearnerNode
        } else {
            ConfChangeType::AddNode
        };
        let members = self.conf_change(change, &member).await?;
        Ok(MemberUpdateResponse {
            header: Some(self.header()),
            members,
        })
    }

    async fn member_promote(
        &self,
        req: MemberPromoteRequest,
    ) -> Result<MemberPromoteResponse, Error> {
        let mut member = self.existing_member(req.id)?;
        if !member.is_learner {
            return Err(Error::MemberNotLearner);
        }
        // Only the leader knows how far the learner has got.
        if !self.raft_status().is_leader() {
            if let Some((leader, link)) = self.leader_to_ask() {
                return link.member_promote(leader, req).await;
            }
            return Err(if self.has_leader() {
                Error::NotLeader
            } else {
                Error::NoLeader
            });
        }
        let ready = self
            .inner
            .raft
            .progress(member.id)
            .is_some_and(|(matched, commit)| {
                commit == 0 || (matched as f64) >= (commit as f64) * LEARNER_READY_PERCENT
            });
        if !ready {
            return Err(Error::LearnerNotReady);
        }
        member.is_learner = false;
        let members = self.conf_change(ConfChangeType::AddNode, &member).await?;
        Ok(MemberPromoteResponse {
            header: Some(self.header()),
            members,
        })
    }
}

impl EtcdServer {
    fn member_pbs(&self) -> Vec<PbMember> {
        self.inner
            .membership
            .members()
            .iter()
            .map(Member::to_pb)
            .collect()
    }

    fn existing_member(&self, id: u64) -> Result<Member, Error> {
        self.inner.membership.get(id).ok_or(Error::MemberNotFound)
    }

    /// Proposes a conf change about `member` and waits until it is applied;
    /// returns the members after it.
    async fn conf_change(
        &self,
        change: ConfChangeType,
        member: &Member,
    ) -> Result<Vec<PbMember>, Error> {
        let inner = &self.inner;
        let id = inner.ids.next();
        let mut cc = ConfChange {
            id,
            node_id: member.id,
            context: member.encode().into(),
            ..ConfChange::default()
        };
        cc.set_change_type(change);
        let waiter = inner
            .wait
            .register(id)
            .map_err(|_| Error::Internal(format!("duplicate request id {id:x}")))?;
        inner
            .raft
            .propose_conf_change(cc)
            .await
            .map_err(propose_error)?;
        let applied = match tokio::time::timeout(inner.cfg.request_timeout(), waiter).await {
            Ok(Ok(outcome)) => outcome?,
            Ok(Err(_closed)) => return Err(Error::Stopped),
            Err(_elapsed) => return Err(self.timeout_error()),
        };
        match applied {
            Applied::Members(members) => Ok(members),
            _ => Ok(self.member_pbs()),
        }
    }

    /// Voters this member has been connected to for a while (itself
    /// included).
    fn healthy_voters(&self) -> usize {
        let since = Instant::now().checked_sub(HEALTH_INTERVAL);
        let local = self.member_id();
        self.inner
            .membership
            .members()
            .iter()
            .filter(|m| !m.is_learner)
            .filter(|m| {
                m.id == local
                    || self
                        .inner
                        .transport
                        .active_since(m.id)
                        .is_some_and(|t| since.is_some_and(|s| t <= s))
            })
            .count()
    }

    /// etcd's strict check for a new voter: the started voters must still
    /// be a quorum with it, and this member must have been connected to
    /// every voter for a while.
    fn check_ready_to_add_voter(&self) -> Result<(), Error> {
        let members = self.inner.membership.members();
        let voters: Vec<&Member> = members.iter().filter(|m| !m.is_learner).collect();
        let started = voters.iter().filter(|m| m.is_started()).count();
        if voters.len() > 1 && started < quorum(voters.len() + 1) {
            return Err(Error::MemberNotEnoughStarted);
        }
        if self.healthy_voters() < voters.len() {
            return Err(Error::Unhealthy);
        }
        Ok(())
    }

    /// etcd's strict check for removing a voter: what is left must still be
    /// a started quorum, and (unless the member is down anyway) the
    /// connected voters without it must be a quorum.
    fn check_ready_to_remove_voter(&self, id: u64) -> Result<(), Error> {
        let members = self.inner.membership.members();
        let voters: Vec<&Member> = members.iter().filter(|m| !m.is_learner).collect();
        let started_left = voters
            .iter()
            .filter(|m| m.id != id && m.is_started())
            .count();
        if started_left < quorum(voters.len().saturating_sub(1)) {
            return Err(Error::MemberNotEnoughStarted);
        }
        if id != self.member_id() && self.inner.transport.active_since(id).is_none() {
            return Ok(());
        }
        if self.healthy_voters().saturating_sub(1) < quorum(voters.len()) {
            return Err(Error::Unhealthy);
        }
        Ok(())
    }
}

fn quorum(n: usize) -> usize {
    n / 2 + 1
}

/// Peer URLs must be absolute URLs with a host, as etcd's types.NewURLs
/// requires.
fn check_urls(urls: &[String]) -> Result<(), Error> {
    let valid = |u: &str| {
        let Some((scheme, rest)) = u.split_once("://") else {
            return false;
        };
        matches!(scheme, "http" | "https" | "unix" | "unixs")
            && !rest.is_empty()
            && !rest.contains('/')
    };
    if urls.is_empty() || !urls.iter().all(|u| valid(u)) {
        return Err(Error::MemberBadUrls);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_like_etcd() {
        assert!(check_urls(&["http://127.0.0.1:2380".into()]).is_ok());
        assert!(check_urls(&["unix://localhost:2380".into()]).is_ok());
        assert!(check_urls(&[]).is_err());
        assert!(check_urls(&["127.0.0.1:2380".into()]).is_err());
        assert!(check_urls(&["http://127.0.0.1:2380/path".into()]).is_err());
    }

    #[test]
    fn quorum_is_a_majority() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(2), 2);
        assert_eq!(quorum(3), 2);
        assert_eq!(quorum(4), 3);
    }
}
