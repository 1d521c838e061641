//! `etcdctl put [options] <key> <value>`, the value possibly from stdin.

use std::io::BufRead;

use api::pb::etcdserverpb::PutRequest;

use super::Session;
use crate::cli::flagset::FlagSet;
use crate::error::Error;
use crate::go::strconv;

const NEEDS_ARGS: &str = "put command needs 1 argument and input from stdin or 2 arguments";

/// `getPutOp`: the put request `put` (or a txn's `put`) sends. Without a
/// value argument the whole of `stdin` is the value.
pub fn put_request(
    args: &[Vec<u8>],
    flags: &FlagSet,
    stdin: &mut dyn BufRead,
) -> Result<PutRequest, Error> {
    let Some(key) = args.first() else {
        return Err(Error::bad_args(NEEDS_ARGS));
    };
    let ignore_value = flags.bool("ignore-value");
    if ignore_value && args.len() > 1 {
        return Err(Error::bad_args(
            "put command needs only 1 argument when 'ignore-value' is set",
        ));
    }
    let mut value = Vec::new();
    if !ignore_value {
        value = match args.get(1) {
            Some(v) => v.clone(),
            None => {
                let mut all = Vec::new();
                match stdin.read_to_end(&mut all) {
                    Ok(_) if !all.is_empty() => all,
                    _ => return Err(Error::bad_args(NEEDS_ARGS)),
                }
            }
        };
    }
    let lease = strconv::parse_i64(&flags.string("lease"), 16)
        .map_err(|e| Error::bad_args(format!("bad lease ID ({e}), expecting ID in Hex")))?;
    Ok(PutRequest {
        key: key.clone(),
        value,
        lease,
        prev_kv: flags.bool("prev-kv"),
        ignore_value,
        ignore_lease: flags.bool("ignore-lease"),
    })
}

pub async fn run(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let args = s.arg_bytes();
    let req = put_request(&args, &s.inv.flags, &mut s.io.stdin)?;
    let deadline = s.command_deadline();
    let (mut client, display) = s.client().await?;
    let result = client.put(Some(deadline), req).await;
    s.flush(&mut client);
    display.put(s.io, &result?)
}
