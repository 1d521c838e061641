//! The commands, one file each, and the [`Session`] they share: the parsed
//! command line plus the steps etcdctl takes in the same order for every
//! command (command deadline, `ETCDCTL_*` variables, `--debug`, TLS and auth
//! settings, the output format, then the client).

pub mod compaction;
pub mod del;
pub mod elect;
pub mod endpoint;
pub mod get;
mod interrupt;
pub mod lease;
pub mod lock;
pub mod make_mirror;
pub mod member;
pub mod move_leader;
pub mod put;
pub mod txn;
pub mod version;
pub mod watch;
pub mod watch_args;

use std::process::{Command, Stdio};

use tokio::time::Instant;

use crate::cli::flagset::Env;
use crate::cli::parse::Invocation;
use crate::client::{Client, ClientConfig, Credentials, TlsFiles};
use crate::error::Error;
use crate::exit;
use crate::io::Io;
use crate::printer::Display;

/// One invocation on its way through etcdctl's steps.
pub struct Session<'s, 'io> {
    pub io: &'s mut Io<'io>,
    pub inv: Invocation,
    pub env: Env,
    /// Whether to run `stty` around a password prompt (only when the
    /// process's own terminal is stdin).
    pub use_stty: bool,
}

impl Session<'_, '_> {
    /// `commandCtx`: the deadline `--command-timeout` sets from now.
    pub fn command_deadline(&self) -> Instant {
        Instant::now() + self.inv.flags.duration("command-timeout")
    }

    /// `SetPflagsFromEnv` on the inherited flags (for `watch`, plus the
    /// two that only silence its own variables).
    pub fn apply_env(&mut self) -> Result<(), Error> {
        if self.inv.path == ["watch"] {
            for spec in crate::cli::spec::WATCH_ENV_FLAGS {
                if !self.inv.inherited.contains(&spec.name) {
                    self.inv.flags.add(spec);
                    self.inv.inherited.push(spec.name);
                }
            }
            self.inv.inherited.sort_unstable();
        }
        let names = self.inv.inherited.clone();
        self.inv.flags.apply_env(&names, &self.env, self.io)
    }

    /// `initDisplayFromCmd`.
    pub fn display(&self) -> Result<Display, Error> {
        Display::new(
            &self.inv.flags.string("write-out"),
            self.inv.flags.bool("hex"),
        )
        .ok_or_else(|| Error::exit(exit::BAD_FEATURE, "unsupported output format"))
    }

    /// `secureCfgFromCmd`: TLS files, each rejected when given empty.
    fn tls_files(&self) -> Result<Option<TlsFiles>, Error> {
        let flags = &self.inv.flags;
        for name in ["cert", "key", "cacert"] {
            if flags.changed(name) && flags.string(name).is_empty() {
                return Err(Error::bad_args(format!(
                    "empty string is passed to --{name} option"
                )));
            }
        }
        let files = TlsFiles {
            cert: flags.string("cert"),
            key: flags.string("key"),
            cacert: flags.string("cacert"),
            skip_verify: flags.bool("insecure-skip-tls-verify"),
        };
        let any_file = !files.cert.is_empty() || !files.key.is_empty() || !files.cacert.is_empty();
        if !any_file && flags.bool("insecure-transport") {
            return Ok(None);
        }
        Ok(Some(files))
    }

    /// `authCfgFromCmd`: `--user name[:password]`, `--password`, or a prompt.
    fn credentials(&mut self) -> Option<Credentials> {
        let user = self.inv.flags.string("user");
        if user.is_empty() {
            return None;
        }
        let password = self.inv.flags.string("password");
        if !password.is_empty() {
            return Some(Credentials { user, password });
        }
        match user.split_once(':') {
            Some((name, pw)) => Some(Credentials {
                user: name.to_string(),
                password: pw.to_string(),
            }),
            None => {
                let password = self.ask_password();
                Some(Credentials { user, password })
            }
        }
    }

    /// speakeasy's `Ask("Password: ")`: prompt on stdout, echo off through
    /// `stty`, one line from stdin, then a newline.
    fn ask_password(&mut self) -> String {
        self.io.print("Password: ");
        self.io.flush();
        self.stty("-echo");
        let mut line = String::new();
        let _ = self.io.stdin.read_line(&mut line);
        self.stty("echo");
        self.io.println("");
        line.trim_end_matches(['\n', '\r']).to_string()
    }

