//! The write-ahead log: raft's durable history (entries, hard states,
//! snapshot markers) in a directory of segment files.
//!
//! Format. A segment is a sequence of records framed as
//! `[len u32][!len u32][crc32 u32][type u8][payload]` (see `record`). Every
//! segment opens with a metadata record (node id, cluster id, and the conf
//! state the member was bootstrapped with), followed in a cut segment by the
//! newest snapshot marker and hard state, so each segment can be read on its
//! own. Entries are raft `Entry` protobufs, appended in the order raft hands
//! them out; a later entry with an index at or below the last one replaces the
//! log from that index on, exactly as raft truncated it.
//!
//! Group commit. Appends only fill an in-memory batch; [`Wal::flush`] writes
//! the batch with one `write` and covers it with one `fdatasync`, so a whole
//! raft Ready costs one fsync however many proposals it carries.
//!
//! Segments are cut once they exceed the configured size, always between
//! batches, and are named `<seq>-<index>.wal` where `index` is the last log
//! index before the segment. A segment whose successor starts at or below a
//! snapshot's index holds nothing the snapshot does not cover, and
//! [`Wal::release_before`] deletes it.
//!
//! Recovery. Only the newest segment may end in a torn record (a crash in the
//! middle of a write): a truncated record, or a record failing its checksum
//! with nothing but zeros after it. That tail is cut off and recovery goes on.
//! Any other damage — a bad checksum with data after it, an entry index gap, a
//! missing segment — stops recovery with an error naming the file and offset.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use raft::eraftpb::{ConfState, Entry, HardState};

use crate::Error;
use crate::durable;
use crate::payload;
use crate::record::{self, RecordType, ScanEnd};
use crate::replay::Replay;
use crate::segment::{self, Segment};

/// Identity of the member a WAL belongs to, written at the head of every
/// segment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WalMetadata {
    pub node_id: u64,
    pub cluster_id: u64,
    /// The voters the member was bootstrapped with (empty when it joined an
    /// existing cluster); in force until the first snapshot.
    pub conf_state: ConfState,
}

/// A snapshot saved at `index` (of term `term`): the log up to it is covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotMark {
    pub index: u64,
    pub term: u64,
}

/// A torn final write that recovery cut away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub path: PathBuf,
    pub offset: u64,
    pub dropped_bytes: u64,
}

/// What a WAL holds, as recovered by [`Wal::open`].
#[derive(Debug, Clone)]
pub struct WalContents {
    pub metadata: WalMetadata,
    /// The newest hard state written (default if none was).
    pub hard_state: HardState,
    /// The newest snapshot marker.
    pub snapshot: Option<SnapshotMark>,
    /// The index just before `entries[0]`: entries up to it are covered by a
    /// snapshot (0 when the log is complete from the start).
    pub base_index: u64,
    /// A contiguous run of entries starting at `base_index + 1`.
    pub entries: Vec<Entry>,
    pub torn_tail: Option<TornTail>,
}

pub struct Wal {
    dir: PathBuf,
    segment_size: u64,
    metadata: WalMetadata,
    /// Live segments, oldest first; the last one is being appended to.
    segments: Vec<Segment>,
    file: File,
    file_len: u64,
    batch: Vec<u8>,
    unsynced: bool,
    last_index: u64,
    hard_state: HardState,
    snapshot: Option<SnapshotMark>,
    fsyncs: u64,
    fsync_time: Duration,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("segments", &self.segments.len())
            .field("last_index", &self.last_index)
            .finish_non_exhaustive()
    }
}

impl Wal {
    /// True when `dir` holds at least one segment.
    pub fn exists(dir: &Path) -> Result<bool, Error> {
        if !dir.exists() {
            return Ok(false);
        }
        Ok(!segment::list(dir)?.is_empty())
    }

