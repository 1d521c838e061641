//! How etcdctl's `watch` reads its arguments (`parseWatchArgs` and
//! `getWatchChan`): the key and range end, the command after `--` (found
//! again in the raw command line, since cobra drops the `--`), the
//! `ETCDCTL_WATCH_KEY`/`ETCDCTL_WATCH_RANGE_END` stand-ins for the key, and
//! for an interactive line its own `--prefix`, `--rev` and `--prev-kv`.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use api::pb::etcdserverpb::WatchCreateRequest;

use crate::cli::parse::parse_words;
use crate::cli::spec::WATCH_FLAGS;
use crate::error::Error;
use crate::keys::prefix_end;

pub const BAD_ARGS_NUM: &str = "bad number of arguments";
const CONFLICT_ENV: &str = "bad number of arguments (found conflicting environment key)";
const SEPARATOR: &str = "bad number of arguments (found separator --, but no commands)";
const NOT_WATCH: &str = "args[0] must be 'watch' for interactive calls";

/// The flags one watch is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WatchOptions {
    pub prefix: bool,
    pub rev: i64,
    pub prev_kv: bool,
}

/// What the arguments ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchArgs {
    /// Key and optional range end (more words are ignored, as etcdctl does).
    pub watch: Vec<OsString>,
    /// The command to run per event, if any.
    pub exec: Vec<OsString>,
    /// An interactive line's own flags.
    pub line_options: Option<WatchOptions>,
}

/// Where to find the context a word list comes with.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The whole command line, program name first (Go's `os.Args`).
    pub os_args: &'a [OsString],
    pub env_key: &'a str,
    pub env_range: &'a str,
}

fn is(word: &OsStr, text: &str) -> bool {
    word.as_bytes() == text.as_bytes()
}

/// Go's `for i = range s { if s[i] == "--" { found = true; break } }`,
/// where `i` ends at the last index when nothing is found.
fn find_separator(words: &[OsString]) -> (usize, bool) {
    match words.iter().position(|w| is(w, "--")) {
        Some(i) => (i, true),
        None => (words.len().saturating_sub(1), false),
    }
}

fn line_flags(words: &[OsString]) -> Result<(Vec<OsString>, WatchOptions), String> {
    let flags: Vec<_> = WATCH_FLAGS.iter().collect();
    let (args, set) = parse_words(words, &flags)?;
    let options = WatchOptions {
        prefix: set.bool("prefix"),
        rev: set.int64("rev"),
        prev_kv: set.bool("prev-kv"),
    };
    Ok((args, options))
}

/// `parseWatchArgs`: `command_args` are the words cobra left (or, in
/// interactive mode, the line's words, `watch` first).
pub fn parse(
    ctx: Context<'_>,
    command_args: &[OsString],
    interactive: bool,
) -> Result<WatchArgs, Error> {
    parse_inner(ctx, command_args, interactive).map_err(|e| match e {
        Failure::Args(text) => Error::bad_args(text),
        Failure::Panic(text) => Error::Panic(text),
    })
}

enum Failure {
    Args(String),
    Panic(String),
}

impl From<&str> for Failure {
    fn from(text: &str) -> Self {
        Failure::Args(text.to_string())
    }
}

