//! etcd's command line: the same flag names, defaults and `ETCD_*`
//! environment variables (a flag wins over its variable). Go's flag syntax
//! is accepted too: `-name value` as well as `--name=value`, and booleans as
//! `--flag` or `--flag=false`. etcd flags this server does not implement are
//! refused by name rather than silently ignored.

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "etcd",
    about = "An etcd-compatible distributed key-value store",
    disable_version_flag = true
)]
pub struct Flags {
    /// Print the version and exit.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub version: bool,

    // Member.
    /// Human-readable name for this member.
    #[arg(long, env = "ETCD_NAME", default_value = "default")]
    pub name: String,
    /// Path to the data directory (default: "${name}.etcd").
    #[arg(long, env = "ETCD_DATA_DIR")]
    pub data_dir: Option<String>,
    /// Number of committed transactions to trigger a snapshot to disk.
    #[arg(long, env = "ETCD_SNAPSHOT_COUNT", default_value_t = 100_000)]
    pub snapshot_count: u64,
    /// Time (in milliseconds) of a heartbeat interval.
    #[arg(long, env = "ETCD_HEARTBEAT_INTERVAL", default_value_t = 100)]
    pub heartbeat_interval: u64,
    /// Time (in milliseconds) for an election to timeout.
    #[arg(long, env = "ETCD_ELECTION_TIMEOUT", default_value_t = 1000)]
    pub election_timeout: u64,
    /// List of URLs to listen on for peer traffic.
    #[arg(
        long,
        env = "ETCD_LISTEN_PEER_URLS",
        default_value = "http://localhost:2380"
    )]
    pub listen_peer_urls: String,
    /// List of URLs to listen on for client traffic.
    #[arg(
        long,
        env = "ETCD_LISTEN_CLIENT_URLS",
        default_value = "http://localhost:2379"
    )]
    pub listen_client_urls: String,
    /// List of URLs to listen on for /metrics and /health.
    #[arg(long, env = "ETCD_LISTEN_METRICS_URLS", default_value = "")]
    pub listen_metrics_urls: String,
    /// Maximum number of snapshot files to retain (0 is unlimited).
    #[arg(long, env = "ETCD_MAX_SNAPSHOTS", default_value_t = 5)]
    pub max_snapshots: u32,
    /// Maximum number of wal files to retain (0 is unlimited).
    #[arg(long, env = "ETCD_MAX_WALS", default_value_t = 5)]
    pub max_wals: u32,
    /// Raise alarms when backend size exceeds the given quota (0 defaults to low space quota).
    #[arg(long, env = "ETCD_QUOTA_BACKEND_BYTES", default_value_t = 0)]
    pub quota_backend_bytes: i64,
    /// Maximum number of operations permitted in a transaction.
    #[arg(long, env = "ETCD_MAX_TXN_OPS", default_value_t = 128)]
    pub max_txn_ops: usize,
    /// Maximum concurrent streams that each client can open at a time.
    #[arg(long, env = "ETCD_MAX_CONCURRENT_STREAMS", default_value_t = u32::MAX)]
    pub max_concurrent_streams: u32,
    /// Maximum client request size in bytes the server will accept.
    #[arg(long, env = "ETCD_MAX_REQUEST_BYTES", default_value_t = 1_572_864)]
    pub max_request_bytes: usize,

    // Clustering.
    /// List of this member's peer URLs to advertise to the rest of the cluster.
    #[arg(
        long,
        env = "ETCD_INITIAL_ADVERTISE_PEER_URLS",
        default_value = "http://localhost:2380"
    )]
    pub initial_advertise_peer_urls: String,
    /// Initial cluster configuration for bootstrapping.
    #[arg(long, env = "ETCD_INITIAL_CLUSTER")]
    pub initial_cluster: Option<String>,
    /// Initial cluster state ('new' or 'existing').
    #[arg(long, env = "ETCD_INITIAL_CLUSTER_STATE", default_value = "new", value_parser = ["new", "existing"])]
    pub initial_cluster_state: String,
    /// Initial cluster token for the etcd cluster during bootstrap.
    #[arg(
        long,
        env = "ETCD_INITIAL_CLUSTER_TOKEN",
        default_value = "etcd-cluster"
    )]
    pub initial_cluster_token: String,
    /// List of this member's client URLs to advertise to the public.
    #[arg(
        long,
        env = "ETCD_ADVERTISE_CLIENT_URLS",
        default_value = "http://localhost:2379"
    )]
    pub advertise_client_urls: String,
    /// Reject reconfiguration requests that would cause quorum loss.
    #[arg(long, env = "ETCD_STRICT_RECONFIG_CHECK", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true")]
    pub strict_reconfig_check: bool,
    /// Enable the raft Pre-Vote algorithm to prevent disruption when a node that has been partitioned away rejoins the cluster.
    #[arg(long, env = "ETCD_PRE_VOTE", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub pre_vote: bool,
    /// Accept etcd V2 client requests (only false is supported).
    #[arg(long, env = "ETCD_ENABLE_V2", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub enable_v2: bool,

    // Security.
    /// Path to the client server TLS cert file.
    #[arg(long, env = "ETCD_CERT_FILE", default_value = "")]
    pub cert_file: String,
    /// Path to the client server TLS key file.
    #[arg(long, env = "ETCD_KEY_FILE", default_value = "")]
    pub key_file: String,
    /// Enable client cert authentication.
    #[arg(long, env = "ETCD_CLIENT_CERT_AUTH", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub client_cert_auth: bool,
    /// Path to the client server TLS trusted CA cert file.
    #[arg(long, env = "ETCD_TRUSTED_CA_FILE", default_value = "")]
    pub trusted_ca_file: String,
    /// Client TLS using generated certificates.
    #[arg(long, env = "ETCD_AUTO_TLS", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub auto_tls: bool,
    /// Path to the peer server TLS cert file.
    #[arg(long, env = "ETCD_PEER_CERT_FILE", default_value = "")]
    pub peer_cert_file: String,
    /// Path to the peer server TLS key file.
    #[arg(long, env = "ETCD_PEER_KEY_FILE", default_value = "")]
    pub peer_key_file: String,
    /// Enable peer client cert authentication.
    #[arg(long, env = "ETCD_PEER_CLIENT_CERT_AUTH", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub peer_client_cert_auth: bool,
    /// Path to the peer server TLS trusted CA file.
    #[arg(long, env = "ETCD_PEER_TRUSTED_CA_FILE", default_value = "")]
    pub peer_trusted_ca_file: String,
    /// Peer TLS using self-generated certificates.
    #[arg(long, env = "ETCD_PEER_AUTO_TLS", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub peer_auto_tls: bool,

    // Logging and monitoring.
    /// Specify 'zap' for structured logging or 'capnslog'.
    #[arg(long, env = "ETCD_LOGGER", default_value = "capnslog")]
    pub logger: String,
    /// Specify 'stdout' or 'stderr' as log output targets.
    #[arg(long, env = "ETCD_LOG_OUTPUTS", default_value = "default")]
    pub log_outputs: String,
    /// Configures log level: debug, info, warn, error, panic, or fatal.
    #[arg(long, env = "ETCD_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Enable debug-level logging.
    #[arg(long, env = "ETCD_DEBUG", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub debug: bool,
    /// Set level of detail for exported metrics: 'basic' or 'extensive'.
    #[arg(long, env = "ETCD_METRICS", default_value = "basic", value_parser = ["basic", "extensive"])]
    pub metrics: String,

    /// Number of entries kept behind a snapshot for slow followers to catch
    /// up from before they need the snapshot (etcd 3.5's flag; 3.4's fixed 5000).
    #[arg(
        long,
        env = "ETCD_EXPERIMENTAL_SNAPSHOT_CATCHUP_ENTRIES",
        default_value_t = 5000
    )]
    pub experimental_snapshot_catchup_entries: u64,

    /// Duration of periodic watch progress notifications.
    #[arg(long, env = "ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL", default_value = "10m", value_parser = go_duration)]
    pub experimental_watch_progress_notify_interval: Duration,

    /// Check data corruption between members before serving client requests.
    #[arg(long, env = "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false")]
    pub experimental_initial_corrupt_check: bool,
}

