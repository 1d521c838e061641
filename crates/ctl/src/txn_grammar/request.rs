//! One op line: a `get`, `put` or `del` command with its own flags.

use std::ffi::OsString;
use std::io::BufRead;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use api::pb::etcdserverpb::RequestOp;
use api::pb::etcdserverpb::request_op::Request;

use super::argify;
use crate::cli::parse::parse_words;
use crate::cli::spec::{self, FlagSpec};
use crate::cli::usage;
use crate::command::{del, get, put};
use crate::error::Error;
use crate::exit;

fn invalid(message: String) -> Error {
    Error::exit(exit::INVALID_INPUT, message)
}

/// etcdctl's `parseRequestUnion`. `stdin` is what a `put` without a value
/// reads; etcdctl's txn has buffered its whole input by then, so it passes
/// an exhausted stream.
pub fn parse_request(line: &str, stdin: &mut dyn BufRead) -> Result<RequestOp, Error> {
    let words = argify(line)?;
    if words.len() < 2 {
        return Err(invalid(format!("invalid txn compare request: {line}")));
    }
    let bad_request = || invalid(format!("invalid txn request: {line}"));
    let name = String::from_utf8_lossy(&words[0]).into_owned();
    let commands = ["del", "get", "put"];
    let command = commands
        .iter()
        .find(|c| **c == name)
        .or_else(|| {
            let matches: Vec<&&str> = commands
                .iter()
                .filter(|c| c.starts_with(name.as_str()))
                .collect();
            (matches.len() == 1).then(|| matches[0])
        })
        .ok_or_else(bad_request)?;
    let path = [command.to_string()];
    let cmd = spec::find(&path).ok_or_else(bad_request)?;
    let flags: Vec<&'static FlagSpec> = spec::local_flags(cmd);
    let rest: Vec<OsString> = words[1..]
        .iter()
        .map(|w| OsString::from_vec(w.clone()))
        .collect();
    let (args, set) = parse_words(&rest, &flags).map_err(|_| Error::AfterUsage {
        usage: usage::cobra_default(cmd.use_line, &flags),
        code: exit::INVALID_INPUT,
        message: format!("invalid txn request: {line}"),
    })?;
    if set.bool("help") {
        return Err(bad_request());
    }
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let request = match *command {
        "get" => Request::RequestRange(get::range_request(&args, &set)?),
        "put" => Request::RequestPut(put::put_request(&args, &set, stdin)?),
        _ => Request::RequestDeleteRange(del::delete_request(&args, &set)?),
    };
    Ok(RequestOp {
        request: Some(request),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Request, Error> {
        parse_request(line, &mut &b""[..]).map(|op| op.request.unwrap())
    }

    #[test]
    fn builds_each_op() {
        match parse("put k v --prev-kv").unwrap() {
            Request::RequestPut(p) => {
                assert_eq!(
                    (p.key.as_slice(), p.value.as_slice(), p.prev_kv),
                    (&b"k"[..], &b"v"[..], true)
                );
            }
            other => panic!("{other:?}"),
        }
        match parse("get a --prefix").unwrap() {
            Request::RequestRange(r) => assert_eq!(
                (r.key.as_slice(), r.range_end.as_slice()),
                (&b"a"[..], &b"b"[..])
            ),
            other => panic!("{other:?}"),
        }
        match parse(r#"d "x y" z"#).unwrap() {
            Request::RequestDeleteRange(d) => {
                assert_eq!(
                    (d.key.as_slice(), d.range_end.as_slice()),
                    (&b"x y"[..], &b"z"[..])
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn put_without_value_reads_stdin() {
        let op = parse_request("put k", &mut &b"from stdin"[..]).unwrap();
        match op.request.unwrap() {
            Request::RequestPut(p) => assert_eq!(p.value, b"from stdin"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_like_etcdctl() {
        let msg = |r: Result<Request, Error>| match r {
            Err(Error::Exit { code, message }) => (code, message),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            msg(parse("get")),
            (
                exit::INVALID_INPUT,
                "invalid txn compare request: get".to_string()
            )
        );
        assert_eq!(
            msg(parse("watch k")),
            (
                exit::INVALID_INPUT,
                "invalid txn request: watch k".to_string()
            )
        );
        match parse("get k --bogus") {
            Err(Error::AfterUsage {
                usage,
                code,
                message,
            }) => {
                assert_eq!(
                    (code, message.as_str()),
                    (exit::INVALID_INPUT, "invalid txn request: get k --bogus")
                );
                assert!(
                    usage.starts_with(
                        "Usage:\n   get [options] <key> [range_end] [flags]\n\nFlags:\n"
                    )
                );
                assert!(usage.contains("      --consistency string   Linearizable(l) or Serializable(s) (default \"l\")\n"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            msg(parse("get k --prefix --from-key")),
            (
                exit::BAD_ARGS,
                "`--prefix` and `--from-key` cannot be set at the same time, choose one"
                    .to_string()
            )
        );
    }
}
