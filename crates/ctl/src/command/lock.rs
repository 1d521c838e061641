//! `etcdctl lock <lockname> [exec-command arg1 arg2 ...]`: takes the lock
//! in a session whose lease lives `--ttl` seconds, then either prints the
//! lock key and holds it until SIGINT or SIGTERM (unlocking then), or runs
//! the command with `ETCD_LOCK_KEY` and `ETCD_LOCK_REV` set and unlocks when
//! it ends. A command that fails is reported as Go words it (`exit status
//! 3`) with exit code 1, as etcdctl does.

use api::pb::etcdserverpb::RangeRequest;

use super::Session;
use super::interrupt::Interrupt;
use crate::concurrency::mutex::Mutex;
use crate::concurrency::session::Session as Lease;
use crate::error::Error;
use crate::exit;

const CANCELED: &str = "context canceled";

pub async fn run(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let args = s.arg_bytes();
    let Some(name) = args.first() else {
        return Err(Error::bad_args(
            "lock takes a lock name argument and an optional command to execute",
        ));
    };
    let (mut client, display) = s.client().await?;
    let ttl = s.inv.flags.int64("ttl");
    let lease = Lease::new(&mut client, ttl).await;
    s.flush(&mut client);
    let mut lease = lease?;
    let mut mutex = Mutex::new(&lease, name);
    let mut interrupt = Interrupt::catch()?;
    let locked = tokio::select! {
        locked = mutex.lock(&mut client) => locked,
        _ = interrupt.recv() => {
            if mutex.has_key() {
                let _ = mutex.unlock(&mut client).await;
            }
            s.flush(&mut client);
            return Err(Error::exit(exit::ERROR, CANCELED));
        }
    };
    s.flush(&mut client);
    locked?;
    let command = &s.inv.args[1..];
    if !command.is_empty() {
        let mut env = vec![
            (
                "ETCD_LOCK_KEY".to_string(),
                String::from_utf8_lossy(&mutex.key()).into_owned(),
            ),
            (
                "ETCD_LOCK_REV".to_string(),
                mutex.header().revision.to_string(),
            ),
        ];
        env.extend(s.env.vars().iter().cloned());
        s.io.flush();
        let ran = crate::go::exec::run(command, &env).await;
        let unlocked = mutex.unlock(&mut client).await;
        s.flush(&mut client);
        ran.map_err(|e| Error::exit(exit::ERROR, e))?;
        return unlocked;
    }
    let req = RangeRequest {
        key: mutex.key(),
        ..Default::default()
    };
    let resp = tokio::select! {
        resp = client.range(None, req) => resp,
        _ = interrupt.recv() => return Err(Error::exit(exit::ERROR, CANCELED)),
    };
    s.flush(&mut client);
    let resp = resp?;
    if resp.kvs.is_empty() {
        return Err(Error::exit(exit::ERROR, "lock lost on init"));
    }
    let shown = display.get(s.io, &resp);
    s.io.flush();
    shown?;
    tokio::select! {
        _ = interrupt.recv() => {
            let unlocked = mutex.unlock(&mut client).await;
            s.flush(&mut client);
            unlocked
        }
        _ = lease.done() => Err(Error::exit(exit::ERROR, "session expired")),
    }
}
