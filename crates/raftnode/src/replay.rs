//! Rebuilding the raft log from WAL records, in write order. The log is kept
//! as a contiguous run of entries after `base`: an entry at or below the end
//! replaces the suffix from its index on (a new leader overwrote uncommitted
//! entries), an entry past the end is a gap and means lost data.

use std::path::Path;

use raft::eraftpb::{Entry, HardState};

use crate::Error;
use crate::payload;
use crate::record::{Record, RecordType};
use crate::wal::{SnapshotMark, WalContents, WalMetadata};

pub(crate) struct Replay {
    metadata: Option<WalMetadata>,
    hard_state: HardState,
    snapshot: Option<SnapshotMark>,
    base: u64,
    entries: Vec<Entry>,
}

impl Replay {
    /// `base` is the index the oldest remaining segment starts after.
    pub(crate) fn new(base: u64) -> Self {
        Self {
            metadata: None,
            hard_state: HardState::default(),
            snapshot: None,
            base,
            entries: Vec::new(),
        }
    }

    pub(crate) fn last_index(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    pub(crate) fn record(
        &mut self,
        record: &Record<'_>,
        opens_segment: bool,
        path: &Path,
    ) -> Result<(), Error> {
        let corrupt = |reason: String| Error::CorruptWal {
            path: path.to_path_buf(),
            offset: record.offset,
            reason,
        };
        if opens_segment != (record.kind == RecordType::Metadata) {
            return Err(corrupt(
                "segment does not open with its metadata record".into(),
            ));
        }
        match record.kind {
            RecordType::Metadata => {
                let meta = payload::metadata(record.payload).map_err(corrupt)?;
                match &self.metadata {
                    Some(known) if *known != meta => {
                        return Err(corrupt("metadata differs from earlier segments".into()));
                    }
                    Some(_) => {}
                    None => self.metadata = Some(meta),
                }
            }
            RecordType::Entry => {
                let entry = payload::entry(record.payload).map_err(corrupt)?;
                self.push_entry(entry).map_err(corrupt)?;
            }
            RecordType::HardState => {
                self.hard_state = payload::hard_state(record.payload).map_err(corrupt)?;
            }
            RecordType::Snapshot => {
                let mark = payload::snapshot_mark(record.payload).map_err(corrupt)?;
                if mark.index > self.base {
                    let keep = mark.index.min(self.last_index()) - self.base;
                    self.entries.drain(..keep as usize);
                    self.base = mark.index;
                }
                if self.snapshot.is_none_or(|s| s.index <= mark.index) {
                    self.snapshot = Some(mark);
                }
            }
        }
        Ok(())
    }

    fn push_entry(&mut self, entry: Entry) -> Result<(), String> {
        // Entries at or below base are covered by a snapshot (or by the
        // segments that a snapshot allowed to be deleted).
        if entry.index <= self.base {
            return Ok(());
        }
        let last = self.last_index();
        // entry.index > base >= 0, so this cannot wrap, unlike `last + 1`
        // at the top of the index range.
        if entry.index - 1 > last {
            return Err(format!(
                "gap in log: entry {} follows entry {last}",
                entry.index
            ));
        }
        self.entries
            .truncate((entry.index - self.base - 1) as usize);
        self.entries.push(entry);
        Ok(())
    }

    pub(crate) fn finish(self, first_segment: &Path) -> Result<WalContents, Error> {
        let metadata = self.metadata.ok_or_else(|| Error::CorruptWal {
            path: first_segment.to_path_buf(),
            offset: 0,
            reason: "no metadata record".into(),
        })?;
        Ok(WalContents {
            metadata,
            hard_state: self.hard_state,
            snapshot: self.snapshot,
            base_index: self.base,
            entries: self.entries,
            torn_tail: None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::record;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            ..Entry::default()
        }
    }

    fn replay(base: u64, records: &[(RecordType, Vec<u8>)]) -> Result<Replay, Error> {
        let mut buf = Vec::new();
        for (kind, bytes) in records {
            record::append::<()>(&mut buf, *kind, |b| {
                b.extend_from_slice(bytes);
                Ok(())
            })
            .unwrap();
        }
        let (recs, _) = record::scan(&buf, false);
        let mut replay = Replay::new(base);
        for (i, rec) in recs.iter().enumerate() {
            replay.record(rec, i == 0, Path::new("seg"))?;
        }
        Ok(replay)
    }

    fn meta() -> (RecordType, Vec<u8>) {
        let mut buf = Vec::new();
        payload::put_metadata(&mut buf, &WalMetadata::default()).unwrap();
        (RecordType::Metadata, buf)
    }

    fn ent(index: u64, term: u64) -> (RecordType, Vec<u8>) {
        let mut buf = Vec::new();
        payload::put_message(&mut buf, &entry(index, term), "entry").unwrap();
        (RecordType::Entry, buf)
    }

    fn mark(index: u64, term: u64) -> (RecordType, Vec<u8>) {
        let mut buf = Vec::new();
        payload::put_snapshot_mark(&mut buf, SnapshotMark { index, term });
        (RecordType::Snapshot, buf)
    }

    #[test]
    fn overwrite_replaces_suffix() {
        let r = replay(0, &[meta(), ent(1, 1), ent(2, 1), ent(3, 1), ent(2, 2)]).unwrap();
        let got: Vec<_> = r.entries.iter().map(|e| (e.index, e.term)).collect();
        assert_eq!(got, vec![(1, 1), (2, 2)]);
    }

    #[test]
    fn gap_is_rejected() {
        let err = replay(0, &[meta(), ent(1, 1), ent(3, 1)]).err().unwrap();
        assert!(err.to_string().contains("gap in log"), "{err}");
    }

    #[test]
    fn snapshot_mark_moves_base_past_missing_entries() {
        let r = replay(0, &[meta(), ent(1, 1), mark(10, 2), ent(11, 2)]).unwrap();
        assert_eq!(r.base, 10);
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.snapshot, Some(SnapshotMark { index: 10, term: 2 }));
    }

    #[test]
    fn snapshot_mark_inside_log_keeps_later_entries() {
        let r = replay(0, &[meta(), ent(1, 1), ent(2, 1), ent(3, 1), mark(2, 1)]).unwrap();
        assert_eq!(r.base, 2);
        assert_eq!(
            r.entries.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![3]
        );
    }

    #[test]
    fn entries_at_the_top_of_the_index_range_do_not_overflow() {
        let r = replay(
            0,
            &[
                meta(),
                mark(u64::MAX - 1, 1),
                ent(u64::MAX, 1),
                ent(u64::MAX, 2),
            ],
        )
        .unwrap();
        assert_eq!(r.last_index(), u64::MAX);
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.entries[0].term, 2);
    }

    #[test]
    fn segment_must_open_with_metadata() {
        assert!(replay(0, &[ent(1, 1)]).is_err());
        assert!(replay(0, &[meta(), meta()]).is_err());
    }
}
