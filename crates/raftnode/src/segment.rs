//! WAL segment files: `<seq:016x>-<index:016x>.wal`, where `seq` numbers the
//! segments without gaps and `index` is the last raft log index written before
//! the segment was opened, so that entries in it start at `index + 1`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Error;

const EXTENSION: &str = "wal";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) seq: u64,
    pub(crate) index: u64,
    pub(crate) path: PathBuf,
}

impl Segment {
    pub(crate) fn new(dir: &Path, seq: u64, index: u64) -> Self {
        Self {
            seq,
            index,
            path: dir.join(format!("{seq:016x}-{index:016x}.{EXTENSION}")),
        }
    }

    fn parse(path: PathBuf) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let stem = name.strip_suffix(EXTENSION)?.strip_suffix('.')?;
        let (seq, index) = stem.split_once('-')?;
        if seq.len() != 16 || index.len() != 16 {
            return None;
        }
        Some(Self {
            seq: u64::from_str_radix(seq, 16).ok()?,
            index: u64::from_str_radix(index, 16).ok()?,
            path,
        })
    }
}

/// The segments in `dir`, oldest first. A missing sequence number means a
/// segment was lost, which is reported rather than skipped.
pub(crate) fn list(dir: &Path) -> Result<Vec<Segment>, Error> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io(dir))? {
        let path = entry.map_err(Error::io(dir))?.path();
        if let Some(segment) = Segment::parse(path) {
            segments.push(segment);
        }
    }
    segments.sort_by_key(|s| s.seq);
    for pair in segments.windows(2) {
        if pair[0].seq.checked_add(1) != Some(pair[1].seq) || pair[1].index < pair[0].index {
            return Err(Error::CorruptWal {
                path: pair[1].path.clone(),
                offset: 0,
                reason: format!(
                    "segment does not follow {} (missing or misnamed segment)",
                    pair[0].path.display()
                ),
            });
        }
    }
    Ok(segments)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn name_round_trip() {
        let dir = Path::new("/x");
        let segment = Segment::new(dir, 3, 0x1234);
        assert_eq!(
            segment.path,
            Path::new("/x/0000000000000003-0000000000001234.wal")
        );
        assert_eq!(Segment::parse(segment.path.clone()).unwrap(), segment);
        assert!(Segment::parse(PathBuf::from("/x/0003-0004.wal")).is_none());
        assert!(
            Segment::parse(PathBuf::from(
                "/x/0000000000000003-0000000000001234.wal.tmp"
            ))
            .is_none()
        );
    }

    #[test]
    fn two_segments_at_the_last_sequence_number_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        for index in [0, 1] {
            fs::write(Segment::new(dir.path(), u64::MAX, index).path, b"").unwrap();
        }
        let err = list(dir.path()).unwrap_err();
        assert!(err.to_string().contains("does not follow"), "{err}");
    }

    #[test]
    fn missing_sequence_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        for seq in [0, 2] {
            fs::write(Segment::new(dir.path(), seq, seq).path, b"").unwrap();
        }
        let err = list(dir.path()).unwrap_err();
        assert!(err.to_string().contains("0000000000000002-"), "{err}");
    }
}
