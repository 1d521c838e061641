//! Batching of linearizable reads: every caller that arrives while the Ready
//! loop is busy joins one ReadIndex round, so a burst of reads costs one
//! heartbeat exchange with the quorum, not one per read.

use std::collections::HashMap;

use raft::{INVALID_ID, RawNode, ReadState, StateRole};
use tokio::sync::oneshot;

use crate::Error;
use crate::log_store::LogStore;

type Reply = oneshot::Sender<Result<u64, Error>>;

struct Round {
    replies: Vec<Reply>,
    /// Ticks since the round was formed.
    age: usize,
    sent: bool,
}

/// A round's ReadIndex context: the node id, then the round number.
fn context(node_id: u64, round: u64) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(16);
    ctx.extend_from_slice(&node_id.to_be_bytes());
    ctx.extend_from_slice(&round.to_be_bytes());
    ctx
}

/// The round number of a context this node issued.
fn own_round(node_id: u64, ctx: &[u8]) -> Option<u64> {
    let (id, round) = ctx.split_at_checked(8)?;
    let id = u64::from_be_bytes(id.try_into().ok()?);
    let round = u64::from_be_bytes(round.try_into().ok()?);
    (id == node_id).then_some(round)
}

pub(crate) struct ReadRounds {
    /// This node's id, the first half of every round's context: the leader
    /// keeps one pending read per context, so contexts from different
    /// followers must never collide (a collision drops the later round
    /// until its retry).
    node_id: u64,
    next_ctx: u64,
    queued: Vec<Reply>,
    rounds: HashMap<u64, Round>,
    /// A sent round unanswered this long is sent again: raft drops ReadIndex
    /// requests silently when leadership moves.
    retry_ticks: usize,
    expire_ticks: usize,
}

impl ReadRounds {
    pub(crate) fn new(node_id: u64, election_tick: usize) -> Self {
        let election_tick = election_tick.max(1);
        Self {
            node_id,
            next_ctx: 1,
            queued: Vec::new(),
            rounds: HashMap::new(),
            retry_ticks: election_tick,
            expire_ticks: 3 * election_tick,
        }
    }

    pub(crate) fn queue(&mut self, reply: Reply) {
        self.queued.push(reply);
    }

    /// Forms a round from the callers queued since the last call and sends
    /// every round raft can take now. Returns whether a round was formed.
    pub(crate) fn issue(&mut self, raw: &mut RawNode<LogStore>) -> bool {
        let mut formed = false;
        if !self.queued.is_empty() {
            let replies = std::mem::take(&mut self.queued);
            if raw.raft.leader_id == INVALID_ID {
                for reply in replies {
                    let _ = reply.send(Err(Error::NoLeader));
                }
            } else {
                let ctx = self.next_ctx;
                self.next_ctx += 1;
                self.rounds.insert(
                    ctx,
                    Round {
                        replies,
                        age: 0,
                        sent: false,
                    },
                );
                formed = true;
            }
        }
        // A leader ignores ReadIndex until it has committed an entry of its
        // own term, so rounds wait here until then.
        let can_send = raw.raft.leader_id != INVALID_ID
            && (raw.raft.state != StateRole::Leader || raw.raft.commit_to_current_term());
        if can_send {
            for (ctx, round) in &mut self.rounds {
                if !round.sent {
                    round.sent = true;
                    raw.read_index(context(self.node_id, *ctx));
                }
            }
        }
        formed
    }

    pub(crate) fn resolve(&mut self, states: Vec<ReadState>) {
        for state in states {
            let Some(ctx) = own_round(self.node_id, &state.request_ctx) else {
                continue;
            };
            if let Some(round) = self.rounds.remove(&ctx) {
                for reply in round.replies {
                    let _ = reply.send(Ok(state.index));
                }
            }
        }
    }

    pub(crate) fn tick(&mut self, raw: &mut RawNode<LogStore>) {
        let no_leader = raw.raft.leader_id == INVALID_ID;
        let mut expired = Vec::new();
        for (ctx, round) in &mut self.rounds {
            round.age += 1;
            if round.age >= self.expire_ticks {
                expired.push(*ctx);
            } else if round.sent && round.age % self.retry_ticks == 0 && !no_leader {
                raw.read_index(context(self.node_id, *ctx));
            }
        }
        for ctx in expired {
            if let Some(round) = self.rounds.remove(&ctx) {
                let err = || {
                    if no_leader {
                        Error::NoLeader
                    } else {
                        Error::Timeout
                    }
                };
                for reply in round.replies {
                    let _ = reply.send(Err(err()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_of_different_nodes_never_collide() {
        assert_ne!(context(1, 5), context(2, 5));
        assert_eq!(own_round(1, &context(1, 5)), Some(5));
        assert_eq!(own_round(2, &context(1, 5)), None);
        assert_eq!(own_round(1, &5u64.to_be_bytes()), None);
    }
}
