//! One command line of a CLI, and running it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::mask::Mask;

/// How long one command may run before it is killed.
const STEP_LIMIT: Duration = Duration::from_secs(30);

/// One command line to run, with its stdin, environment and what of its
/// output legitimately varies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub args: Vec<String>,
    pub stdin: Vec<u8>,
    pub env: Vec<(String, String)>,
    /// Prepend `--endpoints=<endpoint>` (off when the step sets its own).
    pub with_endpoint: bool,
    /// Masks applied on top of the ones every step gets.
    pub masks: Vec<Mask>,
}

impl Step {
    pub fn new(args: &[&str]) -> Step {
        Step {
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: Vec::new(),
            env: Vec::new(),
            with_endpoint: true,
            masks: Vec::new(),
        }
    }

    /// Words split on whitespace.
    pub fn words(line: &str) -> Step {
        Step::new(&line.split_whitespace().collect::<Vec<_>>())
    }

    /// `flags` put in front of the step's words.
    pub fn with_flags(mut self, flags: &[String]) -> Step {
        let mut args = flags.to_vec();
        args.append(&mut self.args);
        self.args = args;
        self
    }

    pub fn stdin(mut self, input: &[u8]) -> Step {
        self.stdin = input.to_vec();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Step {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn no_endpoint(mut self) -> Step {
        self.with_endpoint = false;
        self
    }

    /// The output also holds `mask`'s kind of value.
    pub fn masked(mut self, mask: Mask) -> Step {
        self.masks.push(mask);
        self
    }

    /// The output holds measured durations (endpoint health).
    pub fn timed(self) -> Step {
        self.masked(Mask::Durations)
    }
}

/// What a run printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: Option<i32>,
}

/// Runs the CLI `binary` for `step` against `endpoint`, with an
/// environment holding only `PATH` and the step's variables.
pub fn run(binary: &Path, endpoint: &str, step: &Step) -> Outcome {
    let mut cmd = Command::new(binary);
    cmd.env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in &step.env {
        cmd.env(k, v);
    }
    if step.with_endpoint {
        cmd.arg(format!("--endpoints={endpoint}"));
    }
    cmd.args(&step.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
    let stdin = child.stdin.take();
    let input = step.stdin.clone();
    // A separate writer, so a CLI that prints before reading all its input
    // cannot deadlock against us.
    let feeder = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(&input);
        }
    });
    // Readers drain the pipes while the CLI runs: one that prints more than
    // a pipe holds would otherwise block forever on its write.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > STEP_LIMIT => {
                let _ = child.kill();
                panic!(
                    "{} {:?} ran longer than {STEP_LIMIT:?}",
                    binary.display(),
                    step.args
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for {}: {e}", binary.display()),
        }
    };
    let _ = feeder.join();
    let output = |reader: std::thread::JoinHandle<Vec<u8>>| {
        reader
            .join()
            .unwrap_or_else(|_| panic!("reading the output of {}", binary.display()))
    };
    Outcome {
        stdout: output(stdout),
        stderr: output(stderr),
        code: status.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More output than a pipe holds must not stall the CLI.
    #[test]
    fn large_output_is_read_while_the_cli_runs() {
        let sh = Path::new("/bin/sh");
        let step = Step::new(&["-c", "head -c 1000000 /dev/zero"]).no_endpoint();
        let started = Instant::now();
        let out = run(sh, "", &step);
        assert_eq!(out.stdout.len(), 1_000_000);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn runs_with_only_the_step_environment_and_input() {
        let sh = Path::new("/bin/sh");
        let step = Step::new(&["-c", "cat; echo \"[$FOO][$HOME]\" >&2; exit 3"])
            .no_endpoint()
            .stdin(b"in")
            .env("FOO", "bar");
        let out = run(sh, "unused", &step);
        assert_eq!(out.stdout, b"in");
        assert_eq!(out.stderr, b"[bar][]\n");
        assert_eq!(out.code, Some(3));
    }

    #[test]
    fn puts_the_endpoint_and_flags_first() {
        let step = Step::words("b c").with_flags(&["a".to_string()]);
        let out = run(Path::new("/bin/echo"), "127.0.0.1:1", &step);
        assert_eq!(out.stdout, b"--endpoints=127.0.0.1:1 a b c\n");
    }
}
