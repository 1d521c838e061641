//! `etcdctl version`.

use crate::io::Io;
use crate::version::{API, ETCDCTL};

pub fn run(io: &mut Io<'_>) {
    io.println(&format!("etcdctl version: {ETCDCTL}"));
    io.println(&format!("API version: {API}"));
}
