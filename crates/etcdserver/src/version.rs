//! The etcd version this server speaks for. Clients (etcdctl, the Go client,
//! Kubernetes) gate features on these strings, so they are etcd's.

/// The server version reported by `/version`, Status and metrics.
pub const SERVER_VERSION: &str = "3.4.23";
/// The cluster version the members agree on through raft.
pub const CLUSTER_VERSION: &str = "3.4.0";
/// The API (major.minor) version, as in "enabled capabilities for version".
pub const API_VERSION: &str = "3.4";
