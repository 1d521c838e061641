//! `etcdctl del [options] <key> [range_end]`.

use api::pb::etcdserverpb::DeleteRangeRequest;

use super::Session;
use crate::cli::flagset::FlagSet;
use crate::error::Error;
use crate::keys::prefix_end;

/// `getDelOp`: the delete request `del` (or a txn's `del`) sends.
pub fn delete_request(args: &[Vec<u8>], flags: &FlagSet) -> Result<DeleteRangeRequest, Error> {
    if args.is_empty() || args.len() > 2 {
        return Err(Error::bad_args(
            "del command needs one argument as key and an optional argument as range_end",
        ));
    }
    let (prefix, from_key) = (flags.bool("prefix"), flags.bool("from-key"));
    if prefix && from_key {
        return Err(Error::bad_args(
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        ));
    }
    let mut req = DeleteRangeRequest {
        key: args[0].clone(),
        ..Default::default()
    };
    if let Some(end) = args.get(1) {
        if prefix || from_key {
            return Err(Error::bad_args(
                "too many arguments, only accept one argument when `--prefix` or `--from-key` is set",
            ));
        }
        req.range_end = end.clone();
    }
    if prefix {
        if req.key.is_empty() {
            req.key = vec![0];
            req.range_end = vec![0];
        } else {
            req.range_end = prefix_end(&req.key);
        }
    }
    req.prev_kv = flags.bool("prev-kv");
    if from_key {
        if req.key.is_empty() {
            req.key = vec![0];
        }
        req.range_end = vec![0];
    }
    Ok(req)
}

pub async fn run(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let req = delete_request(&s.arg_bytes(), &s.inv.flags)?;
    let deadline = s.command_deadline();
    let (mut client, display) = s.client().await?;
    let result = client.delete_range(Some(deadline), req).await;
    s.flush(&mut client);
    display.del(s.io, &result?)
}
