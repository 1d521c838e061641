//! The versions this client reports: etcdctl 3.4.23 speaking API 3.4.

pub const ETCDCTL: &str = "3.4.23";
pub const API: &str = "3.4";
