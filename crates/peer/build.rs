//! Compiles `proto/peerpb/peer.proto` with protox (no system protoc). The
//! etcd messages it imports are the api crate's, so only the peerpb package
//! is generated here.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let proto = root.join("peerpb/peer.proto");
    println!("cargo:rerun-if-changed={}", proto.display());

    let mut fds = protox::compile([&proto], [&root])?;
    fds.file.retain(|f| f.package() == "peerpb");
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .extern_path(".etcdserverpb", "::api::pb::etcdserverpb")
        .bytes(".peerpb")
        .skip_protoc_run()
        .compile_fds(fds)?;
    Ok(())
}
