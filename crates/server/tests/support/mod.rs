//! Starting real servers for tests: as a child process of the `server`
//! binary (for crash tests) or in-process through `server::start`, always on
//! 127.0.0.1 with free ports and a temporary data dir.

#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api::pb::etcdserverpb::kv_client::KvClient;
use api::pb::etcdserverpb::{PutRequest, RangeRequest};
use tonic::transport::Channel;

pub use testkit::free_port;

/// The flags of a one-member cluster on free ports.
pub fn member_args(data_dir: &Path, client: u16, peer: u16) -> Vec<String> {
    let c = format!("http://127.0.0.1:{client}");
    let p = format!("http://127.0.0.1:{peer}");
    vec![
        "--name".into(),
        "m0".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--listen-client-urls".into(),
        c.clone(),
        "--advertise-client-urls".into(),
        c,
        "--listen-peer-urls".into(),
        p.clone(),
        "--initial-advertise-peer-urls".into(),
        p.clone(),
        "--initial-cluster".into(),
        format!("m0={p}"),
    ]
}

/// A server running as a child process.
pub struct ServerProcess {
    pub child: Child,
    pub client: SocketAddr,
    pub data_dir: PathBuf,
    args: Vec<String>,
}

impl ServerProcess {
    pub fn start(data_dir: &Path) -> ServerProcess {
        Self::start_with(data_dir, &[])
    }

    /// Starts a member with `extra` flags after the usual ones.
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> ServerProcess {
        let client = free_port();
        let peer = free_port();
        let mut args = member_args(data_dir, client, peer);
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = spawn(&args, &log_path(data_dir));
        ServerProcess {
            child,
            client: SocketAddr::from(([127, 0, 0, 1], client)),
            data_dir: data_dir.to_path_buf(),
            args,
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the same member again on the same data dir and ports.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.args, &log_path(&self.data_dir));
    }

    /// Everything the server logged so far, across restarts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(log_path(&self.data_dir)).unwrap_or_default()
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.client)
    }

    /// Waits until a put succeeds, or the process exits (returns its stderr).
    pub async fn wait_ready(&mut self) -> Result<KvClient<Channel>, String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("server exited with {status}: {}", self.log()));
            }
            if let Ok(mut kv) = KvClient::connect(self.endpoint()).await {
                let probe = RangeRequest {
                    key: b"ready".to_vec(),
                    serializable: true,
                    ..Default::default()
                };
                if kv.range(probe).await.is_ok() {
                    return Ok(kv);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("server did not become ready in 30s".into())
    }

    /// Waits for the process to exit on its own; returns (success, stderr).
    pub fn wait_exit(&mut self, within: Duration) -> Option<(bool, String)> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some((status.success(), self.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The server's log sits next to its data dir, appended across restarts.
fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.with_extension("log")
}

fn spawn(args: &[String], log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

pub fn put(key: &str, value: &str) -> PutRequest {
    PutRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    }
}
