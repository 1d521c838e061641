//! Payload encodings of the WAL record types. Raft's own messages (entries,
//! hard states, conf states) use their protobuf encoding; the two records
//! raftnode defines are fixed little-endian fields.

use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState};

use crate::Error;
use crate::wal::{SnapshotMark, WalMetadata};

pub(crate) fn put_metadata(buf: &mut Vec<u8>, meta: &WalMetadata) -> Result<(), Error> {
    buf.extend_from_slice(&meta.node_id.to_le_bytes());
    buf.extend_from_slice(&meta.cluster_id.to_le_bytes());
    put_message(buf, &meta.conf_state, "conf state")
}

pub(crate) fn metadata(payload: &[u8]) -> Result<WalMetadata, String> {
    let (node_id, rest) = take_u64(payload)?;
    let (cluster_id, rest) = take_u64(rest)?;
    let conf_state = ConfState::parse_from_bytes(rest).map_err(|e| e.to_string())?;
    Ok(WalMetadata {
        node_id,
        cluster_id,
        conf_state,
    })
}

pub(crate) fn put_snapshot_mark(buf: &mut Vec<u8>, mark: SnapshotMark) {
    buf.extend_from_slice(&mark.index.to_le_bytes());
    buf.extend_from_slice(&mark.term.to_le_bytes());
}

pub(crate) fn snapshot_mark(payload: &[u8]) -> Result<SnapshotMark, String> {
    let (index, rest) = take_u64(payload)?;
    let (term, rest) = take_u64(rest)?;
    if !rest.is_empty() {
        return Err("trailing bytes after snapshot marker".into());
    }
    Ok(SnapshotMark { index, term })
}

pub(crate) fn put_message(
    buf: &mut Vec<u8>,
    message: &impl protobuf::Message,
    what: &'static str,
) -> Result<(), Error> {
    message
        .write_to_vec(buf)
        .map_err(|source| Error::Encode { what, source })
}

pub(crate) fn entry(payload: &[u8]) -> Result<Entry, String> {
    Entry::parse_from_bytes(payload).map_err(|e| format!("undecodable entry: {e}"))
}

pub(crate) fn hard_state(payload: &[u8]) -> Result<HardState, String> {
    HardState::parse_from_bytes(payload).map_err(|e| format!("undecodable hard state: {e}"))
}

fn take_u64(bytes: &[u8]) -> Result<(u64, &[u8]), String> {
    let Some((head, rest)) = bytes.split_first_chunk::<8>() else {
        return Err("payload too short".into());
    };
    Ok((u64::from_le_bytes(*head), rest))
}
