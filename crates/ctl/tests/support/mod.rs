//! A harness that runs etcdctl-compatible binaries against a server and
//! compares what they print. It is shared by this crate's tests and meant
//! for the integrator's: [`Etcd`] starts the real etcd (or any server can be
//! used through its endpoint), [`Step`] is one command line, [`run`] runs a
//! binary for a step, [`mask`] hides what legitimately differs between two
//! runs (log timestamps, client ids, measured durations) and
//! [`assert_same`] compares two outcomes.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one command may run before the harness kills it.
const STEP_LIMIT: Duration = Duration::from_secs(30);

fn required(path: &str, what: &str) -> PathBuf {
    let p = PathBuf::from(path);
    assert!(
        p.exists(),
        "{what} is required at {path} for the etcdctl compatibility tests (CI installs it: apt-get install etcd-server etcd-client)"
    );
    p
}

/// The real etcd server binary.
pub fn etcd_binary() -> PathBuf {
    required("/usr/bin/etcd", "etcd")
}

/// The real etcdctl, the reference output comes from.
pub fn etcdctl_binary() -> PathBuf {
    required("/usr/bin/etcdctl", "etcdctl")
}

/// This crate's etcdctl.
pub fn ctl_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ctl"))
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A throwaway PKI: a CA, a server certificate for 127.0.0.1/localhost
/// and a client certificate, all signed by it, plus an unrelated CA.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Pki {
    pub fn generate() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let new_ca = || {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let key = KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            (cert.pem(), Issuer::new(params, key))
        };
        let (ca_pem, issuer) = new_ca();
        let (other_pem, _) = new_ca();
        let leaf = |names: Vec<String>| {
            let params = CertificateParams::new(names).unwrap();
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (server_pem, server_key) = leaf(vec!["127.0.0.1".into(), "localhost".into()]);
        let (client_pem, client_key) = leaf(vec!["client".into()]);
        Pki {
            ca: write("ca.pem", ca_pem),
            other_ca: write("other-ca.pem", other_pem),
            server_cert: write("server.pem", server_pem),
            server_key: write("server-key.pem", server_key),
            client_cert: write("client.pem", client_pem),
            client_key: write("client-key.pem", client_key),
            _dir: dir,
        }
    }

    /// The client flags that make a trusted, certified connection.
    pub fn client_flags(&self) -> Vec<String> {
        vec![
            format!("--cacert={}", self.ca.display()),
            format!("--cert={}", self.client_cert.display()),
            format!("--key={}", self.client_key.display()),
        ]
    }
}

/// A single-member etcd on loopback ports, in its own temporary directory,
/// killed when dropped. Restarting with [`Etcd::fresh`] keeps the ports, so
/// the new member has the same member and cluster ids.
pub struct Etcd {
    child: Child,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
}

impl Etcd {
    pub fn start() -> Etcd {
        Self::spawn(free_port(), free_port(), None)
    }

    /// A member serving clients over TLS that requires client certificates.
    pub fn start_tls(pki: &Pki) -> Etcd {
        Self::spawn(free_port(), free_port(), Some(pki))
    }

