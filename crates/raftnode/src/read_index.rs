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

pub(crate) struct ReadRounds {
    next_ctx: u64,
    queued: Vec<Reply>,
    rounds: HashMap<u64, Round>,
    /// A sent round unanswered this long is sent again: raft drops ReadIndex
    /// requests silently when leadership moves.
    retry_ticks: usize,
    expire_ticks: usize,
}

impl ReadRounds {
    pub(crate) fn new(election_tick: usize) -> Self {
        let election_tick = election_tick.max(1);
        Self {
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
                    raw.read_index(ctx.to_be_bytes().to_vec());
                }
            }
        }
        formed
    }

    pub(crate) fn resolve(&mut self, states: Vec<ReadState>) {
        for state in states {
            let Ok(ctx) = <[u8; 8]>::try_from(state.request_ctx.as_slice()) else {
                continue;
            };
            if let Some(round) = self.rounds.remove(&u64::from_be_bytes(ctx)) {
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
                raw.read_index(ctx.to_be_bytes().to_vec());
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
