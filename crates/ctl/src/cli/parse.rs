//! From argv to an [`Invocation`], the way cobra and pflag read etcdctl's
//! command line: the command is found by (unique) name prefix among
//! etcdctl's commands, then clap parses the remaining words against that
//! command's local and inherited flags, and clap's complaints are reworded
//! into pflag's.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::flagset::FlagSet;
use super::spec::{self, FlagSpec, Kind};
use crate::error::Error;

/// A parsed command line.
#[derive(Debug)]
pub struct Invocation {
    /// The command, as names below the root (`["endpoint", "status"]`).
    pub path: Vec<String>,
    /// Positional arguments, after flags were taken out.
    pub args: Vec<OsString>,
    /// Local and inherited flags with the values argv gave.
    pub flags: FlagSet,
    /// Names of the inherited flags (those `ETCDCTL_*` variables may set).
    pub inherited: Vec<&'static str>,
    /// The whole command line as given, which `watch` reads again for its
    /// `--` (Go's `os.Args` without the program name).
    pub argv: Vec<OsString>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    Run(Invocation),
    /// Print the usage of this command and exit 0.
    Usage(Vec<String>),
    /// `help` for words that name no command: say so, then the root usage.
    UnknownHelpTopic(Vec<String>),
}

/// Names that take a value when given as a separate word, so the search for
/// the command name can skip that word.
fn takes_value(word: &str) -> bool {
    let all_flags = spec::GLOBAL_FLAGS.iter().chain(
        spec::COMMANDS
            .iter()
            .flat_map(|c| c.flags.iter().chain(c.persistent.iter())),
    );
    let mut flags = all_flags.filter(|f| f.kind != Kind::Bool);
    if let Some(name) = word.strip_prefix("--") {
        return !name.contains('=') && flags.any(|f| f.name == name);
    }
    let shorts = &word[1..];
    shorts.len() == 1 && flags.any(|f| f.short.is_some_and(|c| shorts.starts_with(c)))
}

/// cobra's `Find` with prefix matching: the word's command among `names`.
fn resolve<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    if let Some(exact) = names.iter().find(|n| **n == word) {
        return Some(exact);
    }
    let matches: Vec<&&str> = names.iter().filter(|n| n.starts_with(word)).collect();
    match matches.as_slice() {
        [only] => Some(only),
        _ => None,
    }
}