fn parse_inner(
    ctx: Context<'_>,
    command_args: &[OsString],
    interactive: bool,
) -> Result<WatchArgs, Failure> {
    let mut raw: &[OsString] = ctx.os_args;
    let mut watch: Vec<OsString> = command_args.to_vec();
    if let Some(i) = raw.iter().position(|w| is(w, "watch")) {
        raw = &raw[i + 1..];
    }
    if interactive {
        if !watch.first().is_some_and(|w| is(w, "watch")) {
            return Err(NOT_WATCH.into());
        }
        watch.remove(0);
    }
    let has_env_key = !ctx.env_key.is_empty();
    if interactive {
        let (exec_idx, exec_exist) = find_separator(&watch);
        if exec_exist && exec_idx == watch.len() - 1 {
            return Err(SEPARATOR.into());
        }
        let (positional, _) = line_flags(&watch).map_err(Failure::Args)?;
        if !exec_exist && !has_env_key && positional.is_empty() {
            return Err(BAD_ARGS_NUM.into());
        }
        if !exec_exist && !positional.is_empty() && has_env_key {
            return Err(CONFLICT_ENV.into());
        }
    } else {
        let (exec_idx, exec_exist) = find_separator(raw);
        if exec_exist && exec_idx == raw.len() - 1 {
            return Err(SEPARATOR.into());
        }
        if !exec_exist && raw.is_empty() && !has_env_key {
            return Err(BAD_ARGS_NUM.into());
        }
        if exec_exist && has_env_key && env_key_conflicts(&watch, raw, exec_idx) {
            return Err(CONFLICT_ENV.into());
        }
        if !exec_exist && !watch.is_empty() && has_env_key {
            return Err(CONFLICT_ENV.into());
        }
    }
    let with_sep: Vec<OsString> = if interactive {
        watch.clone()
    } else {
        raw.to_vec()
    };
    let (idx, found_sep) = find_separator(&with_sep);
    let exec = if found_sep {
        with_sep[idx + 1..].to_vec()
    } else {
        Vec::new()
    };
    let mut line_options = None;
    if interactive {
        let (positional, options) = line_flags(&with_sep).map_err(Failure::Args)?;
        watch = positional;
        line_options = Some(options);
    }
    if has_env_key {
        let mut ranges = vec![OsString::from(ctx.env_key)];
        if !ctx.env_range.is_empty() {
            ranges.push(OsString::from(ctx.env_range));
        }
        ranges.append(&mut watch);
        watch = ranges;
    }
    if !found_sep {
        return Ok(WatchArgs {
            watch,
            exec,
            line_options,
        });
    }
    // The words after `--` are among cobra's args too: cut the watch words
    // at the last occurrence of the command's name.
    let first = &with_sep[idx + 1];
    let Some(end) = watch.iter().rposition(|w| w == first) else {
        return Err(Failure::Panic(
            "runtime error: slice bounds out of range [:-1]".to_string(),
        ));
    };
    watch.truncate(end);
    Ok(WatchArgs {
        watch,
        exec,
        line_options,
    })
}

/// Whether cobra's args hold a word before the `--` that the environment
/// key stands in for (`ETCDCTL_WATCH_KEY=foo watch foo -- echo 1`).
fn env_key_conflicts(watch: &[OsString], raw: &[OsString], exec_idx: usize) -> bool {
    let mut ridx = raw.len().checked_sub(1);
    for w in watch.iter().rev() {
        if let Some(r) = ridx
            && raw.get(r) == Some(w)
        {
            ridx = r.checked_sub(1);
            continue;
        }
        if ridx == Some(exec_idx) {
            return true;
        }
    }
    false
}

