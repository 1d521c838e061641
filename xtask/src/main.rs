//! `cargo xtask`: the project's automation, in Rust so it runs wherever
//! cargo does.
//!
//! - `cargo xtask test`: the README's test command. Installs what the
//!   integration tests compare against (etcd 3.4 and etcdctl, Debian
//!   packages) when missing, then runs `cargo test --workspace`.
//! - `cargo xtask ci`: everything `.ci/run` checks, in the same order —
//!   formatting, clippy (also over the fuzz targets, so they keep
//!   building), the test suite, cargo-deny, and the e2e pass list.
//! - `cargo xtask conformance`: builds the release server and runs etcd's e2e
//!   tests listed in `conformance/passing.txt` (all must pass).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn run(what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("==> {what}");
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The e2e tests this server must keep passing, one name per line.
fn pass_list() -> Result<Vec<String>, String> {
    let path = root().join("conformance/passing.txt");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

fn conformance() -> Result<(), String> {
    run(
        "release build of the server",
        cargo().args(["build", "--release", "-p", "server"]),
    )?;
    let tests = pass_list()?;
    let script = root().join("../shared/conformance/e2e.sh");
    if !script.exists() {
        return Err(format!(
            "{} not found: ../shared must sit beside the repo",
            script.display()
        ));
    }
    let regex = format!("^({})$", tests.join("|"));
    run(
        &format!(
            "etcd e2e suite, {} tests of conformance/passing.txt",
            tests.len()
        ),
        Command::new("bash")
            .arg(&script)
            .args(["run", "target/release/server", &regex]),
    )
}

/// Debian packages the tests and the e2e suite need, by the file that shows
/// each is installed.
const PACKAGES: &[(&str, &str)] = &[
    ("/usr/bin/etcd", "etcd-server"),
    ("/usr/bin/etcdctl", "etcd-client"),
    (
        "/usr/share/gocode/src/go.etcd.io/etcd",
        "golang-etcd-server-dev",
    ),
    ("/usr/bin/go", "golang-go"),
    ("/usr/bin/curl", "curl"),
];

fn ensure_packages() -> Result<(), String> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let sudo: &[&str] = if Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
    {
        &[]
    } else {
        &["sudo"]
    };
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(
        "apt-get update",
        apt(&["update", "-qq"]).arg("-o").arg("Dpkg::Use-Pty=0"),
    )?;
    run(
        &format!("apt-get install {}", missing.join(" ")),
        apt(&["install", "-y", "-qq", "--no-install-recommends"]).args(&missing),
    )
}

fn test() -> Result<(), String> {
    ensure_packages()?;
    run(
        "cargo test --workspace",
        cargo().args(["test", "--workspace", "--no-fail-fast"]),
    )
}

fn ci() -> Result<(), String> {
    run(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--check"]),
    )?;
    run(
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run(
        "cargo clippy on the fuzz targets (they only run under cargo-fuzz)",
        cargo().args([
            "clippy",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    test()?;
    run(
        "cargo deny",
        cargo().args(["deny", "check", "bans", "licenses", "sources"]),
    )?;
    conformance()
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "test" => test(),
        "ci" => ci(),
        "conformance" => conformance(),
        _ => Err("usage: cargo xtask <test|ci|conformance>".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}