/// cobra's "Did you mean this?" candidates among the top-level commands.
fn suggest(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    let found: Vec<&str> = spec::SUGGESTION_ORDER
        .iter()
        .filter(|n| levenshtein(&lower, &n.to_lowercase()) <= 2 || n.starts_with(&lower))
        .copied()
        .collect();
    if found.is_empty() {
        return None;
    }
    Some(found.join("\n\t"))
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Parses `argv` (without the program name).
pub fn parse(argv: &[OsString]) -> Result<Parsed, Error> {
    let mut path: Vec<String> = Vec::new();
    let mut rest: Vec<OsString> = Vec::new();
    let mut help_topic = false;
    let mut skip_next = false;
    let mut searching = true;
    for (i, word) in argv.iter().enumerate() {
        let text = word.to_string_lossy();
        if !searching || skip_next {
            skip_next = false;
            rest.push(word.clone());
            continue;
        }
        if text == "--" {
            rest.extend(argv[i..].iter().cloned());
            break;
        }
        if text.starts_with('-') && text.len() > 1 {
            skip_next = takes_value(&text);
            rest.push(word.clone());
            continue;
        }
        let children = spec::children(&path);
        if children.is_empty() {
            searching = false;
            rest.push(word.clone());
            continue;
        }
        match resolve(&text, &children) {
            Some("help") if path.is_empty() => help_topic = true,
            Some(name) => path.push(name.to_string()),
            None if path.is_empty() && help_topic => {
                let words: Vec<String> = argv[i..]
                    .iter()
                    .map(|w| w.to_string_lossy().into_owned())
                    .filter(|w| !w.starts_with('-'))
                    .collect();
                return Ok(Parsed::UnknownHelpTopic(words));
            }
            None if path.is_empty() => {
                return Err(Error::UnknownCommand {
                    suggestion: suggest(&text),
                    name: text.into_owned(),
                    parent: "etcdctl".to_string(),
                });
            }
            None => {
                searching = false;
                rest.push(word.clone());
            }
        }
    }
    let Some(cmd) = spec::find(&path) else {
        return Err(Error::exit(
            crate::exit::ERROR,
            format!(
                "command {:?} is not implemented by this etcdctl",
                path.join(" ")
            ),
        ));
    };
    let local = spec::local_flags(cmd);
    let inherited = if path.is_empty() {
        Vec::new()
    } else {
        spec::inherited_flags(&path)
    };
    let all: Vec<&'static FlagSpec> = local.iter().chain(inherited.iter()).copied().collect();
    let (args, flags) = parse_words(&rest, &all).map_err(|message| Error::Flag {
        command: path.clone(),
        message,
    })?;
    if help_topic || flags.bool("help") || !cmd.runnable {
        return Ok(Parsed::Usage(path));
    }
    Ok(Parsed::Run(Invocation {
        path,
        args,
        flags,
        inherited: inherited.iter().map(|f| f.name).collect(),
        argv: argv.to_vec(),
    }))
}

/// pflag's parse of `words` against `flags`: the positional words and the
/// flag values, or pflag's message for the first problem.
pub fn parse_words(
    words: &[OsString],
    flags: &[&'static FlagSpec],
) -> Result<(Vec<OsString>, FlagSet), String> {
    let matches = clap_command(flags)
        .try_get_matches_from(words)
        .map_err(|e| pflag_message(&e, flags, words))?;
    let mut set = FlagSet::new(flags.iter());
    let mut given: Vec<(usize, &'static str, String)> = Vec::new();
    for f in flags {
        if let (Some(values), Some(indices)) = (
            matches.get_many::<String>(f.name),
            matches.indices_of(f.name),
        ) {
            given.extend(indices.zip(values).map(|(i, v)| (i, f.name, v.clone())));
        }
    }
    given.sort_by_key(|(i, _, _)| *i);
    for (_, name, value) in &given {
        set.set(name, value)?;
    }
    Ok((positional(&matches), set))
}

fn positional(matches: &ArgMatches) -> Vec<OsString> {
    matches
        .get_many::<OsString>("args")
        .map(|v| v.cloned().collect())
        .unwrap_or_default()
}

/// A clap command that reads words the way pflag does: booleans take a
/// value only with `=`, other flags take the next word whatever it looks
/// like, every occurrence counts.
pub fn clap_command(flags: &[&'static FlagSpec]) -> Command {
    let mut cmd = Command::new("etcdctl")
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            Arg::new("args")
                .num_args(0..)
                .action(ArgAction::Append)
                .value_parser(clap::value_parser!(OsString)),
        );
    for f in flags {
        let mut arg = Arg::new(f.name).long(f.name).action(ArgAction::Append);
        if let Some(c) = f.short {
            arg = arg.short(c);
        }
        arg = if f.kind == Kind::Bool {
            arg.num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
        } else {
            arg.num_args(1).allow_hyphen_values(true)
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

fn context_str(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => v.first().cloned(),
        _ => None,
    }
}

/// Rewords a clap parse error as pflag words the same problem.
fn pflag_message(e: &clap::Error, flags: &[&'static FlagSpec], argv: &[OsString]) -> String {
    let arg = context_str(e, ContextKind::InvalidArg).unwrap_or_default();
    let words: Vec<String> = argv
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    match e.kind() {
        ErrorKind::UnknownArgument => {
            if let Some(long) = arg.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or(long);
                return format!("unknown flag: --{name}");
            }
            let c = arg.trim_start_matches('-').chars().next().unwrap_or('-');
            let word = words
                .iter()
                .find(|w| !w.starts_with("--") && w.starts_with('-') && w[1..].contains(c))
                .map_or(c.to_string(), |w| w[1..].to_string());
            let from_c = word.find(c).map_or(word.as_str(), |i| &word[i..]);
            format!("unknown shorthand flag: '{c}' in -{from_c}")
        }
        ErrorKind::InvalidValue | ErrorKind::NoEquals | ErrorKind::TooFewValues => {
            let name = arg
                .trim_start_matches('-')
                .split([' ', '=', '<'])
                .next()
                .unwrap_or_default()
                .to_string();
            let spec = flags
                .iter()
                .find(|f| f.name == name || f.short.is_some_and(|c| name == c.to_string()));
            match spec {
                Some(f) => {
                    let short_word = f.short.and_then(|c| {
                        words
                            .iter()
                            .rev()
                            .find(|w| !w.starts_with("--") && w.starts_with('-') && w.ends_with(c))
                            .map(|w| (c, w[1..].to_string()))
                    });
                    match short_word {
                        Some((c, w)) if !words.iter().any(|x| x == &format!("--{}", f.name)) => {
                            format!("flag needs an argument: '{c}' in -{w}")
                        }
                        _ => format!("flag needs an argument: --{}", f.name),
                    }
                }
                None => e.to_string(),
            }
        }
        _ => e.kind().to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    fn run(s: &str) -> Invocation {
        match parse(&words(s)).unwrap() {
            Parsed::Run(inv) => inv,
            other => panic!("{other:?}"),
        }
    }

    fn flag_error(s: &str) -> String {
        match parse(&words(s)) {
            Err(Error::Flag { message, .. }) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn finds_commands_by_prefix_and_keeps_flags_anywhere() {
        let inv = run("--endpoints=a:1 ge foo --prefix -w json --limit -1");
        assert_eq!(inv.path, vec!["get"]);
        assert_eq!(inv.args, words("foo"));
        assert!(inv.flags.bool("prefix"));
        assert_eq!(inv.flags.string("write-out"), "json");
        assert_eq!(inv.flags.int64("limit"), -1);
        assert_eq!(inv.flags.strings("endpoints"), vec!["a:1"]);
        let inv = run("endpoint --cluster st");
        assert_eq!(inv.path, vec!["endpoint", "status"]);
        assert!(inv.flags.bool("cluster"));
    }

    #[test]
    fn booleans_take_values_only_with_equals() {
        let inv = run("del k --prefix=false false");
        assert!(!inv.flags.bool("prefix"));
        assert_eq!(inv.args, words("k false"));
        let inv = run("txn -i");
        assert!(inv.flags.bool("interactive"));
    }

    #[test]
    fn double_dash_ends_flags() {
        let inv = run("put -- k -v");
        assert_eq!(inv.args, words("k -v"));
    }

    #[test]
    fn pflag_errors() {
        assert_eq!(flag_error("get x --count"), "unknown flag: --count");
        assert_eq!(
            flag_error("put k -bar"),
            "unknown shorthand flag: 'b' in -bar"
        );
        assert_eq!(
            flag_error("get x --limit"),
            "flag needs an argument: --limit"
        );
        assert_eq!(flag_error("get x -w"), "flag needs an argument: 'w' in -w");
        assert_eq!(
            flag_error("get x --limit=z"),
            "invalid argument \"z\" for \"--limit\" flag: strconv.ParseInt: parsing \"z\": invalid syntax"
        );
        assert_eq!(
            flag_error("get x --prefix=maybe"),
            "invalid argument \"maybe\" for \"--prefix\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax"
        );
    }

    #[test]
    fn unknown_commands_and_usage() {
        match parse(&words("gte")) {
            Err(Error::UnknownCommand { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some("get"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(&words("endpoint")), Ok(Parsed::Usage(p)) if p == ["endpoint"]));
        assert!(matches!(parse(&words("help put")), Ok(Parsed::Usage(p)) if p == ["put"]));
        assert!(matches!(parse(&words("get --help")), Ok(Parsed::Usage(p)) if p == ["get"]));
        assert!(matches!(parse(&words("")), Ok(Parsed::Usage(p)) if p.is_empty()));
        assert!(
            matches!(parse(&words("help bogus x")), Ok(Parsed::UnknownHelpTopic(w)) if w == ["bogus", "x"])
        );
    }
}
