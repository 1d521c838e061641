//! What ctl's tests add to testkit: where ctl's binary is, real etcd
//! members that ctl itself probes for readiness, and the comparison of ctl
//! with the real etcdctl.

use std::path::PathBuf;

use testkit::{Member, Pki, Spec, Step, etcd_binary, etcdctl_binary};

/// This crate's etcdctl.
pub fn ctl_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ctl"))
}

/// A real etcd on free ports.
pub fn etcd() -> Member {
    Member::start(&etcd_binary(), &Spec::on_free_ports(), &ctl_binary())
}

/// A real etcd serving clients over TLS that requires client certificates.
pub fn etcd_tls(pki: &Pki) -> Member {
    Member::start(
        &etcd_binary(),
        &Spec::on_free_ports().tls(pki),
        &ctl_binary(),
    )
}

/// Runs each step with the real etcdctl and with ctl against `endpoint`
/// and compares them.
pub fn compare_each(endpoint: &str, steps: &[Step]) {
    testkit::compare_each(&etcdctl_binary(), &ctl_binary(), endpoint, steps);
}
