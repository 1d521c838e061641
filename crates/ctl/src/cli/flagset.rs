//! The flag values of one invocation, with pflag's semantics: a value is
//! parsed when set (so a bad one fails at once, with pflag's message), a
//! flag remembers whether it was changed, and `ETCDCTL_*` environment
//! variables fill the inherited flags that were not (etcd's pkg/flags).

use std::collections::BTreeMap;
use std::time::Duration;

use super::spec::{FlagSpec, Kind};
use crate::clock;
use crate::error::Error;
use crate::go::quote::quote;
use crate::go::{duration, strconv};
use crate::io::Io;

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Bool(bool),
    Str(String),
    Slice(Vec<String>),
    Int(i64),
    Dur(Duration),
    Discarded,
}

#[derive(Debug)]
struct Flag {
    spec: &'static FlagSpec,
    value: Value,
    changed: bool,
}

/// The process environment as etcdctl sees it (`ETCDCTL_API` removed).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    pub fn new(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Env {
            vars: vars
                .into_iter()
                .filter(|(k, _)| k != "ETCDCTL_API")
                .collect(),
        }
    }

    /// The process's own environment.
    pub fn from_process() -> Self {
        Self::new(std::env::vars_os().map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        }))
    }

    /// `os.Environ()`, as a child process inherits it.
    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// `os.Getenv`: the value, or empty when unset.
    pub fn get(&self, key: &str) -> &str {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The environment variable pkg/flags binds to `name`.
pub fn env_key(name: &str) -> String {
    format!("ETCDCTL_{}", name.replace('-', "_").to_uppercase())
}

/// Flags by name, sorted as pflag visits them.
#[derive(Debug, Default)]
pub struct FlagSet {
    flags: BTreeMap<&'static str, Flag>,
}

fn default_value(spec: &FlagSpec) -> Value {
    match spec.kind {
        Kind::Bool => Value::Bool(spec.default == "true"),
        Kind::String => Value::Str(spec.default.to_string()),
        Kind::StringSlice => Value::Slice(
            spec.default
                .trim_matches(['[', ']'])
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        Kind::Int64 => Value::Int(spec.default.parse().unwrap_or(0)),
        Kind::Duration => Value::Dur(duration::parse(spec.default).unwrap_or_default()),
        Kind::Discard => Value::Discarded,
    }
}

impl FlagSet {
    pub fn new<'a>(specs: impl IntoIterator<Item = &'a &'static FlagSpec>) -> Self {
        let flags = specs
            .into_iter()
            .map(|spec| {
                (
                    spec.name,
                    Flag {
                        spec,
                        value: default_value(spec),
                        changed: false,
                    },
                )
            })
            .collect();
        FlagSet { flags }
    }

    /// pflag's `AddFlag`: one more flag, at its default.
    pub fn add(&mut self, spec: &'static FlagSpec) {
        self.flags.entry(spec.name).or_insert(Flag {
            spec,
            value: default_value(spec),
            changed: false,
        });
    }

    /// pflag's `FlagSet.Set`: parses `raw` for the flag `name`.
    pub fn set(&mut self, name: &str, raw: &str) -> Result<(), String> {
        let Some(flag) = self.flags.get_mut(name) else {
            return Err(format!("no such flag -{name}"));
        };
        let parsed = match flag.spec.kind {
            Kind::Bool => strconv::parse_bool(raw).map(Value::Bool),
            Kind::String => Ok(Value::Str(raw.to_string())),
            Kind::Int64 => strconv::parse_i64(raw, 0).map(Value::Int),
            Kind::Duration => duration::parse(raw).map(Value::Dur),
            Kind::Discard => Ok(Value::Discarded),
            Kind::StringSlice => {
                let mut items: Vec<String> = if raw.is_empty() {
                    Vec::new()
                } else {
                    raw.split(',').map(str::to_string).collect()
                };
                if flag.changed
                    && let Value::Slice(existing) = &flag.value
                {
                    let mut all = existing.clone();
                    all.append(&mut items);
                    items = all;
                }
                Ok(Value::Slice(items))
            }
        };
        match parsed {
            Ok(v) => {
                flag.value = v;
                flag.changed = true;
                Ok(())
            }
            Err(e) => {
                let shown = match flag.spec.short {
                    Some(c) => format!("-{c}, --{}", flag.spec.name),
                    None => format!("--{}", flag.spec.name),
                };
                Err(format!(
                    "invalid argument {} for {} flag: {e}",
                    quote(raw.as_bytes()),
                    quote(shown.as_bytes())
                ))
            }
        }
    }

    pub fn changed(&self, name: &str) -> bool {
        self.flags.get(name).is_some_and(|f| f.changed)
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(
            self.flags.get(name).map(|f| &f.value),
            Some(Value::Bool(true))
        )
    }

    pub fn string(&self, name: &str) -> String {
        match self.flags.get(name).map(|f| &f.value) {
            Some(Value::Str(s)) => s.clone(),
            _ => String::new(),
        }
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.flags.get(name).map(|f| &f.value) {
            Some(Value::Slice(v)) => v.clone(),
            _ => Vec::new(),
        }
    }

    pub fn int64(&self, name: &str) -> i64 {
        match self.flags.get(name).map(|f| &f.value) {
            Some(Value::Int(v)) => *v,
            _ => 0,
        }
    }

    pub fn duration(&self, name: &str) -> Duration {
        match self.flags.get(name).map(|f| &f.value) {
            Some(Value::Dur(v)) => *v,
            _ => Duration::ZERO,
        }
    }

    /// pflag's `Value.String()`, as `--debug` prints it.
    fn shown(&self, name: &str) -> String {
        match self.flags.get(name).map(|f| &f.value) {
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Str(s)) => s.clone(),
            Some(Value::Slice(v)) => format!("[{}]", v.join(",")),
            Some(Value::Int(i)) => i.to_string(),
            Some(Value::Dur(d)) => duration::format(*d),
            Some(Value::Discarded) | None => String::new(),
        }
    }

    /// pkg/flags' `SetPflagsFromEnv("ETCDCTL", inherited)`: fills each of
    /// `names` that was not changed from its `ETCDCTL_*` variable (a bad
    /// value is ignored, as etcdctl ignores the error), warns about every
    /// other `ETCDCTL_*` variable, and dies when a variable shadows a flag
    /// given on the command line.
    pub fn apply_env(
        &mut self,
        names: &[&'static str],
        env: &Env,
        io: &mut Io<'_>,
    ) -> Result<(), Error> {
        let mut already_set = Vec::new();
        let mut used = Vec::new();
        for name in names {
            let key = env_key(name);
            if self.changed(name) {
                already_set.push(key);
                continue;
            }
            let val = env.get(&key);
            if !val.is_empty() {
                used.push(key);
                let _ = self.set(name, val);
            }
        }
        for (key, val) in &env.vars {
            if used.contains(key) {
                continue;
            }
            if already_set.contains(key) {
                return Err(Error::Fatal(format!(
                    "{} C | pkg/flags: conflicting environment variable {key:?} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)\n",
                    clock::capnslog_timestamp()
                )));
            }
            if key.starts_with("ETCDCTL_") {
                io.eprint(&format!(
                    "{} W | pkg/flags: unrecognized environment variable {key}={val}\n",
                    clock::capnslog_timestamp()
                ));
            }
        }
        Ok(())
    }

    /// What `--debug` prints first: every inherited flag as its variable.
    pub fn debug_dump(&self, names: &[&'static str], io: &mut Io<'_>) {
        for name in names {
            io.eprint(&format!("{}={}\n", env_key(name), self.shown(name)));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cli::spec::GLOBAL_FLAGS;

    fn globals() -> FlagSet {
        FlagSet::new(GLOBAL_FLAGS.iter().collect::<Vec<_>>().iter())
    }

    #[test]
    fn defaults_and_set_values() {
        let mut fs = globals();
        assert_eq!(fs.strings("endpoints"), vec!["127.0.0.1:2379"]);
        assert_eq!(fs.duration("dial-timeout"), Duration::from_secs(2));
        assert!(fs.bool("insecure-transport"));
        fs.set("endpoints", "a,b").unwrap();
        fs.set("endpoints", "c").unwrap();
        assert_eq!(fs.strings("endpoints"), vec!["a", "b", "c"]);
        assert!(fs.changed("endpoints"));
        assert_eq!(
            fs.set("dial-timeout", "x"),
            Err(
                "invalid argument \"x\" for \"--dial-timeout\" flag: time: invalid duration \"x\""
                    .into()
            )
        );
        assert_eq!(
            fs.set("write-out", "json").map(|_| fs.string("write-out")),
            Ok("json".to_string())
        );
    }

    #[test]
    fn env_fills_unchanged_flags_and_warns() {
        let mut fs = globals();
        let env = Env::new([
            ("ETCDCTL_DIAL_TIMEOUT".to_string(), "7s".to_string()),
            ("ETCDCTL_FOO".to_string(), "1".to_string()),
            ("ETCDCTL_API".to_string(), "3".to_string()),
        ]);
        let names: Vec<&'static str> = GLOBAL_FLAGS.iter().map(|f| f.name).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: Box::new(&b""[..]),
            out: &mut out,
            err: &mut err,
        };
        fs.apply_env(&names, &env, &mut io).unwrap();
        assert_eq!(fs.duration("dial-timeout"), Duration::from_secs(7));
        let err = String::from_utf8(err).unwrap();
        assert!(err.ends_with(" W | pkg/flags: unrecognized environment variable ETCDCTL_FOO=1\n"));
        assert!(!err.contains("ETCDCTL_API"));
    }

    #[test]
    fn env_shadowed_by_flag_is_fatal() {
        let mut fs = globals();
        fs.set("endpoints", "x:1").unwrap();
        let env = Env::new([("ETCDCTL_ENDPOINTS".to_string(), "y:2".to_string())]);
        let names: Vec<&'static str> = GLOBAL_FLAGS.iter().map(|f| f.name).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: Box::new(&b""[..]),
            out: &mut out,
            err: &mut err,
        };
        let e = fs.apply_env(&names, &env, &mut io).unwrap_err();
        assert!(
            e.to_string()
                .contains("conflicting environment variable \"ETCDCTL_ENDPOINTS\"")
        );
    }
}