    /// Starts a new, empty WAL in `dir` (created if needed).
    pub fn create(dir: &Path, metadata: WalMetadata, segment_size: u64) -> Result<Wal, Error> {
        fs::create_dir_all(dir).map_err(Error::io(dir))?;
        if Self::exists(dir)? {
            return Err(Error::WalExists(dir.to_path_buf()));
        }
        durable::remove_tmp_files(dir)?;
        let segment = Segment::new(dir, 0, 0);
        let mut head = Vec::new();
        record::append(&mut head, RecordType::Metadata, |b| {
            payload::put_metadata(b, &metadata)
        })?;
        durable::create_file(&segment.path, &head)?;
        let file = open_append(&segment.path)?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            segment_size,
            metadata,
            segments: vec![segment],
            file,
            file_len: head.len() as u64,
            batch: Vec::new(),
            unsynced: false,
            last_index: 0,
            hard_state: HardState::default(),
            snapshot: None,
            fsyncs: 0,
            fsync_time: Duration::ZERO,
        })
    }

    /// Recovers the WAL in `dir`: reads every segment, cuts a torn tail off
    /// the newest one, and leaves the WAL ready to append after it.
    pub fn open(dir: &Path, segment_size: u64) -> Result<(Wal, WalContents), Error> {
        durable::remove_tmp_files(dir)?;
        let segments = segment::list(dir)?;
        let (Some(first), Some(last)) = (segments.first(), segments.last()) else {
            return Err(Error::CorruptWal {
                path: dir.to_path_buf(),
                offset: 0,
                reason: "no WAL segments".into(),
            });
        };
        let mut replay = Replay::new(first.index);
        let mut torn_tail = None;
        let mut last_len = 0;
        for segment in &segments {
            let is_last = segment.seq == last.seq;
            let bytes = fs::read(&segment.path).map_err(Error::io(&segment.path))?;
            last_len = bytes.len() as u64;
            if let Some(torn) = replay_segment(&mut replay, &bytes, is_last, &segment.path)? {
                truncate(&torn.path, torn.offset)?;
                tracing::warn!(
                    path = %torn.path.display(),
                    offset = torn.offset,
                    dropped_bytes = torn.dropped_bytes,
                    "WAL ends in a torn write; cut it off"
                );
                last_len = torn.offset;
                torn_tail = Some(torn);
            }
        }
        let last_index = replay.last_index();
        let mut contents = replay.finish(&first.path)?;
        contents.torn_tail = torn_tail;
        let file = open_append(&last.path)?;
        let wal = Wal {
            dir: dir.to_path_buf(),
            segment_size,
            metadata: contents.metadata.clone(),
            segments,
            file,
            file_len: last_len,
            batch: Vec::new(),
            unsynced: false,
            last_index,
            hard_state: contents.hard_state.clone(),
            snapshot: contents.snapshot,
            fsyncs: 0,
            fsync_time: Duration::ZERO,
        };
        Ok((wal, contents))
    }

    pub fn metadata(&self) -> &WalMetadata {
        &self.metadata
    }

    /// Queues entries for the next [`flush`](Self::flush).
    pub fn append_entries(&mut self, entries: &[Entry]) -> Result<(), Error> {
        for entry in entries {
            record::append(&mut self.batch, RecordType::Entry, |b| {
                payload::put_message(b, entry, "entry")
            })?;
        }
        if let Some(last) = entries.last() {
            self.last_index = last.index;
        }
        Ok(())
    }

    /// Queues a hard state for the next [`flush`](Self::flush).
    pub fn append_hard_state(&mut self, hard_state: &HardState) -> Result<(), Error> {
        record::append(&mut self.batch, RecordType::HardState, |b| {
            payload::put_message(b, hard_state, "hard state")
        })?;
        self.hard_state = hard_state.clone();
        Ok(())
    }

    /// Queues a snapshot marker for the next [`flush`](Self::flush). The
    /// snapshot file itself must already be durable.
    pub fn append_snapshot_mark(&mut self, mark: SnapshotMark) -> Result<(), Error> {
        record::append::<Error>(&mut self.batch, RecordType::Snapshot, |b| {
            payload::put_snapshot_mark(b, mark);
            Ok(())
        })?;
        self.snapshot = Some(mark);
        self.last_index = self.last_index.max(mark.index);
        Ok(())
    }

    /// Writes the queued records in one write; with `sync`, makes them (and
    /// anything written unsynced before) durable with one fsync.
    pub fn flush(&mut self, sync: bool) -> Result<(), Error> {
        if !self.batch.is_empty() {
            let path = &self.segments[self.segments.len() - 1].path;
            self.file.write_all(&self.batch).map_err(Error::io(path))?;
            self.file_len += self.batch.len() as u64;
            self.batch.clear();
            self.unsynced = true;
        }
        if sync || self.file_len >= self.segment_size {
            self.sync()?;
        }
        if self.file_len >= self.segment_size {
            self.cut()?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), Error> {
        if !self.unsynced {
            return Ok(());
        }
        let started = Instant::now();
        let path = &self.segments[self.segments.len() - 1].path;
        self.file.sync_data().map_err(Error::io(path))?;
        self.fsync_time += started.elapsed();
        self.fsyncs += 1;
        self.unsynced = false;
        Ok(())
    }

    /// Starts the next segment, repeating the state a reader needs to
    /// interpret it without the older ones.
    fn cut(&mut self) -> Result<(), Error> {
        let seq = self.segments[self.segments.len() - 1].seq + 1;
        let segment = Segment::new(&self.dir, seq, self.last_index);
        let mut head = Vec::new();
        record::append(&mut head, RecordType::Metadata, |b| {
            payload::put_metadata(b, &self.metadata)
        })?;
        if let Some(mark) = self.snapshot {
            record::append::<Error>(&mut head, RecordType::Snapshot, |b| {
                payload::put_snapshot_mark(b, mark);
                Ok(())
            })?;
        }
        if self.hard_state != HardState::default() {
            record::append(&mut head, RecordType::HardState, |b| {
                payload::put_message(b, &self.hard_state, "hard state")
            })?;
        }
        durable::create_file(&segment.path, &head)?;
        self.file = open_append(&segment.path)?;
        self.file_len = head.len() as u64;
        tracing::debug!(path = %segment.path.display(), "cut WAL segment");
        self.segments.push(segment);
        Ok(())
    }

    /// Deletes the segments that hold nothing past `snapshot_index`; returns
    /// how many were deleted. The segment being written is always kept.
    pub fn release_before(&mut self, snapshot_index: u64) -> Result<usize, Error> {
        let mut released = 0;
        while self.segments.len() > 1 && self.segments[1].index <= snapshot_index {
            let old = self.segments.remove(0);
            fs::remove_file(&old.path).map_err(Error::io(&old.path))?;
            released += 1;
        }
        if released > 0 {
            durable::sync_dir(&self.dir)?;
        }
        Ok(released)
    }

    /// Paths of the live segments, oldest first.
    pub fn segment_paths(&self) -> Vec<PathBuf> {
        self.segments.iter().map(|s| s.path.clone()).collect()
    }

    /// Number of fsyncs of segment data since this handle was created.
    pub fn fsync_count(&self) -> u64 {
        self.fsyncs
    }

    /// Total time spent in those fsyncs.
    pub fn fsync_time(&self) -> Duration {
        self.fsync_time
    }
}

