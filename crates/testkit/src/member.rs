//! One server process on loopback ports: how to start it ([`Spec`]) and
//! the running process ([`Member`]).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pki::Pki;
use crate::step::{Step, run};

/// How long a server may take to serve a linearizable read.
const READY_LIMIT: Duration = Duration::from_secs(20);

/// Ports handed out come from below Linux's ephemeral range (32768 and
/// up): a port the kernel picked for us would be free now but could be
/// taken by any outgoing connection (a peer dialing another member) before
/// the server binds it.
const PORTS: std::ops::Range<u16> = 15000..32000;

/// A port nothing listens on right now, outside the ephemeral range. Each
/// test process starts at its own offset and walks the range, so parallel
/// test processes rarely try the same ports.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(PORTS.end - PORTS.start);
    let offset = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = PORTS.start + u16::try_from((offset + step) % span).unwrap_or(0);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {PORTS:?}");
}

/// The flags of a one-member cluster. The member and cluster ids follow
/// from the peer URL and the token, so two servers started from equal
/// specs have equal ids.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    /// `--initial-cluster-token`; etcd's default when `None`.
    pub token: Option<String>,
    /// `--initial-cluster`; just this member when `None`.
    pub initial_cluster: Option<String>,
    /// Serve clients over TLS, requiring client certificates.
    pub tls: Option<Pki>,
    /// Further server flags, after the ones above.
    pub flags: Vec<String>,
}

impl Spec {
    /// A member named `default` (etcd's default name) on two free ports.
    pub fn on_free_ports() -> Spec {
        Spec {
            name: "default".to_string(),
            client_port: free_port(),
            peer_port: free_port(),
            token: None,
            initial_cluster: None,
            tls: None,
            flags: Vec::new(),
        }
    }

    pub fn name(mut self, name: &str) -> Spec {
        self.name = name.to_string();
        self
    }

    pub fn token(mut self, token: &str) -> Spec {
        self.token = Some(token.to_string());
        self
    }

    /// Bootstrap as one member of `initial_cluster` (`name=peer-url,...`).
    pub fn initial_cluster(mut self, initial_cluster: &str) -> Spec {
        self.initial_cluster = Some(initial_cluster.to_string());
        self
    }

    /// `http://127.0.0.1:<peer port>`.
    pub fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    /// The client URL, `https` when serving TLS.
    pub fn client_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    pub fn tls(mut self, pki: &Pki) -> Spec {
        self.tls = Some(pki.clone());
        self
    }

    pub fn flag(mut self, flag: &str) -> Spec {
        self.flags.push(flag.to_string());
        self
    }

    /// `host:port` of the client listener.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// What a CLI needs besides the endpoint to be served (TLS files).
    pub fn client_flags(&self) -> Vec<String> {
        self.tls.as_ref().map(Pki::client_flags).unwrap_or_default()
    }

