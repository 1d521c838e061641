//! One command line of a CLI, and running it.

use std::io::Write;
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
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
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
    }
    let _ = feeder.join();
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("reading the output of {}: {e}", binary.display()));
    Outcome {
        stdout: out.stdout,
        stderr: out.stderr,
        code: out.status.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