/// `getWatchChan`: the create request for the watch words.
pub fn watch_request(
    args: &[OsString],
    options: WatchOptions,
) -> Result<WatchCreateRequest, String> {
    let Some(key) = args.first() else {
        return Err(BAD_ARGS_NUM.to_string());
    };
    let mut req = WatchCreateRequest {
        key: key.as_bytes().to_vec(),
        start_revision: options.rev,
        prev_kv: options.prev_kv,
        ..Default::default()
    };
    if args.len() == 2 {
        if options.prefix {
            return Err("`range_end` and `--prefix` are mutually exclusive".to_string());
        }
        req.range_end = args[1].as_bytes().to_vec();
    }
    if options.prefix {
        if req.key.is_empty() {
            req.key = vec![0];
            req.range_end = vec![0];
        } else {
            req.range_end = prefix_end(&req.key);
        }
    }
    Ok(req)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    fn run(os: &str, cmd: &str, env: (&str, &str), interactive: bool) -> Result<WatchArgs, String> {
        let os_args = words(os);
        let ctx = Context {
            os_args: &os_args,
            env_key: env.0,
            env_range: env.1,
        };
        parse(ctx, &words(cmd), interactive).map_err(|e| e.to_string())
    }

    fn ok(watch: &str, exec: &str) -> Result<WatchArgs, String> {
        Ok(WatchArgs {
            watch: words(watch),
            exec: words(exec),
            line_options: None,
        })
    }

    #[test]
    fn finds_keys_and_commands_like_etcdctl() {
        let none = ("", "");
        assert_eq!(
            run("etcdctl watch foo bar", "foo bar", none, false),
            ok("foo bar", "")
        );
        assert_eq!(
            run("etcdctl watch foo bar --", "foo bar", none, false),
            Err(SEPARATOR.to_string())
        );
        assert_eq!(
            run("etcdctl watch", "", ("foo", "bar"), false),
            ok("foo bar", "")
        );
        assert_eq!(
            run("etcdctl watch foo", "foo", ("foo", ""), false),
            Err(CONFLICT_ENV.to_string())
        );
        assert_eq!(
            run(
                "etcdctl watch foo -- echo 1",
                "foo echo 1",
                ("foo", ""),
                false
            ),
            Err(CONFLICT_ENV.to_string())
        );
        assert_eq!(
            run("etcdctl watch -- echo 1", "echo 1", ("foo", ""), false),
            ok("foo", "echo 1")
        );
        assert_eq!(
            run(
                "etcdctl --endpoints=x watch foo --rev 1 bar -- echo hello",
                "foo bar echo hello",
                none,
                false
            ),
            ok("foo bar", "echo hello")
        );
        assert_eq!(
            run("etcdctl watch -- echo hi", "echo hi", none, false),
            ok("", "echo hi")
        );
        assert_eq!(
            run("etcdctl watch", "", none, false),
            Err(BAD_ARGS_NUM.to_string())
        );
    }

    #[test]
    fn interactive_lines_carry_their_own_flags() {
        let none = ("", "");
        let got = run("etcdctl watch -i", "watch foo --prefix --rev=3", none, true).unwrap();
        assert_eq!(got.watch, words("foo"));
        assert_eq!(
            got.line_options,
            Some(WatchOptions {
                prefix: true,
                rev: 3,
                prev_kv: false
            })
        );
        let got = run("etcdctl watch -i", "watch foo -- echo --prefix", none, true).unwrap();
        assert_eq!(
            (got.watch, got.exec),
            (words("foo"), words("echo --prefix"))
        );
        assert!(!got.line_options.unwrap().prefix);
        assert_eq!(
            run("etcdctl watch -i", "watch foo --", none, true),
            Err(SEPARATOR.to_string())
        );
        assert_eq!(
            run("etcdctl watch -i", "watch --bogus foo", none, true),
            Err("unknown flag: --bogus".to_string())
        );
        assert_eq!(
            run("etcdctl watch -i", "watch --prev-kv", none, true),
            Err(BAD_ARGS_NUM.to_string())
        );
        assert_eq!(
            run("etcdctl watch -i", "watch foo", ("k", ""), true),
            Err(CONFLICT_ENV.to_string())
        );
    }

    #[test]
    fn builds_create_requests() {
        let req = watch_request(&words("a"), WatchOptions::default()).unwrap();
        assert_eq!((req.key, req.range_end), (b"a".to_vec(), Vec::new()));
        let prefix = WatchOptions {
            prefix: true,
            rev: 4,
            prev_kv: true,
        };
        let req = watch_request(&words("ab"), prefix).unwrap();
        assert_eq!(req.range_end, b"ac");
        assert!(req.prev_kv && req.start_revision == 4);
        let all = watch_request(&[OsString::new()], prefix).unwrap();
        assert_eq!((all.key, all.range_end), (vec![0], vec![0]));
        assert_eq!(
            watch_request(&words("a b"), prefix).unwrap_err(),
            "`range_end` and `--prefix` are mutually exclusive"
        );
        let extra = watch_request(&words("a b c"), WatchOptions::default()).unwrap();
        assert!(extra.range_end.is_empty(), "a third word is ignored");
        assert_eq!(watch_request(&[], prefix).unwrap_err(), BAD_ARGS_NUM);
    }
}