/// etcd flags whose behaviour this server does not have; naming them is an
/// error rather than a silent no-op.
const UNSUPPORTED: &[&str] = &[
    "config-file",
    "wal-dir",
    "initial-election-tick-advance",
    "backend-batch-interval",
    "backend-batch-limit",
    "grpc-keepalive-min-time",
    "grpc-keepalive-interval",
    "grpc-keepalive-timeout",
    "discovery",
    "discovery-proxy",
    "discovery-srv",
    "discovery-srv-name",
    "discovery-fallback",
    "proxy",
    "proxy-failure-wait",
    "proxy-refresh-interval",
    "proxy-dial-timeout",
    "proxy-write-timeout",
    "proxy-read-timeout",
    "client-crl-file",
    "client-cert-allowed-hostname",
    "peer-crl-file",
    "peer-cert-allowed-cn",
    "peer-cert-allowed-hostname",
    "experimental-peer-skip-client-san-verification",
    "cipher-suites",
    "log-package-levels",
    "log-output",
    "auto-compaction-retention",
    "auto-compaction-mode",
    "enable-pprof",
    "auth-token",
    "bcrypt-cost",
    "auth-token-ttl",
    "enable-grpc-gateway",
    "experimental-corrupt-check-time",
    "experimental-backend-bbolt-freelist-type",
    "experimental-enable-lease-checkpoint",
    "experimental-enable-lease-checkpoint-persist",
    "experimental-compaction-batch-limit",
    "experimental-warning-apply-duration",
    "experimental-enable-v2v3",
    "unsafe-no-fsync",
    "force-new-cluster",
    "host-whitelist",
];

/// Why parsing stopped: an error, or `--help`/`--version` already answered.
pub struct Exit {
    message: String,
    code: u8,
}

impl Exit {
    pub fn report(self) -> ExitCode {
        if self.code == 0 {
            print!("{}", self.message);
        } else {
            eprint!("{}", self.message);
        }
        ExitCode::from(self.code)
    }
}

