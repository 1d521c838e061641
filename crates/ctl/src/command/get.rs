//! `etcdctl get [options] <key> [range_end]`.

use api::pb::etcdserverpb::RangeRequest;
use api::pb::etcdserverpb::range_request::{SortOrder, SortTarget};

use super::Session;
use crate::cli::flagset::FlagSet;
use crate::error::Error;
use crate::exit;
use crate::go::quote::quote;
use crate::keys::prefix_end;
use crate::printer::Format;

/// `getGetOp`: the range request `get` (or a txn's `get`) sends.
pub fn range_request(args: &[Vec<u8>], flags: &FlagSet) -> Result<RangeRequest, Error> {
    if args.is_empty() {
        return Err(Error::bad_args(
            "get command needs one argument as key and an optional argument as range_end",
        ));
    }
    let (prefix, from_key) = (flags.bool("prefix"), flags.bool("from-key"));
    if prefix && from_key {
        return Err(Error::bad_args(
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        ));
    }
    let (keys_only, count_only) = (flags.bool("keys-only"), flags.bool("count-only"));
    if keys_only && count_only {
        return Err(Error::bad_args(
            "`--keys-only` and `--count-only` cannot be set at the same time, choose one",
        ));
    }
    let mut req = RangeRequest::default();
    match flags.string("consistency").as_str() {
        "s" => req.serializable = true,
        "l" => {}
        other => {
            return Err(Error::exit(
                exit::BAD_FEATURE,
                format!("unknown consistency flag {}", quote(other.as_bytes())),
            ));
        }
    }
    req.key = args[0].clone();
    if let Some(end) = args.get(1) {
        if prefix || from_key {
            return Err(Error::bad_args(
                "too many arguments, only accept one argument when `--prefix` or `--from-key` is set",
            ));
        }
        req.range_end = end.clone();
    }
    req.limit = flags.int64("limit");
    let rev = flags.int64("rev");
    if rev > 0 {
        req.revision = rev;
    }
    let order_flag = flags.string("order");
    let order = match order_flag.to_uppercase().as_str() {
        "ASCEND" => SortOrder::Ascend,
        "DESCEND" => SortOrder::Descend,
        "" => SortOrder::None,
        _ => {
            return Err(Error::exit(
                exit::BAD_FEATURE,
                format!("bad sort order {order_flag}"),
            ));
        }
    };
    let target_flag = flags.string("sort-by");
    let target = match target_flag.to_uppercase().as_str() {
        "CREATE" => SortTarget::Create,
        "KEY" | "" => SortTarget::Key,
        "MODIFY" => SortTarget::Mod,
        "VALUE" => SortTarget::Value,
        "VERSION" => SortTarget::Version,
        _ => {
            return Err(Error::exit(
                exit::BAD_FEATURE,
                format!("bad sort target {target_flag}"),
            ));
        }
    };
    // clientv3 drops an ascending key sort: the server returns that order anyway.
    let order = if target == SortTarget::Key && order == SortOrder::Ascend {
        SortOrder::None
    } else {
        order
    };
    req.sort_order = order as i32;
    req.sort_target = target as i32;
    if prefix {
        if req.key.is_empty() {
            req.key = vec![0];
            req.range_end = vec![0];
        } else {
            req.range_end = prefix_end(&req.key);
        }
    }
    if from_key {
        if req.key.is_empty() {
            req.key = vec![0];
        }
        req.range_end = vec![0];
    }
    req.keys_only = keys_only;
    req.count_only = count_only;
    Ok(req)
}

pub async fn run(s: &mut Session<'_, '_>) -> Result<(), Error> {
    let req = range_request(&s.arg_bytes(), &s.inv.flags)?;
    let deadline = s.command_deadline();
    let (mut client, mut display) = s.client().await?;
    let result = client.range(Some(deadline), req).await;
    s.flush(&mut client);
    let resp = result?;
    if s.inv.flags.bool("count-only") && display.format != Format::Fields {
        return Err(Error::bad_args(
            "--count-only is only for `--write-out=fields`",
        ));
    }
    if s.inv.flags.bool("print-value-only") {
        if display.format != Format::Simple {
            return Err(Error::bad_args(
                "print-value-only is only for `--write-out=simple`",
            ));
        }
        display.value_only = true;
    }
    display.get(s.io, &resp)
}
