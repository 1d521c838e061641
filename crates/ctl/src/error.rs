//! Every way an etcdctl invocation can end other than success. Each variant
//! knows what etcdctl writes for it and the exit code it ends with; see
//! [`Error::report`].

use crate::cli::usage;
use crate::exit;
use crate::go::quote::quote;
use crate::io::Io;

/// How an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `ExitWithError(code, err)`: `Error: <message>` on stderr.
    #[error("{message}")]
    Exit { code: i32, message: String },
    /// A failed RPC; etcdctl reports it with `ExitWithError(ExitError, ..)`.
    #[error("{0}")]
    Rpc(crate::client::RpcError),
    /// cobra printed a command's usage to stderr before etcdctl's
    /// `ExitWithError(code, message)`.
    #[error("{message}")]
    AfterUsage {
        usage: String,
        code: i32,
        message: String,
    },
    /// A bare `os.Exit(code)` after the command already reported.
    #[error("exit status {0}")]
    Quiet(i32),
    /// A flag cobra could not parse: usage of `command` on stdout, the error
    /// twice on stderr (once by cobra, once by etcdctl's main).
    #[error("{message}")]
    Flag {
        command: Vec<String>,
        message: String,
    },
    /// cobra's unknown subcommand.
    #[error("unknown command {name} for {parent}")]
    UnknownCommand {
        name: String,
        parent: String,
        suggestion: Option<String>,
    },
    /// pkg/flags' fatal log line (capnslog format), exit 1.
    #[error("{0}")]
    Fatal(String),
    /// A connection that could not be opened, in grpc-go's words.
    #[error("{0}")]
    Dial(String),
    /// What etcdctl does by panicking; the goroutine dump is not mimicked.
    #[error("panic: {0}")]
    Panic(String),
}

impl Error {
    /// `ExitWithError(code, message)`.
    pub fn exit(code: i32, message: impl Into<String>) -> Self {
        Error::Exit {
            code,
            message: message.into(),
        }
    }

    /// `ExitWithError(ExitBadArgs, ..)`.
    pub fn bad_args(message: impl Into<String>) -> Self {
        Self::exit(exit::BAD_ARGS, message)
    }

    /// Writes what etcdctl writes for this error and returns its exit code.
    pub fn report(&self, io: &mut Io<'_>) -> i32 {
        match self {
            Error::Exit { code, message } => {
                io.eprint(&format!("Error: {message}\n"));
                *code
            }
            Error::Rpc(e) => {
                io.eprint(&format!("Error: {e}\n"));
                exit::ERROR
            }
            Error::Quiet(code) => *code,
            Error::AfterUsage {
                usage,
                code,
                message,
            } => {
                io.eprint(&format!("{usage}\nError: {message}\n"));
                *code
            }
            Error::Dial(text) => {
                io.eprint(&format!("Error: {text}\n"));
                exit::ERROR
            }
            Error::Flag { command, message } => {
                io.print(&usage::render(command));
                io.eprint(&format!("Error: {message}\n\nError: {message}\n"));
                exit::ERROR
            }
            Error::UnknownCommand {
                name,
                parent,
                suggestion,
            } => {
                let mut text = format!(
                    "unknown command {} for {}",
                    quote(name.as_bytes()),
                    quote(parent.as_bytes())
                );
                if let Some(s) = suggestion {
                    text.push_str(&format!("\n\nDid you mean this?\n\t{s}\n"));
                }
                io.eprint(&format!(
                    "Error: {text}\nRun '{parent} --help' for usage.\nError: {text}\n"
                ));
                exit::ERROR
            }
            Error::Fatal(line) => {
                io.eprint(line);
                exit::ERROR
            }
            Error::Panic(message) => {
                io.eprint(&format!("panic: {message}\n\ngoroutine 1 [running]:\n"));
                exit::PANIC
            }
        }
    }
}