/// Exists for fuzzing: [`Wal::open`]'s recovery over in-memory segments (oldest first), touching no file.
#[doc(hidden)]
pub fn decode_segments(first_index: u64, segments: &[&[u8]]) -> Result<WalContents, Error> {
    let mut replay = Replay::new(first_index);
    let mut torn_tail = None;
    let first = Path::new("segment-0");
    for (seq, bytes) in segments.iter().enumerate() {
        let path = PathBuf::from(format!("segment-{seq}"));
        let is_last = seq + 1 == segments.len();
        torn_tail = replay_segment(&mut replay, bytes, is_last, &path)?;
    }
    let mut contents = replay.finish(first)?;
    contents.torn_tail = torn_tail;
    Ok(contents)
}

/// Feeds one segment's records to `replay`. Returns the torn tail to cut
/// off, which only the newest segment (`is_last`) may have.
fn replay_segment(
    replay: &mut Replay,
    bytes: &[u8],
    is_last: bool,
    path: &Path,
) -> Result<Option<TornTail>, Error> {
    let (records, end) = record::scan(bytes, is_last);
    for (i, rec) in records.iter().enumerate() {
        replay.record(rec, i == 0, path)?;
    }
    let torn = match end {
        ScanEnd::Clean => None,
        ScanEnd::Torn { offset } => Some(TornTail {
            path: path.to_path_buf(),
            offset,
            dropped_bytes: bytes.len() as u64 - offset,
        }),
        ScanEnd::Corrupt { offset, reason } => {
            return Err(Error::CorruptWal {
                path: path.to_path_buf(),
                offset,
                reason,
            });
        }
    };
    if records.is_empty() {
        return Err(Error::CorruptWal {
            path: path.to_path_buf(),
            offset: 0,
            reason: "segment holds no complete record".into(),
        });
    }
    Ok(torn)
}

