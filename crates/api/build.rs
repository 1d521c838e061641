//! Compiles `proto/` with protox (no system protoc), then generates prost
//! messages, tonic clients/servers and pbjson serde impls for the gateway.

use std::{env, path::PathBuf};

const PROTOS: &[&str] = &[
    "mvccpb/kv.proto",
    "membershippb/membership.proto",
    "authpb/auth.proto",
    "etcdserverpb/rpc.proto",
    "etcdserverpb/raft_internal.proto",
    "v3electionpb/v3election.proto",
    "v3lockpb/v3lock.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", root.display());

    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();
    let fds = protox::compile(&files, [&root])?;
    let descriptor_path = out.join("etcd_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&fds))?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .file_descriptor_set_path(&descriptor_path)
        .skip_protoc_run()
        .compile_fds(fds)?;

    let descriptors = std::fs::read(&descriptor_path)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .preserve_proto_field_names()
        .build(&[
            ".etcdserverpb",
            ".membershippb",
            ".mvccpb",
            ".authpb",
            ".v3electionpb",
            ".v3lockpb",
        ])?;
    Ok(())
}
