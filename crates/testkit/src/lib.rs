//! testkit is dev-only test support, used by other crates' integration
//! tests and never by shipped code. It starts etcd-compatible servers (the
//! real etcd or ours, the binary is a parameter) as child processes on free
//! 127.0.0.1 ports in temporary directories ([`Spec`], [`Member`]), runs
//! command lines of an etcdctl-compatible CLI against them ([`Step`],
//! [`run`], [`record`]), hides what legitimately varies between two runs
//! ([`mask`], [`Mask`]) and compares outcomes ([`assert_same`],
//! [`assert_all_same`], [`compare_each`]). For clusters it starts several
//! members bootstrapped together and inflicts faults on them ([`Cluster`]),
//! drives concurrent gRPC clients that record a [`History`]
//! ([`Workload`]), checks such a history for linearizability
//! ([`linearizability::check`]) and revision order ([`check_revisions`]),
//! and bundles all of it into fault scenarios ([`faults`]). It must never
//! depend on the crates it tests (ctl, server): they are only binaries to
//! it.
//!
//! Every caller is a test, so a broken environment (a missing binary, a
//! server that never becomes ready) panics with a message naming what
//! failed instead of returning an error to unwrap.

mod client;
mod cluster;
mod compare;
pub mod faults;
mod history;
pub mod linearizability;
mod mask;
mod member;
mod pki;
mod reference;
mod revision;
mod step;
mod workload;

pub use cluster::{Cluster, ClusterSpec};
pub use compare::{
    Mismatch, assert_all_same, assert_same, compare_each, mismatch, mismatches, record,
};
pub use history::{Action, Clock, History, Operation, Reply};
pub use mask::{Mask, mask};
pub use member::{Member, Spec, free_port};
pub use pki::Pki;
pub use reference::{etcd_binary, etcdctl_binary};
pub use revision::check_revisions;
pub use step::{Outcome, Step, run};
pub use workload::{Workload, lost_writes, run_workload};
