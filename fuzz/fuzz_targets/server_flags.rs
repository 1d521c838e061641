//! The server's command line: etcd's flag syntax (`-name`, `--name=v`,
//! unsupported etcd flags) normalised for clap. Arguments are the input
//! split on NUL bytes, so they need not be UTF-8, as on a real command
//! line. Parsing may refuse them but must not panic, and the values derived
//! from accepted flags must not either.

#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;
use server::Flags;

fuzz_target!(|data: &[u8]| {
    let args = std::iter::once(OsString::from("etcd")).chain(
        data.split(|b| *b == 0)
            .map(|a| OsString::from_vec(a.to_vec())),
    );
    if let Ok(flags) = Flags::from_env_and_args(args) {
        let _ = flags.data_dir();
        let _ = flags.initial_cluster();
        let _ = flags.heartbeat();
        let _ = flags.election();
    }
});
