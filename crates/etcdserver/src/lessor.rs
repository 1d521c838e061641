//! The lessor: the timing half of leases, kept in memory. The durable half
//! (which leases exist, their TTLs, the keys attached to them) lives in the
//! MVCC store and changes only through raft. Only the leader lets leases
//! expire: a follower's leases never expire; when a member becomes leader
//! every lease gets its full TTL plus an election timeout from that moment
//! (etcd's Promote), spread out so that no more than etcd's revoke rate
//! falls due in any one second. Expired leases are revoked through raft by
//! the server, so every member deletes the same keys at the same revision.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// etcd's MaxLeaseTTL: about 285 years.
pub(crate) const MAX_LEASE_TTL: i64 = 9_000_000_000;
/// etcd's leaseRevokeRate: revokes the leader aims at per second at most.
const REVOKE_RATE: usize = 1000;
/// An expired lease whose revoke has not gone through after this long is
/// offered for revoking again (a leader change may have lost it).
const REVOKE_RETRY: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenewError {
    NotFound,
    /// Only the leader renews; followers must forward.
    NotPrimary,
}

struct Timer {
    ttl: i64,
    /// None while this member is not the leader: the lease cannot expire.
    expiry: Option<Instant>,
    revoking_since: Option<Instant>,
}

impl Timer {
    fn refresh(&mut self, now: Instant, extend: Duration) {
        let ttl = Duration::from_secs(u64::try_from(self.ttl).unwrap_or(0));
        self.expiry = Some(now + extend + ttl);
        self.revoking_since = None;
    }
}

#[derive(Default)]
struct State {
    leases: HashMap<i64, Timer>,
    primary: bool,
}

pub(crate) struct Lessor {
    min_ttl: i64,
    state: Mutex<State>,
}

