//! `etcdctl elect <election-name> [proposal]` campaigns with a proposal,
//! prints the leader key and value once elected and holds the leadership
//! until SIGINT or SIGTERM, then resigns; `elect -l <election-name>`
//! prints every leader (and every new value it proclaims) until
//! interrupted. Both run in a session with a 60 second lease.

use api::pb::etcdserverpb::RangeRequest;

use super::Session;
use super::interrupt::Interrupt;
use crate::client::Client;
use crate::concurrency::election::{self, Election};
use crate::concurrency::session::{self, Session as Lease};
use crate::error::Error;
use crate::exit;
use crate::printer::Display;

const CANCELED: &str = "context canceled";

pub async fn run(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let args = s.arg_bytes();
    if args.len() != 1 && args.len() != 2 {
        return Err(Error::bad_args(
            "elect takes one election name argument and an optional proposal argument",
        ));
    }
    let (mut client, display) = s.client().await?;
    let listen = s.inv.flags.bool("listen");
    let result = match args.as_slice() {
        [name] if listen => observe(s, &mut client, display, name).await,
        [_] => Err(Error::bad_args("no proposal argument but -l not set")),
        [_, _] if listen => Err(Error::bad_args("proposal given but -l is set")),
        [name, proposal, ..] => campaign(s, &mut client, display, name, proposal).await,
        [] => Ok(()),
    };
    s.flush(&mut client);
    result
}

async fn new_session(s: &mut Session<'_, '_>, client: &mut Client) -> Result<Lease, Error> {
    let lease = Lease::new(client, session::DEFAULT_TTL).await;
    s.flush(client);
    lease
}

async fn observe(
    s: &mut Session<'_, '_>,
    client: &mut Client,
    display: Display,
    name: &[u8],
) -> Result<(), Error> {
    let _lease = new_session(s, client).await?;
    let mut interrupt = Interrupt::catch()?;
    let io = &mut *s.io;
    let print = |resp: &api::pb::etcdserverpb::RangeResponse| {
        let shown = display.get(io, resp);
        io.flush();
        shown
    };
    tokio::select! {
        outcome = election::observe(client, name, print) => match outcome {
            Ok(()) => Err(Error::exit(exit::ERROR, "elect: observer lost")),
            Err(e) => Err(e),
        },
        _ = interrupt.recv() => Ok(()),
    }
}

async fn campaign(
    s: &mut Session<'_, '_>,
    client: &mut Client,
    display: Display,
    name: &[u8],
    proposal: &[u8],
) -> Result<(), Error> {
    let mut lease = new_session(s, client).await?;
    let mut election = Election::new(&lease, name);
    let mut interrupt = Interrupt::catch()?;
    let won = tokio::select! {
        won = election.campaign(client, proposal) => won,
        _ = interrupt.recv() => {
            let _ = election.resign(client).await;
            return Err(Error::exit(exit::ERROR, CANCELED));
        }
    };
    won?;
    let req = RangeRequest {
        key: election.key(),
        ..Default::default()
    };
    let resp = tokio::select! {
        resp = client.range(None, req) => resp?,
        _ = interrupt.recv() => return Err(Error::exit(exit::ERROR, CANCELED)),
    };
    s.flush(client);
    let shown = display.get(s.io, &resp);
    s.io.flush();
    shown?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = lease.done() => return Err(Error::exit(exit::ERROR, "elect: session expired")),
    }
    election.resign(client).await
}