fn open_append(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(Error::io(path))
}

fn truncate(path: &Path, len: u64) -> Result<(), Error> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(Error::io(path))?;
    file.set_len(len).map_err(Error::io(path))?;
    file.sync_all().map_err(Error::io(path))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn segment(first_entry: u64, last_entry: u64) -> Vec<u8> {
        let mut buf = Vec::new();
        record::append(&mut buf, RecordType::Metadata, |b| {
            payload::put_metadata(b, &WalMetadata::default())
        })
        .unwrap();
        for index in first_entry..=last_entry {
            let entry = Entry {
                index,
                term: 1,
                ..Entry::default()
            };
            record::append(&mut buf, RecordType::Entry, |b| {
                payload::put_message(b, &entry, "entry")
            })
            .unwrap();
        }
        buf
    }

    fn indexes(contents: &WalContents) -> Vec<u64> {
        contents.entries.iter().map(|e| e.index).collect()
    }

    #[test]
    fn decode_segments_reads_like_open() {
        let (a, b) = (segment(1, 3), segment(4, 5));
        let contents = decode_segments(0, &[&a, &b]).unwrap();
        assert_eq!(indexes(&contents), [1, 2, 3, 4, 5]);
        assert_eq!(contents.torn_tail, None);
    }

    #[test]
    fn decode_segments_reports_a_torn_tail() {
        let (a, b) = (segment(1, 3), segment(4, 5));
        let cut = &b[..b.len() - 2];
        let contents = decode_segments(0, &[&a, cut]).unwrap();
        assert_eq!(indexes(&contents), [1, 2, 3, 4]);
        let torn = contents.torn_tail.unwrap();
        assert_eq!(torn.offset + torn.dropped_bytes, cut.len() as u64);
        assert_eq!(torn.path, Path::new("segment-1"));
    }

    #[test]
    fn decode_segments_refuses_damage_in_an_older_segment() {
        let (a, b) = (segment(1, 3), segment(4, 5));
        let err = decode_segments(0, &[&a[..a.len() - 2], &b]).unwrap_err();
        assert!(
            matches!(&err, Error::CorruptWal { path, .. } if path == Path::new("segment-0")),
            "{err}"
        );
        // A damaged record with good ones after it is corruption even in
        // the newest segment.
        let mut flipped = segment(4, 6);
        let fifth = segment(4, 4).len();
        flipped[fifth + record::HEADER_LEN] ^= 1;
        let err = decode_segments(0, &[&a, &flipped]).unwrap_err();
        assert!(
            matches!(&err, Error::CorruptWal { offset, .. } if *offset == fifth as u64),
            "{err}"
        );
    }
}
