//! `etcdctl watch [options] [key or prefix] [range_end] [--] [exec-command
//! arg1 arg2 ...]` and its interactive form (`-i`), where stdin lines
//! `watch ...` start more watches and `progress` asks for a progress
//! notification. Output is flushed per response, as Go writes stdout
//! unbuffered: etcdctl leaves SIGINT fatal here, and so does this command.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::BufRead;
use std::os::unix::ffi::OsStringExt;

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::Session;
use super::watch_args::{self, Context, WatchOptions};
use crate::client::{Client, Delivery, WatchHandle, WatchUpdate, Watcher};
use crate::error::Error;
use crate::exit;
use crate::go::quote::quote;
use crate::printer::Display;
use crate::txn_grammar::argify;

/// What a watch does with each response besides printing it.
struct Printing {
    display: Display,
    exec: Vec<OsString>,
}

fn os_args(s: &Session<'_, '_>) -> Vec<OsString> {
    let mut all = vec![OsString::from("etcdctl")];
    all.extend(s.inv.argv.iter().cloned());
    all
}

pub async fn run(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let env_key = s.env.get("ETCDCTL_WATCH_KEY").to_string();
    let env_range = s.env.get("ETCDCTL_WATCH_RANGE_END").to_string();
    if env_key.is_empty() && !env_range.is_empty() {
        return Err(Error::bad_args(format!(
            "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END={}",
            quote(env_range.as_bytes())
        )));
    }
    let os_args = os_args(s);
    let ctx = Context {
        os_args: &os_args,
        env_key: &env_key,
        env_range: &env_range,
    };
    if s.inv.flags.bool("interactive") {
        return interactive(s, ctx).await;
    }
    let parsed = watch_args::parse(ctx, &s.inv.args, false)?;
    let (mut client, display) = s.client().await?;
    let options = WatchOptions {
        prefix: s.inv.flags.bool("prefix"),
        rev: s.inv.flags.int64("rev"),
        prev_kv: s.inv.flags.bool("prev-kv"),
    };
    let req = watch_args::watch_request(&parsed.watch, options).map_err(Error::bad_args)?;
    let mut watcher = open(s, &mut client).await?;
    watcher.watch(req);
    let printing = Printing {
        display,
        exec: parsed.exec,
    };
    while let Delivery::Update(_, update) = watcher.next().await {
        print(s, &printing, &update).await?;
    }
    Err(Error::exit(
        exit::INTERRUPTED,
        "watch is canceled by the server",
    ))
}

async fn open(s: &mut Session<'_, '_>, client: &mut Client) -> Result<Watcher, Error> {
    let watcher = client.watcher(true).await;
    s.flush(client);
    watcher
}

