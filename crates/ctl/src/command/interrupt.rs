//! SIGINT and SIGTERM caught the way `elect` and `lock` catch them
//! (`signal.Notify`): from then on they no longer kill the process but end
//! the command cleanly. Every other command leaves them fatal.

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::error::Error;
use crate::exit;

pub struct Interrupt {
    int: Signal,
    term: Signal,
}

impl Interrupt {
    pub fn catch() -> Result<Interrupt, Error> {
        let install = |kind| signal(kind).map_err(|e| Error::exit(exit::ERROR, e.to_string()));
        Ok(Interrupt {
            int: install(SignalKind::interrupt())?,
            term: install(SignalKind::terminate())?,
        })
    }

    /// Waits for either signal.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}
