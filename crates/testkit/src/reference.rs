//! The real etcd and etcdctl 3.4, the behaviour everything is compared with.

use std::path::PathBuf;

fn required(path: &str, what: &str) -> PathBuf {
    let p = PathBuf::from(path);
    assert!(
        p.exists(),
        "{what} is required at {path} for the etcd compatibility tests (CI installs it: apt-get install etcd-server etcd-client)"
    );
    p
}

/// The real etcd server binary; panics if it is not installed.
pub fn etcd_binary() -> PathBuf {
    required("/usr/bin/etcd", "etcd")
}

/// The real etcdctl, where reference outputs come from; panics if it is
/// not installed.
pub fn etcdctl_binary() -> PathBuf {
    required("/usr/bin/etcdctl", "etcdctl")
}
