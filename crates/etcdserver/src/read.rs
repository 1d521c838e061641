//! Linearizable reads: ask raft for a ReadIndex (raftnode lets concurrent
//! callers share one round), then wait until the apply loop has applied at
//! least that index, so the read reflects every write acknowledged before it
//! began.

use api::Error;

use crate::server::EtcdServer;

impl EtcdServer {
    pub(crate) async fn wait_linearizable(&self) -> Result<(), Error> {
        // etcd serves a learner's clients serializable reads only.
        if self.inner.membership.local_is_learner() {
            return Err(Error::NotSupportedForLearner);
        }
        let deadline = self.inner.cfg.request_timeout();
        let wait = async {
            let index = self
                .inner
                .raft
                .read_index()
                .await
                .map_err(crate::propose::propose_error)?;
            let mut applied = self.inner.applied.clone();
            applied
                .wait_for(|a| *a >= index)
                .await
                .map_err(|_| Error::Stopped)?;
            Ok(())
        };
        match tokio::time::timeout(deadline, wait).await {
            Ok(result) => result,
            Err(_elapsed) => Err(if self.has_leader() {
                Error::Timeout
            } else {
                Error::NoLeader
            }),
        }
    }
}
