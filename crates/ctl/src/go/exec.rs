//! Go's os/exec as etcdctl runs a command (`watch ... -- cmd`, `lock name
//! cmd`): the program found on `PATH` unless the name has a slash, stdin
//! from the null device, stdout and stderr shared with etcdctl, exactly the
//! environment given (the last value of a repeated variable wins), and
//! `cmd.Run()`'s error texts (`exit status 3`, `signal: killed`, ...).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use super::quote::quote;
use crate::client::dial::os_text;

/// Go's names for Linux signals (`syscall.Signal.String()`).
fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "hangup",
        2 => "interrupt",
        3 => "quit",
        4 => "illegal instruction",
        5 => "trace/breakpoint trap",
        6 => "aborted",
        7 => "bus error",
        8 => "floating point exception",
        9 => "killed",
        10 => "user defined signal 1",
        11 => "segmentation fault",
        12 => "user defined signal 2",
        13 => "broken pipe",
        14 => "alarm clock",
        15 => "terminated",
        16 => "stack fault",
        17 => "child exited",
        18 => "continued",
        19 => "stopped (signal)",
        20 => "stopped",
        21 => "stopped (tty input)",
        22 => "stopped (tty output)",
        23 => "urgent I/O condition",
        24 => "CPU time limit exceeded",
        25 => "file size limit exceeded",
        26 => "virtual timer expired",
        27 => "profiling timer expired",
        28 => "window changed",
        29 => "I/O possible",
        30 => "power failure",
        31 => "bad system call",
        other => return format!("signal {other}"),
    };
    name.to_string()
}

/// `ProcessState.String()` for a process that did not exit 0.
fn failure(status: ExitStatus) -> Option<String> {
    if let Some(sig) = status.signal() {
        let mut text = format!("signal: {}", signal_name(sig));
        if status.core_dumped() {
            text.push_str(" (core dumped)");
        }
        return Some(text);
    }
    match status.code() {
        Some(0) | None => None,
        Some(code) => Some(format!("exit status {code}")),
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `exec.LookPath`.
fn look_path(name: &OsString, path_var: &str) -> Result<PathBuf, String> {
    for dir in path_var.split(':').filter(|_| !path_var.is_empty()) {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(name);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(format!(
        "exec: {}: executable file not found in $PATH",
        quote(name.as_bytes())
    ))
}

/// Runs `argv` with environment `env` to its end. The error is what
/// etcdctl prints for a command that could not start or did not succeed.
pub async fn run(argv: &[OsString], env: &[(String, String)]) -> Result<(), String> {
    let Some(name) = argv.first() else {
        return Err("exec: no command".to_string());
    };
    let mut merged: Vec<(String, String)> = Vec::new();
    for (k, v) in env {
        merged.retain(|(key, _)| key != k);
        merged.push((k.clone(), v.clone()));
    }
    let program = if name.as_bytes().contains(&b'/') {
        PathBuf::from(name)
    } else {
        let path_var = merged
            .iter()
            .find(|(k, _)| k == "PATH")
            .map_or("", |(_, v)| v.as_str());
        look_path(name, path_var)?
    };
    let spawned = tokio::process::Command::new(&program)
        .arg0(name)
        .args(&argv[1..])
        .env_clear()
        .envs(merged)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child =
        spawned.map_err(|e| format!("fork/exec {}: {}", program.display(), os_text(&e)))?;
    let status = child.wait().await.map_err(|e| os_text(&e))?;
    match failure(status) {
        Some(text) => Err(text),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn path() -> (String, String) {
        (
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_default(),
        )
    }

    fn words(s: &str) -> Vec<OsString> {
        s.split(' ').map(OsString::from).collect()
    }

    fn shell(script: &str) -> Vec<OsString> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[tokio::test]
    async fn reports_failures_in_go_words() {
        assert_eq!(run(&words("true"), &[path()]).await, Ok(()));
        assert_eq!(
            run(&shell("exit 3"), &[path()]).await,
            Err("exit status 3".to_string())
        );
        assert_eq!(
            run(&shell("kill -9 $$"), &[path()]).await,
            Err("signal: killed".to_string())
        );
        assert_eq!(
            run(&words("no-such-program-here"), &[path()]).await,
            Err("exec: \"no-such-program-here\": executable file not found in $PATH".to_string())
        );
        assert_eq!(
            run(&words("/nonexistent/x"), &[path()]).await,
            Err("fork/exec /nonexistent/x: no such file or directory".to_string())
        );
    }

    #[tokio::test]
    async fn the_last_value_of_a_variable_wins() {
        let env = [
            path(),
            ("X".to_string(), "1".to_string()),
            ("X".to_string(), "2".to_string()),
        ];
        assert_eq!(run(&shell("test \"$X\" = 2"), &env).await, Ok(()));
    }
}