    fn spawn(client_port: u16, peer_port: u16, pki: Option<&Pki>) -> Etcd {
        let dir = tempfile::tempdir().unwrap();
        let scheme = if pki.is_some() { "https" } else { "http" };
        let client = format!("{scheme}://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
        let mut cmd = Command::new(etcd_binary());
        cmd.arg("--data-dir")
            .arg(dir.path().join("data"))
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .arg(format!("--initial-cluster=default={peer}"));
        let mut probe = Vec::new();
        if let Some(pki) = pki {
            cmd.arg("--cert-file")
                .arg(&pki.server_cert)
                .arg("--key-file")
                .arg(&pki.server_key)
                .arg("--trusted-ca-file")
                .arg(&pki.ca)
                .arg("--client-cert-auth");
            probe = pki.client_flags();
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let etcd = Etcd {
            child,
            dir,
            client_port,
            peer_port,
        };
        wait_ready(&etcd.endpoint(), &probe);
        etcd
    }

    /// Stops this member and starts an empty one on the same ports.
    pub fn fresh(self) -> Etcd {
        let (c, p) = (self.client_port, self.peer_port);
        drop(self);
        Self::spawn(c, p, None)
    }

    /// `host:port` of the client listener.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until a linearizable read at `endpoint` (with the client flags
/// `extra`) succeeds.
pub fn wait_ready(endpoint: &str, extra: &[String]) {
    let started = Instant::now();
    let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
    args.extend(["--command-timeout=300ms", "get", "readiness-probe"]);
    loop {
        let out = run(&ctl_binary(), endpoint, &Step::new(&args));
        if out.code == Some(0) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server at {endpoint} never became ready: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One command line to run, with its stdin and environment.
#[derive(Debug, Clone)]
pub struct Step {
    pub args: Vec<String>,
    pub stdin: Vec<u8>,
    pub env: Vec<(String, String)>,
    /// Prepend `--endpoints=<endpoint>` (off when the step sets its own).
    pub with_endpoint: bool,
    /// The output holds measured durations (endpoint health).
    pub timed: bool,
}

impl Step {
    pub fn new(args: &[&str]) -> Step {
        Step {
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: Vec::new(),
            env: Vec::new(),
            with_endpoint: true,
            timed: false,
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

    pub fn timed(mut self) -> Step {
        self.timed = true;
        self
    }
}

/// What a run printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: Option<i32>,
}

/// Runs `binary` for `step` against `endpoint`, with an environment
/// holding only `PATH` and the step's variables.
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
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = step.stdin.clone();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > STEP_LIMIT {
            let _ = child.kill();
            panic!(
                "{} {:?} ran longer than {STEP_LIMIT:?}",
                binary.display(),
                step.args
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = feeder.join();
    let out = child.wait_with_output().unwrap();
    Outcome {
        stdout: out.stdout,
        stderr: out.stderr,
        code: out.status.code(),
    }
}

/// Replaces each occurrence of `start` + a value up to (not including)
/// `end` with `start` + `placeholder` + `end`.
fn mask_between(text: &str, start: &str, end: char, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(start) {
        out.push_str(&rest[..i + start.len()]);
        rest = &rest[i + start.len()..];
        let stop = rest.find(end).unwrap_or(rest.len());
        out.push_str(placeholder);
        rest = &rest[stop..];
    }
    out.push_str(rest);
    out
}

fn is_capnslog_stamp(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[19] == b'.'
        && b[26] == b' '
        && b[..4].iter().all(u8::is_ascii_digit)
}

/// Whether `word` reads as a Go duration such as `1.2ms` or `1m3.5s`.
fn is_duration(word: &str) -> bool {
    let units = ["ns", "µs", "us", "ms", "s", "m", "h"];
    let mut rest = word;
    let mut any = false;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = units.iter().find(|u| rest.starts_with(*u)) else {
            return false;
        };
        rest = &rest[unit.len()..];
        any = true;
    }
    any
}

/// Hides what differs between two otherwise identical runs: zap and
/// capnslog timestamps, clientv3's random client ids and, for `timed`
/// steps, measured durations (table borders are then squeezed, since the
/// column width follows the duration's length).
pub fn mask(bytes: &[u8], timed: bool) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = mask_between(&text, "\"ts\":\"", '"', "<ts>");
    let text = mask_between(&text, "endpoint://client-", '/', "<id>");
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            if is_capnslog_stamp(line) {
                format!("<ts>{}", &line[26..])
            } else {
                line.to_string()
            }
        })
        .collect();
    if timed {
        for line in &mut lines {
            let words: Vec<String> = line
                .split(' ')
                .map(|w| {
                    let bare = w.trim_matches(|c| c == '"' || c == ',' || c == '}' || c == ']');
                    if is_duration(bare) {
                        w.replace(bare, "<dur>")
                    } else {
                        w.to_string()
                    }
                })
                .collect();
            *line = words.join(" ");
            *line = mask_between(line, "\"took\":\"", '"', "<dur>");
            if line.starts_with('+') || line.starts_with('|') {
                let mut squeezed = String::new();
                for c in line.chars() {
                    if (c == ' ' || c == '-') && squeezed.ends_with(c) {
                        continue;
                    }
                    squeezed.push(c);
                }
                *line = squeezed;
            }
        }
    }
    lines.join("\n")
}

/// Panics with both outputs unless `want` (the reference) and `got` agree
/// after masking.
pub fn assert_same(step: &Step, want: &Outcome, got: &Outcome) {
    let (ws, gs) = (
        mask(&want.stdout, step.timed),
        mask(&got.stdout, step.timed),
    );
    let (we, ge) = (
        mask(&want.stderr, step.timed),
        mask(&got.stderr, step.timed),
    );
    if ws == gs && we == ge && want.code == got.code {
        return;
    }
    panic!(
        "step {:?} (stdin {:?}, env {:?}) differs\n--- reference: exit {:?}\nstdout:\n{ws}\nstderr:\n{we}\n--- ctl: exit {:?}\nstdout:\n{gs}\nstderr:\n{ge}",
        step.args,
        String::from_utf8_lossy(&step.stdin),
        step.env,
        want.code,
        got.code
    );
}

/// Runs each step with the reference and with ctl against the same server
/// (for steps that do not change its state) and compares them.
pub fn compare_each(reference: &Path, endpoint: &str, steps: &[Step]) {
    for step in steps {
        let want = run(reference, endpoint, step);
        let got = run(&ctl_binary(), endpoint, step);
        assert_same(step, &want, &got);
    }
}

/// Runs every step in order with `binary` against `endpoint`.
pub fn record(binary: &Path, endpoint: &str, steps: &[Step]) -> Vec<Outcome> {
    steps.iter().map(|s| run(binary, endpoint, s)).collect()
}

/// [`assert_same`] for every step of two recordings.
pub fn assert_all_same(steps: &[Step], want: &[Outcome], got: &[Outcome]) {
    for ((step, w), g) in steps.iter().zip(want).zip(got) {
        assert_same(step, w, g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_timestamps_ids_and_durations() {
        let log = br#"{"level":"warn","ts":"2026-11-24T01:09:32.957Z","target":"endpoint://client-3025dfcd-0f74-46b2-bbf3-567c6a366481/127.0.0.1:1"}"#;
        assert_eq!(
            mask(log, false),
            r#"{"level":"warn","ts":"<ts>","target":"endpoint://client-<id>/127.0.0.1:1"}"#
        );
        let warn = b"2026-11-24 01:10:56.914819 W | pkg/flags: unrecognized environment variable ETCDCTL_FOO=1";
        assert_eq!(
            mask(warn, false),
            "<ts> W | pkg/flags: unrecognized environment variable ETCDCTL_FOO=1"
        );
        let health =
            b"127.0.0.1:1 is healthy: successfully committed proposal: took = 1.032209ms\n";
        assert_eq!(
            mask(health, true),
            "127.0.0.1:1 is healthy: successfully committed proposal: took = <dur>\n"
        );
        assert!(is_duration("795.977\u{b5}s") && is_duration("1m30.5s") && !is_duration("true"));
    }
}
