//! `etcdctl move-leader <transferee-member-id>`: the leader is found by
//! asking each of `--endpoints` for its status in turn (one deadline for
//! the whole command), then asked to hand its leadership over.

use super::Session;
use crate::client::{Client, ClientConfig};
use crate::error::Error;
use crate::exit;
use crate::go::strconv;

pub async fn run(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let target = match s.inv.args.as_slice() {
        [arg] => strconv::parse_uint(&arg.to_string_lossy(), 16).map_err(Error::bad_args)?,
        _ => return Err(Error::bad_args("move-leader command needs 1 argument")),
    };
    let (client, display) = s.client().await?;
    let cfg = client.config().clone();
    let deadline = s.command_deadline();
    let mut found = None;
    for ep in &cfg.endpoints {
        let mut one = Client::new(ClientConfig {
            endpoints: vec![ep.clone()],
            ..cfg.clone()
        })?;
        let connected = one.connect().await;
        s.flush(&mut one);
        connected?;
        let mut direct = one.for_endpoint(ep)?;
        let status = match direct.connect().await {
            Ok(()) => direct.status(Some(deadline)).await,
            Err(e) => Err(e),
        };
        s.flush(&mut direct);
        let status = status.map_err(|e| Error::exit(exit::ERROR, e.to_string()))?;
        let member = status.header.as_ref().map_or(0, |h| h.member_id);
        if member == status.leader {
            found = Some((one, status.leader));
            break;
        }
    }
    let Some((mut leader_client, leader)) = found else {
        return Err(Error::bad_args(format!(
            "no leader endpoint given at [{}]",
            cfg.endpoints.join(" ")
        )));
    };
    let result = leader_client.move_leader(Some(deadline), target).await;
    s.flush(&mut leader_client);
    display.move_leader(s.io, leader, target, &result?)
}