/// `printWatchCh` for one response.
async fn print(
    s: &mut Session<'_, '_>,
    printing: &Printing,
    update: &WatchUpdate,
) -> Result<(), Error> {
    if update.canceled {
        let err = update.err().unwrap_or_default();
        s.io.eprint(&format!("watch was canceled ({err})\n"));
    }
    if update.is_progress_notify() {
        s.io.print(&format!("progress notify: {}\n", update.header.revision));
    }
    let shown = printing.display.watch(s.io, update);
    s.io.flush();
    shown?;
    if printing.exec.is_empty() {
        return Ok(());
    }
    for event in update.events.iter().flatten() {
        let kv = event.kv.clone().unwrap_or_default();
        let mut env = s.env.vars().to_vec();
        env.push((
            "ETCD_WATCH_REVISION".to_string(),
            update.header.revision.to_string(),
        ));
        env.push((
            "ETCD_WATCH_EVENT_TYPE".to_string(),
            quote(crate::printer::event_type(event.r#type).as_bytes()),
        ));
        env.push(("ETCD_WATCH_KEY".to_string(), quote(&kv.key)));
        env.push(("ETCD_WATCH_VALUE".to_string(), quote(&kv.value)));
        if let Err(e) = crate::go::exec::run(&printing.exec, &env).await {
            let shown: Vec<String> = printing
                .exec
                .iter()
                .map(|a| quote(&a.clone().into_vec()))
                .collect();
            s.io.eprint(&format!("command [{}] error ({e})\n", shown.join(" ")));
            return Err(Error::Quiet(exit::ERROR));
        }
    }
    Ok(())
}

/// A line of stdin, or why there is none (Go's `ReadString('\n')` error).
type Line = Result<String, String>;

/// Reads stdin on a thread of its own, so watches keep printing while it
/// waits; the thread ends with the input.
fn read_lines(mut stdin: Box<dyn BufRead + Send>) -> UnboundedReceiver<Line> {
    let (tx, rx) = unbounded_channel();
    std::thread::spawn(move || {
        loop {
            let mut buf = Vec::new();
            let line = match stdin.read_until(b'\n', &mut buf) {
                Ok(_) if buf.last() == Some(&b'\n') => {
                    buf.pop();
                    Ok(String::from_utf8_lossy(&buf).into_owned())
                }
                Ok(_) => Err("EOF".to_string()),
                Err(e) => Err(e.to_string()),
            };
            let last = line.is_err();
            if tx.send(line).is_err() || last {
                return;
            }
        }
    });
    rx
}

/// `watchInteractiveFunc`.
async fn interactive(s: &mut Session<'_, '_>, ctx: Context<'_>) -> Result<(), Error> {
    let (mut client, display) = s.client().await?;
    let stdin = std::mem::replace(&mut s.io.stdin, Box::new(std::io::empty()));
    let mut lines = read_lines(stdin);
    let mut watcher: Option<Watcher> = None;
    let mut printing: HashMap<WatchHandle, Printing> = HashMap::new();
    loop {
        let delivery = async {
            match watcher.as_mut() {
                Some(w) => w.next().await,
                None => std::future::pending().await,
            }
        };
        let line = tokio::select! {
            line = lines.recv() => line.unwrap_or_else(|| Err("EOF".to_string())),
            d = delivery => {
                if let Delivery::Update(handle, update) = d
                    && let Some(p) = printing.get(&handle)
                {
                    print(s, p, &update).await?;
                }
                continue;
            }
        };
        let line = line.map_err(|e| {
            Error::exit(
                exit::INVALID_INPUT,
                format!("Error reading watch request line: {e}"),
            )
        })?;
        let args: Vec<OsString> = argify(&line)?.into_iter().map(OsString::from_vec).collect();
        let Some(first) = args.first() else {
            s.io.eprint(&format!(
                "Invalid command: {line} (watch and progress supported)\n"
            ));
            continue;
        };
        match first.to_str() {
            Some("watch") => {
                if args.len() < 2 && ctx.env_key.is_empty() {
                    s.io.eprint(&format!(
                        "Invalid command {line} (command type or key is not provided)\n"
                    ));
                    continue;
                }
                let parsed = watch_args::parse(ctx, &args, true)?;
                let options = parsed.line_options.unwrap_or_default();
                let req = match watch_args::watch_request(&parsed.watch, options) {
                    Ok(req) => req,
                    Err(e) => {
                        s.io.eprint(&format!("Invalid command {line} ({e})\n"));
                        continue;
                    }
                };
                if watcher.is_none() {
                    watcher = Some(open(s, &mut client).await?);
                }
                if let Some(w) = watcher.as_mut() {
                    let handle = w.watch(req);
                    printing.insert(
                        handle,
                        Printing {
                            display,
                            exec: parsed.exec,
                        },
                    );
                }
            }
            Some("progress") => {
                if watcher.is_none() {
                    watcher = Some(open(s, &mut client).await?);
                }
                if let Some(w) = watcher.as_mut() {
                    w.request_progress();
                }
            }
            _ => {
                s.io.eprint(&format!("Invalid command {line} (only support watch)\n"))
            }
        }
    }
}