impl Lessor {
    /// `min_ttl` in seconds: etcd's 1.5 election timeouts, rounded up.
    pub(crate) fn new(min_ttl: i64) -> Self {
        Lessor {
            min_ttl,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The TTL a grant of `ttl` seconds really gets.
    pub(crate) fn clamp_ttl(&self, ttl: i64) -> i64 {
        ttl.max(self.min_ttl)
    }

    /// Leases found in the store at start; they expire only once this member
    /// leads.
    pub(crate) fn restore(&self, leases: impl IntoIterator<Item = (i64, i64)>) {
        let min_ttl = self.min_ttl;
        let mut state = self.state();
        for (id, ttl) in leases {
            let ttl = ttl.max(min_ttl);
            state.leases.insert(
                id,
                Timer {
                    ttl,
                    expiry: None,
                    revoking_since: None,
                },
            );
        }
    }

    /// The store's contents were replaced (a snapshot from the leader): the
    /// leases are exactly the new contents'. Only a follower receives
    /// snapshots, so none of them is expiring here.
    pub(crate) fn reset(&self, leases: impl IntoIterator<Item = (i64, i64)>) {
        self.state().leases.clear();
        self.restore(leases);
    }

    /// A grant has been applied.
    pub(crate) fn grant(&self, id: i64, ttl: i64, now: Instant) {
        let mut state = self.state();
        let mut timer = Timer {
            ttl,
            expiry: None,
            revoking_since: None,
        };
        if state.primary {
            timer.refresh(now, Duration::ZERO);
        }
        state.leases.insert(id, timer);
    }

    /// A revoke has been applied.
    pub(crate) fn revoke(&self, id: i64) {
        self.state().leases.remove(&id);
    }

    pub(crate) fn ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.state().leases.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// A keepalive: the lease's full TTL again, from now.
    pub(crate) fn renew(&self, id: i64, now: Instant) -> Result<i64, RenewError> {
        let mut state = self.state();
        if !state.primary {
            return Err(RenewError::NotPrimary);
        }
        let timer = state.leases.get_mut(&id).ok_or(RenewError::NotFound)?;
        // An expired lease is on its way out; renewing it would race the
        // revoke, so it is reported gone, as etcd reports it once revoked.
        if timer.expiry.is_some_and(|e| e <= now) {
            return Err(RenewError::NotFound);
        }
        timer.refresh(now, Duration::ZERO);
        Ok(timer.ttl)
    }

    /// (granted TTL, remaining seconds) of a lease, as TimeToLive reports.
    pub(crate) fn time_to_live(&self, id: i64, now: Instant) -> Option<(i64, i64)> {
        let state = self.state();
        let timer = state.leases.get(&id)?;
        let remaining = match timer.expiry {
            Some(expiry) => {
                i64::try_from(expiry.saturating_duration_since(now).as_secs()).unwrap_or(i64::MAX)
            }
            None => timer.ttl,
        };
        Some((timer.ttl, remaining))
    }

    /// This member became leader and has applied everything of earlier
    /// terms: every lease gets its TTL plus `extend` from now, and expiries
    /// that would pile up beyond the revoke rate are spread out.
    pub(crate) fn promote(&self, extend: Duration, now: Instant) {
        let mut state = self.state();
        state.primary = true;
        for timer in state.leases.values_mut() {
            timer.refresh(now, extend);
        }
        if state.leases.len() < REVOKE_RATE {
            return;
        }
        let mut by_expiry: Vec<(Instant, i64)> = state
            .leases
            .iter()
            .filter_map(|(id, t)| t.expiry.map(|e| (e, *id)))
            .collect();
        by_expiry.sort_unstable();
        let per_second = (3 * REVOKE_RATE) / 4;
        let mut window_start = by_expiry.first().map_or(now, |(e, _)| *e);
        let mut in_window = 0usize;
        for (expiry, id) in by_expiry {
            if expiry >= window_start + Duration::from_secs(1) {
                window_start = expiry;
                in_window = 1;
                continue;
            }
            in_window += 1;
            if in_window > per_second {
                // Too many in this second: push this one into a later one.
                let shift = Duration::from_secs(u64::try_from(in_window / per_second).unwrap_or(1));
                if let Some(timer) = state.leases.get_mut(&id) {
                    timer.expiry = Some(expiry + shift);
                }
            }
        }
    }

    /// This member no longer leads: its leases stop expiring.
    pub(crate) fn demote(&self) {
        let mut state = self.state();
        state.primary = false;
        for timer in state.leases.values_mut() {
            timer.expiry = None;
            timer.revoking_since = None;
        }
    }

    pub(crate) fn is_primary(&self) -> bool {
        self.state().primary
    }

    /// Leases that have expired and are not already being revoked, at most
    /// `limit` of them, soonest first; they are marked as being revoked.
    pub(crate) fn take_expired(&self, now: Instant, limit: usize) -> Vec<i64> {
        let mut state = self.state();
        if !state.primary {
            return Vec::new();
        }
        let mut due: Vec<(Instant, i64)> = state
            .leases
            .iter()
            .filter(|(_, t)| {
                t.revoking_since
                    .is_none_or(|since| now >= since + REVOKE_RETRY)
            })
            .filter_map(|(id, t)| t.expiry.filter(|e| *e <= now).map(|e| (e, *id)))
            .collect();
        due.sort_unstable();
        due.truncate(limit);
        for (_, id) in &due {
            if let Some(timer) = state.leases.get_mut(id) {
                timer.revoking_since = Some(now);
            }
        }
        due.into_iter().map(|(_, id)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn ttl_has_a_minimum() {
        let l = Lessor::new(2);
        assert_eq!(l.clamp_ttl(1), 2);
        assert_eq!(l.clamp_ttl(10), 10);
    }

    #[test]
    fn only_the_leader_expires_and_renews() {
        let l = Lessor::new(1);
        let t0 = Instant::now();
        l.grant(1, 5, t0);
        assert_eq!(l.take_expired(t0 + 100 * SEC, 10), Vec::<i64>::new());
        assert_eq!(l.renew(1, t0), Err(RenewError::NotPrimary));
        assert_eq!(l.time_to_live(1, t0), Some((5, 5)));

        l.promote(SEC, t0);
        assert_eq!(l.time_to_live(1, t0), Some((5, 6)));
        assert_eq!(l.take_expired(t0 + 5 * SEC, 10), Vec::<i64>::new());
        assert_eq!(l.renew(1, t0 + 4 * SEC), Ok(5));
        assert_eq!(l.take_expired(t0 + 8 * SEC, 10), Vec::<i64>::new());
        assert_eq!(l.take_expired(t0 + 9 * SEC, 10), vec![1]);
        // Being revoked: not offered again until the retry interval.
        assert_eq!(l.take_expired(t0 + 10 * SEC, 10), Vec::<i64>::new());
        assert_eq!(l.take_expired(t0 + 12 * SEC, 10), vec![1]);
        assert_eq!(l.renew(1, t0 + 12 * SEC), Err(RenewError::NotFound));

        l.demote();
        assert_eq!(l.take_expired(t0 + 100 * SEC, 10), Vec::<i64>::new());
        l.revoke(1);
        assert_eq!(l.time_to_live(1, t0), None);
    }

    #[test]
    fn a_new_leader_gives_restored_leases_their_full_ttl() {
        let l = Lessor::new(1);
        l.restore([(7, 30), (8, 60)]);
        let t0 = Instant::now();
        l.promote(SEC, t0);
        assert_eq!(l.take_expired(t0 + 30 * SEC, 10), Vec::<i64>::new());
        assert_eq!(l.take_expired(t0 + 31 * SEC, 10), vec![7]);
        assert_eq!(l.ids(), vec![7, 8]);
    }

    #[test]
    fn promote_spreads_a_pile_of_expiries() {
        let l = Lessor::new(1);
        let n = 3000;
        l.restore((1..=n).map(|id| (id, 10)));
        let t0 = Instant::now();
        l.promote(Duration::ZERO, t0);
        let first_second = l.take_expired(t0 + 10 * SEC, usize::MAX);
        assert!(
            first_second.len() <= REVOKE_RATE,
            "{} due at once",
            first_second.len()
        );
        for id in &first_second {
            l.revoke(*id);
        }
        let all = l.take_expired(t0 + 20 * SEC, usize::MAX);
        assert_eq!(first_second.len() + all.len(), usize::try_from(n).unwrap());
    }
}
