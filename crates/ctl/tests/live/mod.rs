//! What the long-running commands' comparison needs beyond testkit: a CLI
//! process left running while a test drives events ([`Live`]), the
//! server's count of watchers (to know a watch is in place), scenarios run
//! once per CLI on equal fresh servers ([`Run`], [`compare_runs`]), and the
//! masking of lease ids, which etcd makes up from the clock.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use testkit::{Member, Outcome, Spec, Step, etcd_binary, etcdctl_binary, run};

/// How long a test waits for something a process should do.
const PATIENCE: Duration = Duration::from_secs(15);

pub fn ctl_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ctl"))
}

/// A real etcd on free ports.
pub fn etcd() -> Member {
    Member::start(&etcd_binary(), &Spec::on_free_ports(), &etcdctl_binary())
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool, detail: impl Fn() -> String) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < PATIENCE,
            "timed out waiting for {what}\n{}",
            detail()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

/// A CLI process running in the background, its output collected as it
/// comes.
pub struct Live {
    label: String,
    child: Child,
    stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Live {
    /// Starts `binary --endpoints=<endpoint> <args>` with only `PATH` and
    /// `env` in its environment, stdin a pipe left open.
    pub fn start(binary: &Path, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Live {
        let mut cmd = Command::new(binary);
        cmd.env_clear();
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .arg(format!("--endpoints={endpoint}"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), out.clone()),
            collect(child.stderr.take().unwrap(), err.clone()),
        ];
        Live {
            label: format!("{} {args:?}", binary.display()),
            stdin: child.stdin.take(),
            child,
            out,
            err,
            readers,
        }
    }

    fn stdout(&self) -> Vec<u8> {
        self.out.lock().unwrap().clone()
    }

    fn shown(&self) -> String {
        format!(
            "{}\nstdout: {:?}\nstderr: {:?}",
            self.label,
            String::from_utf8_lossy(&self.stdout()),
            String::from_utf8_lossy(&self.err.lock().unwrap())
        )
    }

    /// Waits until stdout holds at least `n` lines.
    pub fn wait_lines(&self, n: usize) {
        wait_until(
            &format!("{n} lines"),
            || self.stdout().iter().filter(|b| **b == b'\n').count() >= n,
            || self.shown(),
        );
    }

    /// Writes `text` to the process's stdin.
    pub fn send(&mut self, text: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            stdin.write_all(text.as_bytes()).unwrap();
            stdin.flush().unwrap();
        }
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Sends `SIGINT` or `SIGTERM` (by name) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed for {}", self.label);
    }

    /// Waits for the process to end by itself.
    pub fn finish(mut self) -> Outcome {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("{} did not end\n{}", self.label, self.shown());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        self.stdin = None;
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        Outcome {
            stdout: self.stdout(),
            stderr: self.err.lock().unwrap().clone(),
            code: status.code(),
        }
    }

