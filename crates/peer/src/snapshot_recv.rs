//! Receiving one raft snapshot: the store dump is written next to raft's
//! snapshot files under the name the server looks for
//! (`raftnode::snapshot_db_path`), made durable, and only then is the
//! `MsgSnapshot` stepped into raft, so raft never announces a snapshot whose
//! data is not on disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use protobuf::Message as _;
use raftnode::RaftNode;
use raftnode::eraftpb::{Message, MessageType};
use tokio::io::AsyncWriteExt as _;
use tonic::{Status, Streaming};

use crate::peerpb::SnapshotChunk;

/// Suffix of dumps still being received; a leftover one is from a receive
/// that never finished.
const PARTIAL_SUFFIX: &str = ".part";

/// Distinguishes concurrent receives of the same snapshot index.
static RECEIVES: AtomicU64 = AtomicU64::new(0);

/// Stores one snapshot stream and steps its message; returns the dump's
/// size.
pub(crate) async fn receive(
    local_id: u64,
    snap_dir: &Path,
    raft: &RaftNode,
    mut chunks: Streaming<SnapshotChunk>,
) -> Result<u64, Status> {
    let first = chunks
        .message()
        .await?
        .ok_or_else(|| Status::invalid_argument("empty snapshot stream"))?;
    let msg = Message::parse_from_bytes(&first.message)
        .map_err(|e| Status::invalid_argument(format!("undecodable snapshot message: {e}")))?;
    if msg.get_msg_type() != MessageType::MsgSnapshot || msg.to != local_id {
        return Err(Status::invalid_argument(format!(
            "expected a snapshot message for {local_id:x}, got {:?} for {:x}",
            msg.get_msg_type(),
            msg.to
        )));
    }
    let index = msg.get_snapshot().get_metadata().index;
    let msg_from = msg.from;
    let path = raftnode::snapshot_db_path(snap_dir, index);
    let partial = partial_path(&path);
    let written = write_dump(snap_dir, &partial, &path, first, &mut chunks).await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&partial).await;
    }
    let bytes = written?;
    raft.step(msg)
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    tracing::info!(
        from = format_args!("{:x}", msg_from),
        index,
        bytes,
        path = %path.display(),
        "received snapshot"
    );
    Ok(bytes)
}

fn partial_path(path: &Path) -> PathBuf {
    let n = RECEIVES.fetch_add(1, Ordering::Relaxed);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}{PARTIAL_SUFFIX}"));
    PathBuf::from(name)
}

async fn write_dump(
    snap_dir: &Path,
    partial: &Path,
    path: &Path,
    first: SnapshotChunk,
    chunks: &mut Streaming<SnapshotChunk>,
) -> Result<u64, Status> {
    let io = |e: std::io::Error| Status::internal(format!("writing snapshot: {e}"));
    tokio::fs::create_dir_all(snap_dir).await.map_err(io)?;
    let mut file = tokio::fs::File::create(partial).await.map_err(io)?;
    let mut total = 0u64;
    let mut chunk = first;
    loop {
        file.write_all(&chunk.data).await.map_err(io)?;
        total += chunk.data.len() as u64;
        if chunk.done {
            break;
        }
        chunk = chunks.message().await?.ok_or_else(|| {
            Status::invalid_argument("snapshot stream ended before its last chunk")
        })?;
    }
    file.sync_all().await.map_err(io)?;
    drop(file);
    tokio::fs::rename(partial, path).await.map_err(io)?;
    let dir = snap_dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(io)?;
    Ok(total)
}

/// Removes dumps left half-received by an earlier run of this member.
pub(crate) fn remove_partial(snap_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(snap_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(PARTIAL_SUFFIX) && name.contains(".snap.db.") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
