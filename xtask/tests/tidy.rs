//! Tidy checks that keep the shape of the workspace true (in the spirit of
//! rust-analyzer's): every crate says what it is, no crate depends on a layer
//! it must not know, and no file hides behind a name that says nothing.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Which workspace crates each crate may depend on (normal and build
/// dependencies; tests may use more). The request path runs
/// gateway → rpc → etcdserver → raftnode / wait / mvcc; `api` is the shared
/// contract; `server` wires everything; `ctl` is a client; `testkit` is
/// test support that knows the others only as binaries.
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let rules: &[(&str, &[&str])] = &[
        ("api", &[]),
        ("mvcc", &["api"]),
        ("wait", &[]),
        ("raftnode", &[]),
        ("peer", &["api", "raftnode"]),
        ("etcdserver", &["api", "mvcc", "wait", "raftnode"]),
        ("rpc", &["api"]),
        ("gateway", &["api", "rpc"]),
        ("ctl", &["api"]),
        ("testkit", &["api"]),
        ("concurrency", &["api"]),
        (
            "server",
            &[
                "api",
                "concurrency",
                "etcdserver",
                "gateway",
                "mvcc",
                "peer",
                "raftnode",
                "rpc",
            ],
        ),
        ("xtask", &[]),
    ];
    rules
        .iter()
        .map(|(k, v)| (*k, v.iter().copied().collect()))
        .collect()
}

fn metadata() -> serde_json::Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn layers_depend_only_on_what_they_may_know() {
    let meta = metadata();
    let packages = meta["packages"].as_array().unwrap();
    let ours: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let rules = allowed();
    for p in packages {
        let name = p["name"].as_str().unwrap();
        let Some(may) = rules.get(name) else {
            panic!("crate {name} has no layering rule in xtask/tests/tidy.rs; add one");
        };
        for dep in p["dependencies"].as_array().unwrap() {
            let dep_name = dep["name"].as_str().unwrap();
            let kind = dep["kind"].as_str();
            if kind == Some("dev") || !ours.contains(dep_name) {
                continue;
            }
            assert!(
                may.contains(dep_name),
                "{name} must not depend on {dep_name} (allowed: {may:?})"
            );
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_crate_opens_with_a_module_doc() {
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let lib = dir.join("src/lib.rs");
        let main = dir.join("src/main.rs");
        let file = if lib.exists() { lib } else { main };
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: Vec<&str> = text.lines().take_while(|l| l.starts_with("//!")).collect();
        assert!(
            doc.len() >= 3,
            "{} must open with a //! paragraph: layer, what it owns, its API, what it must never do",
            file.display()
        );
    }
}

/// `word` stands alone in `line` (so `\uXXXX` is not a marker).
fn has_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[test]
fn no_vague_file_names_and_no_orphan_todos() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    rust_files(&root().join("xtask"), &mut files);
    for file in files {
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        assert!(
            !["utils", "util", "helpers", "helper", "manager", "misc"].contains(&stem.as_str()),
            "{}: name files after the domain",
            file.display()
        );
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let marker = ["TODO", "FIXME", "XXX"].iter().find(|m| has_word(line, m));
            if let Some(m) = marker {
                // Allowed only with an issue reference, e.g. TODO(#3).
                assert!(
                    line.contains(&format!("{m}(#")) || file.ends_with("tidy.rs"),
                    "{}:{}: {m} without an issue reference",
                    file.display(),
                    n + 1
                );
            }
        }
    }
}
