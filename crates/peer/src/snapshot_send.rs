//! Sending one raft snapshot to a peer: the `MsgSnapshot` first, then the
//! store dump in chunks read on a blocking thread, then the end mark. It has
//! its own connection, so a large dump never delays raft traffic.

use std::io::Read;
use std::sync::Arc;

use protobuf::Message as _;
use raftnode::eraftpb::Message;
use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

use crate::dial::connect_any;
use crate::metadata::stamp;
use crate::peerpb::SnapshotChunk;
use crate::peerpb::peer_client::PeerClient;
use crate::{PeerConfig, SnapshotSource};

const CHUNK_BYTES: usize = 1024 * 1024;
/// Chunks read ahead of the network.
const CHUNKS_AHEAD: usize = 2;

/// Sends `msg` with a dump from `source` to the first of `urls` that
/// connects; `Ok` with the dump's size once the peer has stored it and
/// stepped the message.
pub(crate) async fn send(
    cfg: &PeerConfig,
    source: &Arc<dyn SnapshotSource>,
    urls: &[String],
    msg: Message,
) -> Result<u64, String> {
    let to = msg.to;
    let message = msg.write_to_bytes().map_err(|e| e.to_string())?;
    let (url, channel) = connect_any(urls, cfg.tls.as_ref(), cfg.dial_timeout)
        .await
        .map_err(|e| e.to_string())?;

    let (chunks_tx, chunks) = mpsc::channel(CHUNKS_AHEAD);
    let source = Arc::clone(source);
    let reader = tokio::task::spawn_blocking(move || read_dump(source.as_ref(), &chunks_tx));
    let first = SnapshotChunk {
        message: message.into(),
        ..SnapshotChunk::default()
    };
    let stream = tokio_stream::once(first).chain(ReceiverStream::new(chunks));
    let mut req = tonic::Request::new(stream);
    stamp(&mut req, cfg.local_id, cfg.cluster_id, Some(to));
    let answer = PeerClient::new(channel)
        .max_encoding_message_size(usize::MAX)
        .snapshot(req)
        .await;
    if let Err(status) = answer {
        // The reader stops by itself once the abandoned stream is dropped.
        return Err(format!("{url} refused the snapshot: {status}"));
    }
    // The peer saw the end mark, so the reader is done or about to be.
    reader
        .await
        .map_err(|e| format!("snapshot reader: {e}"))?
        .map_err(|e| format!("reading the snapshot: {e}"))
}

/// Reads the dump into chunks until its end, then the end mark. Stops early
/// when the stream is gone (the peer failed the call).
fn read_dump(
    source: &dyn SnapshotSource,
    chunks: &mpsc::Sender<SnapshotChunk>,
) -> Result<u64, String> {
    let mut dump = source.open()?;
    let mut total = 0u64;
    loop {
        let data = fill(dump.as_mut())?;
        if data.is_empty() {
            break;
        }
        total += data.len() as u64;
        let chunk = SnapshotChunk {
            data: data.into(),
            ..SnapshotChunk::default()
        };
        if chunks.blocking_send(chunk).is_err() {
            return Err("the peer stopped receiving".into());
        }
    }
    let done = SnapshotChunk {
        done: true,
        ..SnapshotChunk::default()
    };
    chunks
        .blocking_send(done)
        .map_err(|_| "the peer stopped receiving".to_string())?;
    Ok(total)
}

/// Up to one chunk; shorter only at the end of the dump.
fn fill(dump: &mut dyn Read) -> Result<Vec<u8>, String> {
    let mut data = vec![0; CHUNK_BYTES];
    let mut len = 0;
    while len < data.len() {
        match dump.read(&mut data[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    data.truncate(len);
    Ok(data)
}
