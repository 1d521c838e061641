//! The store dump a leader streams beside a raft snapshot: written to a
//! file in the snapshot directory first (the dump must come from one read
//! transaction, and the peer layer reads it at network speed), then handed
//! over open and already unlinked, so the file goes away with its reader.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Its store is set once the member has opened it.
pub struct StoreDump {
    pub store: OnceLock<Arc<mvcc::Store>>,
    dir: PathBuf,
    sequence: AtomicU64,
}

impl StoreDump {
    pub fn new(dir: PathBuf) -> StoreDump {
        StoreDump {
            store: OnceLock::new(),
            dir,
            sequence: AtomicU64::new(0),
        }
    }
}

impl peer::SnapshotSource for StoreDump {
    fn open(&self) -> Result<Box<dyn std::io::Read + Send>, String> {
        let store = self
            .store
            .get()
            .ok_or_else(|| "the store is not open yet".to_string())?;
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let path = self
            .dir
            .join(format!("outgoing-{}-{n}.dump", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let _ = std::fs::remove_file(&path);
        let mut out = BufWriter::new(file);
        store
            .write_snapshot(&mut out)
            .map_err(|e| format!("cannot dump the store: {e}"))?;
        out.flush().map_err(|e| e.to_string())?;
        let mut file = out.into_inner().map_err(|e| e.to_string())?;
        file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        Ok(Box::new(std::io::BufReader::new(file)))
    }
}
