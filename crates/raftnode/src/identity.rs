//! Whose WAL this is: a restarting server learns its member and cluster ids
//! from the log before it starts raft, because a member that joined an
//! existing cluster got its cluster id from the peers only once.

use std::fs;
use std::path::Path;

use crate::record::{self, RecordType};
use crate::wal::Wal;
use crate::{Error, config, payload, segment};

/// The (node id, cluster id) written in the WAL of the member in
/// `member_dir`, or `None` when it has no WAL yet. Reads the newest
/// segment's metadata record only (every segment opens with it) and changes
/// nothing on disk.
pub fn read_identity(member_dir: &Path) -> Result<Option<(u64, u64)>, Error> {
    let dir = config::wal_dir(member_dir);
    if !Wal::exists(&dir)? {
        return Ok(None);
    }
    let segments = segment::list(&dir)?;
    let Some(newest) = segments.last() else {
        return Ok(None);
    };
    let bytes = fs::read(&newest.path).map_err(Error::io(&newest.path))?;
    let (records, _) = record::scan(&bytes, true);
    let corrupt = |reason: String| Error::CorruptWal {
        path: newest.path.clone(),
        offset: 0,
        reason,
    };
    let first = records
        .first()
        .filter(|r| r.kind == RecordType::Metadata)
        .ok_or_else(|| corrupt("segment does not open with its metadata record".into()))?;
    let meta = payload::metadata(first.payload).map_err(corrupt)?;
    Ok(Some((meta.node_id, meta.cluster_id)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use raft::eraftpb::ConfState;

    use super::*;
    use crate::wal::WalMetadata;

    #[test]
    fn reads_the_ids_a_wal_was_created_with() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_identity(dir.path()).unwrap(), None);
        let metadata = WalMetadata {
            node_id: 0x8e9e05c52164694d,
            cluster_id: 0xcdf818194e3a8c32,
            conf_state: ConfState::default(),
        };
        let wal_dir = config::wal_dir(dir.path());
        drop(Wal::create(&wal_dir, metadata, 1 << 20).unwrap());
        assert_eq!(
            read_identity(dir.path()).unwrap(),
            Some((0x8e9e05c52164694d, 0xcdf818194e3a8c32))
        );
    }

    #[test]
    fn refuses_a_segment_without_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let wal_dir = config::wal_dir(dir.path());
        fs::create_dir_all(&wal_dir).unwrap();
        fs::write(wal_dir.join(format!("{:016x}-{:016x}.wal", 0, 0)), b"").unwrap();
        let err = read_identity(dir.path()).unwrap_err();
        assert!(matches!(err, Error::CorruptWal { .. }), "{err}");
    }
}
