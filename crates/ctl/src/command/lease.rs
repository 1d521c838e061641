//! `etcdctl lease grant|revoke|timetolive|list|keep-alive`. The steps run
//! in etcdctl's order, which decides what a bad argument still prints:
//! `grant`, `revoke` and `keep-alive` check their argument before making a
//! client, `timetolive` after.

use std::ops::ControlFlow;

use super::Session;
use crate::error::Error;
use crate::exit;
use crate::go::strconv;

/// `leaseFromArgs`: a lease id in hex.
pub fn lease_id(arg: &str) -> Result<i64, Error> {
    strconv::parse_i64(arg, 16)
        .map_err(|e| Error::bad_args(format!("bad lease ID arg ({e}), expecting ID in Hex")))
}

fn one_arg(s: &Session<'_, '_>, message: &str) -> Result<String, Error> {
    match s.inv.args.as_slice() {
        [arg] => Ok(arg.to_string_lossy().into_owned()),
        _ => Err(Error::bad_args(message)),
    }
}

pub async fn grant(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let arg = one_arg(s, "lease grant command needs TTL argument")?;
    let ttl =
        strconv::parse_i64(&arg, 10).map_err(|e| Error::bad_args(format!("bad TTL ({e})")))?;
    let deadline = s.command_deadline();
    let (mut client, display) = s.client().await?;
    let result = client.lease_grant(Some(deadline), ttl).await;
    s.flush(&mut client);
    let resp =
        result.map_err(|e| Error::exit(exit::ERROR, format!("failed to grant lease ({e})")))?;
    display.grant(s.io, &resp)
}

pub async fn revoke(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let arg = one_arg(s, "lease revoke command needs 1 argument")?;
    let id = lease_id(&arg)?;
    let deadline = s.command_deadline();
    let (mut client, display) = s.client().await?;
    let result = client.lease_revoke(Some(deadline), id).await;
    s.flush(&mut client);
    let resp =
        result.map_err(|e| Error::exit(exit::ERROR, format!("failed to revoke lease ({e})")))?;
    display.revoke(s.io, id, &resp)
}

pub async fn time_to_live(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let arg = one_arg(s, "lease timetolive command needs lease ID as argument")?;
    let keys = s.inv.flags.bool("keys");
    let (mut client, display) = s.client().await?;
    let id = lease_id(&arg)?;
    let result = client.lease_time_to_live(None, id, keys).await;
    s.flush(&mut client);
    let resp = result.map_err(|e| Error::exit(exit::BAD_CONNECTION, e.to_string()))?;
    display.time_to_live(s.io, &resp, keys)
}

pub async fn list(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let (mut client, display) = s.client().await?;
    let result = client.lease_leases(None).await;
    s.flush(&mut client);
    let resp = result.map_err(|e| Error::exit(exit::BAD_CONNECTION, e.to_string()))?;
    display.leases(s.io, &resp)
}

/// Without `--once`, prints every renewal until the lease is gone, then
/// (simple format only) says so and succeeds.
pub async fn keep_alive(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let arg = one_arg(s, "lease keep-alive command needs lease ID as argument")?;
    let id = lease_id(&arg)?;
    let (mut client, display) = s.client().await?;
    if s.inv.flags.bool("once") {
        let result = client.lease_keep_alive_once(id).await;
        s.flush(&mut client);
        let resp = result.map_err(|e| Error::exit(exit::BAD_CONNECTION, e.to_string()))?;
        return display.keep_alive(s.io, &resp);
    }
    let keep_alive = client.keep_alive(id).await;
    s.flush(&mut client);
    let mut shown = Ok(());
    let io = &mut *s.io;
    keep_alive
        .run(|resp| {
            shown = display.keep_alive(io, resp);
            io.flush();
            if shown.is_ok() {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        })
        .await;
    shown?;
    if display.is_simple() {
        s.io.println(&format!(
            "lease {} expired or revoked.",
            crate::printer::lease_hex(id)
        ));
    }
    Ok(())
}