    /// The server's command line with its data in `data_dir`.
    pub fn args(&self, data_dir: &Path) -> Vec<String> {
        let client = self.client_url();
        let peer = self.peer_url();
        let initial_cluster = self
            .initial_cluster
            .clone()
            .unwrap_or_else(|| format!("{}={peer}", self.name));
        let mut args = vec![
            format!("--name={}", self.name),
            format!("--data-dir={}", data_dir.display()),
            format!("--listen-client-urls={client}"),
            format!("--advertise-client-urls={client}"),
            format!("--listen-peer-urls={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
            format!("--initial-cluster={initial_cluster}"),
        ];
        if let Some(token) = &self.token {
            args.push(format!("--initial-cluster-token={token}"));
        }
        if let Some(pki) = &self.tls {
            args.extend(pki.server_flags());
        }
        args.extend(self.flags.iter().cloned());
        args
    }
}

/// Starts `server` as `spec` says with its data in `dir`/data, appending
/// its output to `dir`/server.log (a restart keeps the earlier output).
pub(crate) fn spawn(server: &Path, spec: &Spec, dir: &Path) -> Child {
    let log_path = dir.join("server.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .and_then(|f| Ok((f.try_clone()?, f)))
        .unwrap_or_else(|e| panic!("creating {}: {e}", log_path.display()));
    Command::new(server)
        .args(spec.args(&dir.join("data")))
        .stdin(Stdio::null())
        .stdout(log.0)
        .stderr(log.1)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", server.display()))
}

/// A running server in its own temporary directory, killed when dropped.
pub struct Member {
    child: Child,
    dir: tempfile::TempDir,
    server: PathBuf,
    cli: PathBuf,
    spec: Spec,
}

impl Member {
    /// Starts the server binary `server` as `spec` says, on an empty data
    /// dir, and returns once the CLI binary `cli` can make a linearizable
    /// read through it.
    pub fn start(server: &Path, spec: &Spec, cli: &Path) -> Member {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        let child = spawn(server, spec, dir.path());
        let mut member = Member {
            child,
            dir,
            server: server.to_path_buf(),
            cli: cli.to_path_buf(),
            spec: spec.clone(),
        };
        member.wait_ready();
        member
    }

    /// Stops this member and starts the same server, empty, on the same
    /// ports: the new member has the same member and cluster ids.
    pub fn fresh(self) -> Member {
        let server = self.server.clone();
        self.fresh_as(&server)
    }

    /// Stops this member and starts `server` in its place, empty, with the
    /// same spec: the same ports, member and cluster ids.
    pub fn fresh_as(self, server: &Path) -> Member {
        let (spec, cli) = (self.spec.clone(), self.cli.clone());
        drop(self);
        Member::start(server, &spec, &cli)
    }

    /// `host:port` of the client listener.
    pub fn endpoint(&self) -> String {
        self.spec.endpoint()
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Everything the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        let probe = Step::words("--command-timeout=300ms get readiness-probe")
            .with_flags(&self.spec.client_flags());
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} {:?} exited ({status}) before serving:\n{}",
                    self.server.display(),
                    self.spec.args(&self.dir.path().join("data")),
                    self.log()
                );
            }
            let out = run(&self.cli, &self.endpoint(), &probe);
            if out.code == Some(0) {
                return;
            }
            assert!(
                started.elapsed() < READY_LIMIT,
                "{} at {} never became ready: {}\nserver log:\n{}",
                self.server.display(),
                self.endpoint(),
                String::from_utf8_lossy(&out.stderr),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_specs_give_equal_command_lines_but_for_the_data_dir() {
        let spec = Spec::on_free_ports().name("m0").token("t").flag("--x=1");
        assert_ne!(spec.client_port, spec.peer_port);
        let a = spec.clone().args(Path::new("/a"));
        assert_eq!(a, spec.args(Path::new("/a")));
        let peer = format!("http://127.0.0.1:{}", spec.peer_port);
        assert!(a.contains(&format!("--initial-cluster=m0={peer}")));
        assert!(a.contains(&"--initial-cluster-token=t".to_string()));
        assert_eq!(a.last().unwrap(), "--x=1");
        assert!(spec.client_flags().is_empty());
    }

    #[test]
    fn tls_specs_serve_https_and_give_clients_their_files() {
        let pki = Pki::generate();
        let spec = Spec::on_free_ports().tls(&pki);
        let args = spec.args(Path::new("/d")).join(" ");
        assert!(args.contains(&format!("--listen-client-urls=https://{}", spec.endpoint())));
        assert!(args.contains("--client-cert-auth"));
        assert_eq!(spec.client_flags(), pki.client_flags());
    }

    #[test]
    fn a_server_that_exits_fails_the_start_with_its_output() {
        let spec = Spec::on_free_ports();
        let start = std::panic::catch_unwind(|| {
            Member::start(Path::new("/bin/echo"), &spec, Path::new("/bin/false"))
        });
        let message = *start.err().unwrap().downcast::<String>().unwrap();
        assert!(message.contains("exited"), "{message}");
        assert!(message.contains("--name=default"), "{message}");
    }
}
