//! Snapshot files: `snap/<term:016x>-<index:016x>.snap`, each holding raft's
//! snapshot metadata (index, term, conf state) and the application's opaque
//! data. Layout: `[magic 8][crc32 u32][metadata len u32][metadata][data]`,
//! the crc covering everything after it. Files are created atomically; only
//! `*.snap` files are ever touched, so other files in `snap/` (the MVCC
//! database) are safe.

use std::fs;
use std::path::{Path, PathBuf};

use protobuf::Message as _;
use raft::eraftpb::{Snapshot, SnapshotMetadata};

use crate::Error;
use crate::durable;
use crate::payload;

const MAGIC: &[u8; 8] = b"rnsnap01";
const EXTENSION: &str = "snap";
const PREFIX_LEN: usize = MAGIC.len() + 8;

#[derive(Debug, Clone)]
pub(crate) struct SnapStore {
    dir: PathBuf,
}

impl SnapStore {
    pub(crate) fn open(dir: &Path) -> Result<Self, Error> {
        fs::create_dir_all(dir).map_err(Error::io(dir))?;
        // Only our own interrupted writes are cleared; other temp files in
        // snap/ belong to the MVCC store.
        let leftover_suffix = format!(".{EXTENSION}{}", durable::TMP_SUFFIX);
        for entry in fs::read_dir(dir).map_err(Error::io(dir))? {
            let path = entry.map_err(Error::io(dir))?.path();
            if path.to_string_lossy().ends_with(&leftover_suffix) {
                fs::remove_file(&path).map_err(Error::io(&path))?;
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    pub(crate) fn has_snapshots(&self) -> Result<bool, Error> {
        Ok(!snapshot_files(&self.dir)?.is_empty())
    }

    /// Makes `snapshot` durable before returning.
    pub(crate) fn save(&self, snapshot: &Snapshot) -> Result<PathBuf, Error> {
        let meta = snapshot.get_metadata();
        let path = self.dir.join(file_name(meta.term, meta.index));
        let mut body = Vec::with_capacity(snapshot.data.len() + 256);
        body.extend_from_slice(&[0; 4]);
        payload::put_message(&mut body, meta, "snapshot metadata")?;
        let meta_len = u32::try_from(body.len() - 4).map_err(|_| Error::CorruptSnapshot {
            path: path.clone(),
            reason: "metadata too large".into(),
        })?;
        body[..4].copy_from_slice(&meta_len.to_le_bytes());
        body.extend_from_slice(&snapshot.data);
        let mut bytes = Vec::with_capacity(PREFIX_LEN + body.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        durable::create_file(&path, &bytes)?;
        Ok(path)
    }

    /// The newest snapshot, by index. A newest file that cannot be read is an
    /// error, not a reason to fall back to an older one: the WAL before it may
    /// already be gone.
    pub(crate) fn load_newest(&self) -> Result<Option<Snapshot>, Error> {
        let Some((term, index, path)) = snapshot_files(&self.dir)?.pop() else {
            return Ok(None);
        };
        let bytes = fs::read(&path).map_err(Error::io(&path))?;
        let snapshot = decode(&bytes).map_err(|reason| Error::CorruptSnapshot {
            path: path.clone(),
            reason,
        })?;
        let meta = snapshot.get_metadata();
        if (meta.term, meta.index) != (term, index) {
            return Err(Error::CorruptSnapshot {
                path,
                reason: format!(
                    "holds term {} index {}, unlike its name",
                    meta.term, meta.index
                ),
            });
        }
        Ok(Some(snapshot))
    }

    /// Deletes all but the newest `keep` snapshot files.
    pub(crate) fn purge(&self, keep: usize) -> Result<(), Error> {
        let files = snapshot_files(&self.dir)?;
        let excess = files.len().saturating_sub(keep);
        for (_, _, path) in files.into_iter().take(excess) {
            fs::remove_file(&path).map_err(Error::io(&path))?;
        }
        if excess > 0 {
            durable::sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

/// Where the application database that arrived with the leader's snapshot
/// at `index` is kept: `<snap_dir>/<index:016x>.snap.db`, etcd's name. The
/// peer transport writes it before stepping the snapshot message; the
/// application reads it when the snapshot reaches it on the [`crate::Apply`]
/// stream. raftnode never creates, reads or deletes these files.
pub fn snapshot_db_path(snap_dir: &Path, index: u64) -> PathBuf {
    snap_dir.join(format!("{index:016x}.{EXTENSION}.db"))
}

fn file_name(term: u64, index: u64) -> String {
    format!("{term:016x}-{index:016x}.{EXTENSION}")
}

fn decode(bytes: &[u8]) -> Result<Snapshot, String> {
    if bytes.len() < PREFIX_LEN + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a snapshot file".into());
    }
    let crc = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let body = &bytes[PREFIX_LEN - 4..];
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch".into());
    }
    let meta_len = u32::from_le_bytes([body[0], body[1], body[2], body[3]]) as usize;
    let Some(meta_bytes) = body.get(4..4 + meta_len) else {
        return Err("metadata length exceeds file".into());
    };
    let metadata = SnapshotMetadata::parse_from_bytes(meta_bytes)
        .map_err(|e| format!("undecodable metadata: {e}"))?;
    let mut snapshot = Snapshot::default();
    snapshot.set_metadata(metadata);
    snapshot.data = body[4 + meta_len..].to_vec().into();
    Ok(snapshot)
}

/// `(term, index, path)` of every snapshot file, oldest (lowest index) first.
fn snapshot_files(dir: &Path) -> Result<Vec<(u64, u64, PathBuf)>, Error> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io(dir))? {
        let path = entry.map_err(Error::io(dir))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name
            .strip_suffix(EXTENSION)
            .and_then(|s| s.strip_suffix('.'))
        else {
            continue;
        };
        let Some((term, index)) = stem.split_once('-') else {
            continue;
        };
        if let (Ok(term), Ok(index)) = (
            u64::from_str_radix(term, 16),
            u64::from_str_radix(index, 16),
        ) {
            files.push((term, index, path));
        }
    }
    files.sort_by_key(|(term, index, _)| (*index, *term));
    Ok(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn snapshot(index: u64, term: u64, data: &[u8]) -> Snapshot {
        let mut s = Snapshot::default();
        s.mut_metadata().index = index;
        s.mut_metadata().term = term;
        s.mut_metadata().mut_conf_state().voters = vec![1, 2, 3];
        s.data = data.to_vec().into();
        s
    }

    #[test]
    fn save_load_newest_and_purge() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("db"), b"mvcc").unwrap();
        let received_db = snapshot_db_path(dir.path(), 10);
        assert_eq!(received_db.file_name().unwrap(), "000000000000000a.snap.db");
        fs::write(&received_db, b"leader's db").unwrap();
        let store = SnapStore::open(dir.path()).unwrap();
        assert!(store.load_newest().unwrap().is_none());
        for i in 1..=4 {
            store.save(&snapshot(i * 10, 2, &[i as u8; 100])).unwrap();
        }
        let newest = store.load_newest().unwrap().unwrap();
        assert_eq!(newest, snapshot(40, 2, &[4; 100]));
        store.purge(2).unwrap();
        let left: Vec<_> = snapshot_files(dir.path())
            .unwrap()
            .iter()
            .map(|f| f.1)
            .collect();
        assert_eq!(left, vec![30, 40]);
        assert_eq!(fs::read(dir.path().join("db")).unwrap(), b"mvcc");
        assert_eq!(fs::read(&received_db).unwrap(), b"leader's db");
    }

    #[test]
    fn damaged_newest_snapshot_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapStore::open(dir.path()).unwrap();
        store.save(&snapshot(5, 1, b"old")).unwrap();
        let path = store.save(&snapshot(9, 1, b"new data")).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, bytes).unwrap();
        let err = store.load_newest().unwrap_err();
        assert!(matches!(err, Error::CorruptSnapshot { .. }), "{err}");
        assert!(err.to_string().contains("0000000000000009.snap"), "{err}");
    }
}
