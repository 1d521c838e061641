//! Compiles the shared `proto/` tree into a descriptor set. The gateway
//! decodes request JSON the way etcd's Go gateway does, field by field, and
//! needs each message's field names, kinds and enum names to do so.

use std::{env, path::PathBuf};

const PROTOS: &[&str] = &[
    "mvccpb/kv.proto",
    "authpb/auth.proto",
    "etcdserverpb/rpc.proto",
    "v3electionpb/v3election.proto",
    "v3lockpb/v3lock.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();
    let descriptors = protox::compile(&files, [&root])?;
    let out = PathBuf::from(env::var("OUT_DIR")?).join("etcd_descriptor.bin");
    std::fs::write(out, prost::Message::encode_to_vec(&descriptors))?;
    Ok(())
}
