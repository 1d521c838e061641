//! `etcdctl endpoint health|status|hashkv`: one report per endpoint, the
//! endpoints being `--endpoints` or, with `--cluster`, every client URL in
//! the member list.

use std::time::Instant as StdInstant;

use api::pb::etcdserverpb::RangeRequest;
use futures::StreamExt;

use super::Session;
use crate::client::{Client, ClientConfig, PERMISSION_DENIED};
use crate::error::Error;
use crate::exit;
use crate::go::duration;
use crate::printer::{EpHashKv, EpHealth, EpStatus};

/// `endpointsFromCluster`.
async fn endpoints(s: &mut Session<'_, '_>, cfg: &ClientConfig) -> Result<Vec<String>, Error> {
    if !s.inv.flags.bool("cluster") {
        return Ok(s.inv.flags.strings("endpoints"));
    }
    // The member list needs no authentication, so etcdctl asks without it.
    let mut client = Client::new(ClientConfig {
        auth: None,
        ..cfg.clone()
    })
    .map_err(|e| Error::exit(exit::ERROR, e.to_string()))?;
    let deadline = s.command_deadline();
    let result = client.member_list(Some(deadline)).await;
    s.flush(&mut client);
    let members = result.map_err(|e| {
        Error::exit(
            exit::ERROR,
            format!("failed to fetch endpoints from etcd cluster member list: {e}"),
        )
    })?;
    Ok(members
        .members
        .into_iter()
        .flat_map(|m| m.client_ur_ls)
        .collect())
}

async fn check_health(
    cfg: ClientConfig,
    endpoint: String,
    timeout: std::time::Duration,
) -> (EpHealth, String) {
    let mut client = match Client::new(cfg) {
        Ok(c) => c,
        Err(e) => {
            let report = EpHealth {
                endpoint,
                health: false,
                took: String::new(),
                error: e.to_string(),
            };
            return (report, String::new());
        }
    };
    if let Err(e) = client.connect().await {
        let report = EpHealth {
            endpoint,
            health: false,
            took: String::new(),
            error: e.to_string(),
        };
        return (report, client.take_log());
    }
    let started = StdInstant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    // Any key will do: a linearized read proves the member can reach
    // consensus. A permission error still proves it.
    let req = RangeRequest {
        key: b"health".to_vec(),
        ..Default::default()
    };
    let result = client.range(Some(deadline), req).await;
    let took = duration::format(started.elapsed());
    let (health, error) = match result {
        Ok(_) => (true, String::new()),
        Err(Error::Rpc(e)) if e.is(PERMISSION_DENIED) => (true, String::new()),
        Err(e) => (false, e.to_string()),
    };
    let report = EpHealth {
        endpoint,
        health,
        took,
        error,
    };
    (report, client.take_log())
}

pub async fn health(s: &mut Session<'_, '_>) -> Result<(), Error> {
    s.apply_env()?;
    let display = s.display()?;
    let (cfg, _) = s.settings()?;
    let eps = endpoints(s, &cfg).await?;
    let timeout = s.inv.flags.duration("command-timeout");
    // Reports come in the order the checks finish, as etcdctl's goroutines
    // deliver them.
    let checks: futures::stream::FuturesUnordered<_> = eps
        .into_iter()
        .map(|ep| {
            let cfg = ClientConfig {
                endpoints: vec![ep.clone()],
                ..cfg.clone()
            };
            check_health(cfg, ep, timeout)
        })
        .collect();
    let results: Vec<(EpHealth, String)> = checks.collect().await;
    let mut list = Vec::new();
    for (report, log) in results {
        s.io.eprint(&log);
        list.push(report);
    }
    display.endpoint_health(s.io, &list)?;
    if list.iter().any(|h| !h.error.is_empty()) {
        return Err(Error::exit(exit::ERROR, "unhealthy cluster"));
    }
    Ok(())
}

pub async fn status(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let (client, display) = s.client().await?;
    let eps = endpoints(s, client.config()).await?;
    let mut list = Vec::new();
    let mut failed = false;
    for ep in eps {
        let deadline = s.command_deadline();
        let mut one = client.for_endpoint(&ep)?;
        let result = match one.connect().await {
            Ok(()) => one.status(Some(deadline)).await,
            Err(e) => Err(e),
        };
        s.flush(&mut one);
        match result {
            Ok(status) => list.push(EpStatus {
                endpoint: ep,
                status,
            }),
            Err(e) => {
                failed = true;
                s.io.eprint(&format!(
                    "Failed to get the status of endpoint {ep} ({e})\n"
                ));
            }
        }
    }
    display.endpoint_status(s.io, &list)?;
    if failed {
        return Err(Error::Quiet(exit::ERROR));
    }
    Ok(())
}

pub async fn hashkv(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let (client, display) = s.client().await?;
    let eps = endpoints(s, client.config()).await?;
    let rev = s.inv.flags.int64("rev");
    let mut list = Vec::new();
    let mut last_error = None;
    for ep in eps {
        let deadline = s.command_deadline();
        let mut one = client.for_endpoint(&ep)?;
        let result = match one.connect().await {
            Ok(()) => one.hash_kv(Some(deadline), rev).await,
            Err(e) => Err(e),
        };
        s.flush(&mut one);
        match result {
            Ok(hash) => list.push(EpHashKv { endpoint: ep, hash }),
            Err(e) => {
                s.io.eprint(&format!("Failed to get the hash of endpoint {ep} ({e})\n"));
                last_error = Some(e);
            }
        }
    }
    display.endpoint_hashkv(s.io, &list)?;
    match last_error {
        Some(e) => Err(Error::exit(exit::ERROR, e.to_string())),
        None => Ok(()),
    }
}
