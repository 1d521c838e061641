//! `concurrency.Session`: a lease granted for the recipe and kept alive by
//! a background task until it expires or is revoked. Nobody revokes it when
//! the command ends (etcdctl never closes its sessions), so it lives on for
//! its TTL.

use std::ops::ControlFlow;

use tokio::sync::watch;

use crate::client::Client;
use crate::error::Error;

/// The TTL a session gets when none (or no positive one) is asked for.
pub const DEFAULT_TTL: i64 = 60;

pub struct Session {
    lease: i64,
    done: watch::Receiver<bool>,
}

impl Session {
    /// `NewSession(client, WithTTL(ttl))`.
    pub async fn new(client: &mut Client, ttl: i64) -> Result<Session, Error> {
        let ttl = if ttl > 0 { ttl } else { DEFAULT_TTL };
        let lease = client.lease_grant(None, ttl).await?.id;
        let keep_alive = client.keep_alive(lease).await;
        let (tx, done) = watch::channel(false);
        tokio::spawn(async move {
            keep_alive.run(|_| ControlFlow::Continue(())).await;
            let _ = tx.send(true);
        });
        Ok(Session { lease, done })
    }

    /// The lease the recipe's keys are put under.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// `Done()`: returns once the lease is no longer kept alive.
    pub async fn done(&mut self) {
        let _ = self.done.wait_for(|ended| *ended).await;
    }
}