/// Go's flag package accepts `-name`; clap wants `--name`.
fn normalise(arg: OsString) -> OsString {
    match arg.to_str() {
        Some(s) if s.len() > 2 && s.starts_with('-') && !s.starts_with("--") => {
            let rest = &s[1..];
            if rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && rest.len() > 1 {
                OsString::from(format!("-{s}"))
            } else {
                arg
            }
        }
        _ => arg,
    }
}

fn flag_name(arg: &str) -> Option<&str> {
    let name = arg.strip_prefix("--")?;
    Some(name.split_once('=').map_or(name, |(n, _)| n))
}

impl Flags {
    pub fn from_env_and_args(args: impl IntoIterator<Item = OsString>) -> Result<Flags, Exit> {
        let args: Vec<OsString> = args.into_iter().map(normalise).collect();
        for arg in args.iter().skip(1).filter_map(|a| a.to_str()) {
            if arg == "--" {
                break;
            }
            if let Some(name) = flag_name(arg).filter(|n| UNSUPPORTED.contains(n)) {
                return Err(Exit {
                    message: format!("etcd flag --{name} is not supported by this server\n"),
                    code: 2,
                });
            }
        }
        let flags = Flags::try_parse_from(args).map_err(|e| Exit {
            message: e.render().to_string(),
            code: if e.use_stderr() { 2 } else { 0 },
        })?;
        if flags.version {
            return Err(Exit {
                message: format!(
                    "etcd Version: {}\nGit SHA: not provided\nGo Version: not applicable (Rust)\nGo OS/Arch: {}/{}\n",
                    etcdserver::SERVER_VERSION,
                    std::env::consts::OS,
                    std::env::consts::ARCH
                ),
                code: 0,
            });
        }
        if flags.enable_v2 {
            return Err(Exit {
                message: "--enable-v2: the etcd v2 API is not supported by this server\n".into(),
                code: 2,
            });
        }
        Ok(flags)
    }

    pub fn data_dir(&self) -> String {
        self.data_dir
            .clone()
            .unwrap_or_else(|| format!("{}.etcd", self.name))
    }

    /// `--initial-cluster`, defaulting like etcd to this member alone.
    pub fn initial_cluster(&self) -> String {
        self.initial_cluster.clone().unwrap_or_else(|| {
            split_list(&self.initial_advertise_peer_urls)
                .iter()
                .map(|u| format!("{}={u}", self.name))
                .collect::<Vec<_>>()
                .join(",")
        })
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval)
    }

    pub fn election(&self) -> Duration {
        Duration::from_millis(self.election_timeout)
    }
}

/// A duration written as Go writes them (`10m`, `1.5s`, `100ms`).
fn go_duration(s: &str) -> Result<Duration, String> {
    let nanos = go_parse_duration::parse_duration(s)
        .map_err(|_| format!("time: invalid duration {s:?}"))?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("a negative duration is not allowed: {s:?}"))
}

/// A comma-separated flag value, blanks dropped.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Flags, Exit> {
        let mut all = vec![OsString::from("etcd")];
        all.extend(args.iter().map(OsString::from));
        Flags::from_env_and_args(all)
    }

    #[test]
    fn defaults_are_etcds() {
        let f = parse(&[]).ok().unwrap();
        assert_eq!(f.name, "default");
        assert_eq!(f.data_dir(), "default.etcd");
        assert_eq!(f.listen_client_urls, "http://localhost:2379");
        assert_eq!(f.max_request_bytes, 1_572_864);
        assert_eq!(f.max_txn_ops, 128);
        assert_eq!(f.initial_cluster(), "default=http://localhost:2380");
    }

    #[test]
    fn go_style_flags_and_booleans() {
        let f = parse(&[
            "-name",
            "n1",
            "--strict-reconfig-check=false",
            "--peer-auto-tls",
            "--snapshot-count=5",
        ])
        .ok()
        .unwrap();
        assert_eq!(f.name, "n1");
        assert!(!f.strict_reconfig_check);
        assert!(f.peer_auto_tls);
        assert_eq!(f.snapshot_count, 5);
        assert_eq!(f.data_dir(), "n1.etcd");
    }

    #[test]
    fn durations_are_read_as_go_writes_them() {
        let f = parse(&["--experimental-watch-progress-notify-interval=1.5s"])
            .ok()
            .unwrap();
        assert_eq!(
            f.experimental_watch_progress_notify_interval,
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse(&[])
                .ok()
                .unwrap()
                .experimental_watch_progress_notify_interval,
            Duration::from_secs(600)
        );
        assert!(parse(&["--experimental-watch-progress-notify-interval=soon"]).is_err());
    }

    #[test]
    fn unsupported_etcd_flags_are_named() {
        let err = parse(&["--wal-dir", "/tmp/x"]).err().unwrap();
        assert_eq!(err.code, 2);
        assert!(
            err.message.contains("--wal-dir is not supported"),
            "{}",
            err.message
        );
        let err = parse(&["--no-such-flag"]).err().unwrap();
        assert_eq!(err.code, 2);
    }
}
