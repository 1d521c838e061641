//! ctl is the client layer of the workspace: a clone of etcdctl (v3 API,
//! etcd 3.4.23) whose output, error texts and exit codes match the real
//! tool byte for byte, so scripts and the integrator's comparison tests can
//! use either. It owns the command line (cobra/pflag semantics on top of
//! clap, `ETCDCTL_*` variables), the etcd v3 gRPC client (tonic, with
//! clientv3's waiting, retrying and logging, its watch and lease streams),
//! clientv3's concurrency recipes (sessions, elections, mutexes) that
//! `elect` and `lock` run client-side, the txn language and the
//! `simple`/`json`/`fields`/`table`/`protobuf` printers. Its API is
//! [`run`] (one invocation against given streams and environment) plus the
//! modules later commands build on ([`client`], [`concurrency`],
//! [`printer`], [`txn_grammar`], [`command`]). It talks to servers only
//! through the generated gRPC clients of the api crate and must never depend
//! on server crates.

pub mod cli;
pub mod client;
pub mod clock;
pub mod command;
pub mod concurrency;
pub mod error;
pub mod exit;
pub mod go;
pub mod io;
pub mod keys;
pub mod printer;
pub mod txn_grammar;
pub mod version;

use std::ffi::OsString;

pub use cli::flagset::Env;
pub use error::Error;
pub use io::Io;

use cli::parse::{Parsed, parse};
use command::Session;

/// Runs one etcdctl invocation (`argv` without the program name) and
/// returns its exit code. `use_stty` lets a password prompt switch the
/// terminal's echo off, which only makes sense for the real process.
pub fn run(argv: &[OsString], env: Env, io: &mut Io<'_>, use_stty: bool) -> i32 {
    let code = match parse(argv) {
        Err(e) => e.report(io),
        Ok(Parsed::Usage(path)) => {
            io.print(&cli::usage::render(&path));
            exit::SUCCESS
        }
        Ok(Parsed::UnknownHelpTopic(words)) => {
            let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
            io.eprint(&format!("Unknown help topic [{}]\n", quoted.join(" ")));
            io.print(&cli::usage::render_with(&[], false));
            exit::SUCCESS
        }
        Ok(Parsed::Run(inv)) => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Err(e) => Error::exit(exit::ERROR, e.to_string()).report(io),
            Ok(rt) => {
                let session = Session {
                    io,
                    inv,
                    env,
                    use_stty,
                };
                match rt.block_on(command::dispatch(session)) {
                    Ok(()) => exit::SUCCESS,
                    Err(e) => e.report(io),
                }
            }
        },
    };
    io.flush();
    code
}