    /// Sends a signal, then waits for the end.
    pub fn stop(self, name: &str) -> Outcome {
        self.signal(name);
        self.finish()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until none of `lives` has printed anything for half a second.
pub fn settle(lives: &[&Live]) {
    let sizes = || -> Vec<usize> { lives.iter().map(|l| l.stdout().len()).collect() };
    let mut last = sizes();
    let mut since = Instant::now();
    wait_until(
        "the output to settle",
        || {
            let now = sizes();
            if now != last {
                (last, since) = (now, Instant::now());
            }
            since.elapsed() > Duration::from_millis(500)
        },
        || {
            lives
                .iter()
                .map(|l| l.shown())
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
}

/// The number of watchers the server runs (its `etcd_debugging_mvcc_watcher_total`).
pub fn watchers(endpoint: &str) -> usize {
    let mut conn = TcpStream::connect(endpoint).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    conn.read_to_string(&mut body).unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix("etcd_debugging_mvcc_watcher_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits until the server runs exactly `n` watchers.
pub fn wait_watchers(endpoint: &str, n: usize) {
    wait_until(
        &format!("{n} watchers"),
        || watchers(endpoint) == n,
        || format!("the server has {}", watchers(endpoint)),
    );
}

/// One side of a comparison: a CLI against its own server, recording
/// what each step printed. Driving steps (puts that make events) always
/// use the real etcdctl and are not recorded.
pub struct Run {
    pub cli: PathBuf,
    pub endpoint: String,
    pub log: Vec<(String, Outcome)>,
}

impl Run {
    pub fn new(cli: &Path, endpoint: &str) -> Run {
        Run {
            cli: cli.to_path_buf(),
            endpoint: endpoint.to_string(),
            log: Vec::new(),
        }
    }

    /// Runs a step with the CLI under test and records it.
    pub fn step(&mut self, step: Step) -> Outcome {
        let out = run(&self.cli, &self.endpoint, &step);
        self.log
            .push((format!("{:?} env {:?}", step.args, step.env), out.clone()));
        out
    }

    pub fn words(&mut self, line: &str) -> Outcome {
        self.step(Step::words(line))
    }

    /// Records what a [`Live`] process ended with.
    pub fn record(&mut self, label: &str, out: Outcome) {
        self.log.push((label.to_string(), out));
    }

    /// Makes something happen on the server with the real etcdctl.
    pub fn drive(&self, step: Step) -> Outcome {
        let out = run(&etcdctl_binary(), &self.endpoint, &step);
        assert_eq!(
            out.code,
            Some(0),
            "driving {:?}: {}",
            step.args,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn drive_words(&self, line: &str) -> Outcome {
        self.drive(Step::words(line))
    }

    pub fn live(&self, args: &[&str]) -> Live {
        Live::start(&self.cli, &self.endpoint, args, &[])
    }

    pub fn live_env(&self, args: &[&str], env: &[(&str, &str)]) -> Live {
        Live::start(&self.cli, &self.endpoint, args, env)
    }
}

/// The lease id an etcdctl-style output names first: `lease <hex>` or a
/// key `<name>/<hex>`.
pub fn lease_in(text: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(text);
    let word = text
        .split(|c: char| c.is_whitespace() || c == '/')
        .find(|w| w.len() >= 12 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no lease id in {text:?}"));
    i64::from_str_radix(word, 16).unwrap()
}

/// Replaces lease ids with `<lease-N>` (numbered by first appearance) in
/// every form etcdctl prints them: hex (`%016x`, `%x` in keys), decimal
/// (JSON, fields), inside base64 JSON keys, and as protobuf varints. etcd
/// makes lease ids from the member id's low 16 bits (less the sign bit)
/// and the clock, so a number with those top bits is taken for one.
pub struct LeaseMask {
    top: u64,
    seen: Vec<u64>,
}

impl LeaseMask {
    pub fn new(member_id: u64) -> LeaseMask {
        // etcd clears the top bit so ids stay positive int64s.
        LeaseMask {
            top: member_id & 0x7fff,
            seen: Vec::new(),
        }
    }

    fn is_lease(&self, v: u64) -> bool {
        v >> 48 == self.top && v & ((1 << 48) - 1) != 0
    }

    fn placeholder(&mut self, v: u64) -> Vec<u8> {
        let n = match self.seen.iter().position(|s| *s == v) {
            Some(i) => i,
            None => {
                self.seen.push(v);
                self.seen.len() - 1
            }
        };
        format!("<lease-{n}>").into_bytes()
    }

    /// `"key":"<base64>"` in JSON becomes `"key":=<text>` so the ids in
    /// keys can be seen.
    fn decode_json_keys(text: &[u8]) -> Vec<u8> {
        use base64::Engine as _;
        let Ok(s) = std::str::from_utf8(text) else {
            return text.to_vec();
        };
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("\"key\":\"") {
            out.push_str(&rest[..i]);
            rest = &rest[i + 7..];
            let end = rest.find('"').unwrap_or(rest.len());
            match base64::engine::general_purpose::STANDARD.decode(&rest[..end]) {
                Ok(raw) => {
                    out.push_str("\"key\":=");
                    out.push_str(&String::from_utf8_lossy(&raw));
                    out.push('=');
                }
                Err(_) => out.push_str(&rest[..end]),
            }
            rest = &rest[(end + 1).min(rest.len())..];
        }
        out.push_str(rest);
        out.into_bytes()
    }

    pub fn mask(&mut self, bytes: &[u8]) -> String {
        let bytes = Self::decode_json_keys(bytes);
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let run = bytes[i..]
                .iter()
                .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
                .count();
            if run == 0 {
                out.push(bytes[i]);
                i += 1;
                continue;
            }
            let word = std::str::from_utf8(&bytes[i..i + run]).unwrap();
            let decimal = word
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| word.parse::<u64>().ok())
                .flatten()
                .filter(|v| self.is_lease(*v));
            let hex = (12..=16)
                .contains(&run)
                .then(|| u64::from_str_radix(word, 16).ok())
                .flatten()
                .filter(|v| self.is_lease(*v));
            match decimal.or(hex) {
                Some(v) => out.extend(self.placeholder(v)),
                None => out.extend_from_slice(&bytes[i..i + run]),
            }
            i += run;
        }
        for v in self.seen.clone() {
            let varint = varint(v);
            let placeholder = self.placeholder(v);
            out = replace(&out, &varint, &placeholder);
        }
        mask_remaining_ttl(&testkit::mask(&out, &[]))
    }
}

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// The digits after `start` become `<ttl>`.
fn mask_digits_after(text: &str, start: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(start) {
        out.push_str(&rest[..i + start.len()]);
        rest = &rest[i + start.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("<ttl>");
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// A lease's remaining TTL counts down while a test runs: hide it where
/// `lease timetolive` shows it.
fn mask_remaining_ttl(text: &str) -> String {
    let text = mask_digits_after(text, "remaining(");
    let text = mask_digits_after(&text, "\"ttl\":");
    if text.contains("\"GrantedTTL\" : ") {
        mask_digits_after(&text, "\"TTL\" : ")
    } else {
        text
    }
}

/// The member id a server reports, which lease ids are built from.
pub fn member_id(endpoint: &str) -> u64 {
    let out = run(
        &etcdctl_binary(),
        endpoint,
        &Step::words("endpoint status -w json"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text.find("\"member_id\":").unwrap() + "\"member_id\":".len();
    text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Runs `scenario` with the real etcdctl on a fresh etcd, then with ctl on
/// another fresh etcd with the same ids, and compares what each step
/// printed and how it ended, lease ids masked.
pub fn compare_runs(scenario: impl Fn(&mut Run)) {
    let etcd = etcd();
    let id = member_id(&etcd.endpoint());
    let mut want = Run::new(&etcdctl_binary(), &etcd.endpoint());
    scenario(&mut want);
    let etcd = etcd.fresh();
    let mut got = Run::new(&ctl_binary(), &etcd.endpoint());
    scenario(&mut got);
    assert_eq!(
        want.log.len(),
        got.log.len(),
        "the runs took different steps"
    );
    let (mut want_mask, mut got_mask) = (LeaseMask::new(id), LeaseMask::new(id));
    let mut differences = Vec::new();
    for ((label, w), (_, g)) in want.log.iter().zip(&got.log) {
        let shown = |m: &mut LeaseMask, o: &Outcome| (o.code, m.mask(&o.stdout), m.mask(&o.stderr));
        let (w, g) = (shown(&mut want_mask, w), shown(&mut got_mask, g));
        if w != g {
            differences.push(format!(
                "{label} differs\n--- want: exit {:?}\nstdout:\n{}\nstderr:\n{}\n--- got: exit {:?}\nstdout:\n{}\nstderr:\n{}",
                w.0, w.1, w.2, g.0, g.1, g.2
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} steps differ\n{}",
        differences.len(),
        want.log.len(),
        differences.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_lease_ids_in_every_form() {
        let id: u64 = 0x390d_a20b_8be8_9e33;
        let mut m = LeaseMask::new(0x1234_5678_9abc_b90d);
        let simple = m.mask(b"lease 390da20b8be89e33 granted with TTL(100s)\n");
        assert_eq!(simple, "lease <lease-0> granted with TTL(100s)\n");
        let json = format!("{{\"ID\":{id},\"TTL\":5}}");
        assert_eq!(m.mask(json.as_bytes()), "{\"ID\":<lease-0>,\"TTL\":5}");
        let key = b"{\"key\":\"ZWwxLzM5MGRhMjBiOGJlODllMzM=\",\"version\":1}";
        assert_eq!(m.mask(key), "{\"key\":=el1/<lease-0>=,\"version\":1}");
        let mut pb = vec![0x30];
        pb.extend(varint(id));
        assert_eq!(m.mask(&pb), "0<lease-0>");
        assert_eq!(
            m.mask(b"revision 13 and 15118495548433857066"),
            "revision 13 and 15118495548433857066"
        );
        assert_eq!(
            m.mask(b"remaining(98s) \"ttl\":97,\"granted-ttl\":100"),
            "remaining(<ttl>s) \"ttl\":<ttl>,\"granted-ttl\":100"
        );
    }
}