    fn stty(&self, mode: &str) {
        if self.use_stty {
            let _ = Command::new("stty")
                .arg(mode)
                .stdin(Stdio::inherit())
                .stdout(Stdio::inherit())
                .stderr(Stdio::inherit())
                .status();
        }
    }

    /// `clientConfigFromCmd`: the environment, the `--debug` dump, then
    /// everything a client needs, plus the printer.
    pub fn client_config(&mut self) -> Result<(ClientConfig, Display), Error> {
        self.apply_env()?;
        if self.inv.flags.bool("debug") {
            self.inv.flags.debug_dump(&self.inv.inherited, self.io);
        }
        self.settings()
    }

    /// The client settings and printer the flags (as they now stand) ask for.
    pub fn settings(&mut self) -> Result<(ClientConfig, Display), Error> {
        let flags = &self.inv.flags;
        let endpoints: Vec<String> = flags
            .strings("endpoints")
            .iter()
            .map(|e| e.trim().to_string())
            .collect();
        let dial_timeout = flags.duration("dial-timeout");
        let keepalive_time = flags.duration("keepalive-time");
        let keepalive_timeout = flags.duration("keepalive-timeout");
        let tls = self.tls_files()?;
        if let Some(files) = &tls {
            files.check_pair()?;
        }
        let auth = self.credentials();
        let display = self.display()?;
        Ok((
            ClientConfig {
                endpoints,
                dial_timeout,
                keepalive_time,
                keepalive_timeout,
                tls,
                auth,
            },
            display,
        ))
    }

    /// `mustClientFromCmd`: a connected (and authenticated) client.
    pub async fn client(&mut self) -> Result<(Client, Display), Error> {
        let (cfg, display) = self.client_config()?;
        let mut client = Client::new(cfg)?;
        let connected = client.connect().await;
        self.flush(&mut client);
        connected?;
        Ok((client, display))
    }

    /// Writes what the client logged to stderr.
    pub fn flush(&mut self, client: &mut Client) {
        let log = client.take_log();
        self.io.eprint(&log);
    }

    /// Positional arguments as bytes (etcdctl keys need not be UTF-8).
    pub fn arg_bytes(&self) -> Vec<Vec<u8>> {
        use std::os::unix::ffi::OsStrExt;
        self.inv
            .args
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect()
    }
}

/// Runs the command the invocation names.
pub async fn dispatch(mut s: Session<'_, '_>) -> Result<(), Error> {
    let path: Vec<&str> = s.inv.path.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["get"] => get::run(&mut s).await,
        ["put"] => put::run(&mut s).await,
        ["del"] => del::run(&mut s).await,
        ["txn"] => txn::run(&mut s).await,
        ["compaction"] => compaction::run(&mut s).await,
        ["endpoint", "health"] => endpoint::health(&mut s).await,
        ["endpoint", "status"] => endpoint::status(&mut s).await,
        ["endpoint", "hashkv"] => endpoint::hashkv(&mut s).await,
        ["watch"] => watch::run(&mut s).await,
        ["lease", "grant"] => lease::grant(&mut s).await,
        ["lease", "revoke"] => lease::revoke(&mut s).await,
        ["lease", "timetolive"] => lease::time_to_live(&mut s).await,
        ["lease", "list"] => lease::list(&mut s).await,
        ["lease", "keep-alive"] => lease::keep_alive(&mut s).await,
        ["member", "add"] => member::add(&mut s).await,
        ["member", "remove"] => member::remove(&mut s).await,
        ["member", "update"] => member::update(&mut s).await,
        ["member", "list"] => member::list(&mut s).await,
        ["member", "promote"] => member::promote(&mut s).await,
        ["move-leader"] => move_leader::run(&mut s).await,
        ["make-mirror"] => make_mirror::run(&mut s).await,
        ["elect"] => elect::run(&mut s).await,
        ["lock"] => lock::run(&mut s).await,
        ["version"] => {
            version::run(s.io);
            Ok(())
        }
        _ => Err(Error::exit(
            exit::ERROR,
            format!(
                "command {:?} is not implemented by this etcdctl",
                s.inv.path.join(" ")
            ),
        )),
    }
}
