#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use raftnode::Error;
use raftnode::eraftpb::{ConfState, Entry, HardState};
use raftnode::wal::{Wal, WalMetadata};

const BIG: u64 = 64 * 1024 * 1024;

fn meta() -> WalMetadata {
    WalMetadata {
        node_id: 1,
        cluster_id: 0xc1,
        conf_state: ConfState::from((vec![1, 2, 3], vec![])),
    }
}

fn entry(index: u64, term: u64) -> Entry {
    Entry {
        index,
        term,
        data: format!("value-{index}").into_bytes().into(),
        ..Entry::default()
    }
}

fn hard_state(term: u64, commit: u64) -> HardState {
    HardState {
        term,
        vote: 1,
        commit,
        ..HardState::default()
    }
}

fn indexes(entries: &[Entry]) -> Vec<u64> {
    entries.iter().map(|e| e.index).collect()
}

fn last_segment(wal: &Wal) -> PathBuf {
    wal.segment_paths().pop().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn round_trip_entries_hard_state_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create(dir.path(), meta(), BIG).unwrap();
    let entries: Vec<_> = (1..=100).map(|i| entry(i, 1 + i / 50)).collect();
    wal.append_entries(&entries).unwrap();
    wal.append_hard_state(&hard_state(3, 90)).unwrap();
    wal.flush(true).unwrap();
    assert_eq!(wal.fsync_count(), 1, "one batch, one fsync");
    drop(wal);

    let (mut wal, contents) = Wal::open(dir.path(), BIG).unwrap();
    assert_eq!(contents.metadata, meta());
    assert_eq!(contents.entries, entries);
    assert_eq!(contents.hard_state, hard_state(3, 90));
    assert_eq!(contents.base_index, 0);
    assert!(contents.torn_tail.is_none());
    assert!(contents.snapshot.is_none());

    // Appending after recovery continues the same log, including a leader
    // overwriting the uncommitted suffix.
    wal.append_entries(&[entry(95, 4), entry(96, 4)]).unwrap();
    wal.flush(true).unwrap();
    drop(wal);
    let (_, contents) = Wal::open(dir.path(), BIG).unwrap();
    assert_eq!(indexes(&contents.entries), (1..=96).collect::<Vec<_>>());
    assert_eq!(contents.entries[94].term, 4);
}

#[test]
fn create_refuses_an_existing_wal() {
    let dir = tempfile::tempdir().unwrap();
    Wal::create(dir.path(), meta(), BIG).unwrap();
    assert!(matches!(
        Wal::create(dir.path(), meta(), BIG),
        Err(Error::WalExists(_))
    ));
}

/// Writes entries 1..=5 one flush each and returns the file length before
/// and after the last one, i.e. where the last record starts and ends.
fn five_entries(dir: &Path) -> (PathBuf, u64, u64) {
    let mut wal = Wal::create(dir, meta(), BIG).unwrap();
    let mut start = 0;
    for i in 1..=5 {
        start = fs::metadata(last_segment(&wal)).unwrap().len();
        wal.append_entries(&[entry(i, 1)]).unwrap();
        wal.flush(true).unwrap();
    }
    let path = last_segment(&wal);
    let end = fs::metadata(&path).unwrap().len();
    (path, start, end)
}

#[test]
fn torn_last_record_at_every_offset_recovers_the_prefix() {
    let base = tempfile::tempdir().unwrap();
    let original = base.path().join("original");
    let (path, start, end) = five_entries(&original);
    let name = path.file_name().unwrap();
    for cut in start..end {
        let dir = base.path().join(format!("cut-{cut}"));
        copy_dir(&original, &dir);
        let file = fs::OpenOptions::new()
            .write(true)
            .open(dir.join(name))
            .unwrap();
        file.set_len(cut).unwrap();
        drop(file);

        let (mut wal, contents) = Wal::open(&dir, BIG).unwrap();
        assert_eq!(indexes(&contents.entries), vec![1, 2, 3, 4], "cut at {cut}");
        if cut == start {
            assert!(contents.torn_tail.is_none(), "a clean cut is not torn");
        } else {
            let torn = contents.torn_tail.unwrap();
            assert_eq!((torn.offset, torn.dropped_bytes), (start, cut - start));
        }
        assert_eq!(fs::metadata(dir.join(name)).unwrap().len(), start);

        // The repaired log takes the lost entry again.
        wal.append_entries(&[entry(5, 1)]).unwrap();
        wal.flush(true).unwrap();
        drop(wal);
        let (_, contents) = Wal::open(&dir, BIG).unwrap();
        assert_eq!(
            indexes(&contents.entries),
            vec![1, 2, 3, 4, 5],
            "cut at {cut}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn bad_checksum_in_last_record_is_a_torn_write() {
    let dir = tempfile::tempdir().unwrap();
    let (path, start, end) = five_entries(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    bytes[(end - 1) as usize] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let (_, contents) = Wal::open(dir.path(), BIG).unwrap();
    assert_eq!(indexes(&contents.entries), vec![1, 2, 3, 4]);
    assert_eq!(contents.torn_tail.unwrap().offset, start);
}

#[test]
fn zero_filled_tail_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, end) = five_entries(dir.path());
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0; 4096]);
    fs::write(&path, &bytes).unwrap();
    let (_, contents) = Wal::open(dir.path(), BIG).unwrap();
    assert_eq!(indexes(&contents.entries), vec![1, 2, 3, 4, 5]);
    assert_eq!(contents.torn_tail.unwrap().offset, end);
}

#[test]
fn bit_flip_in_a_middle_record_refuses_to_open() {
    let base = tempfile::tempdir().unwrap();
    let original = base.path().join("original");
    let mut wal = Wal::create(&original, meta(), BIG).unwrap();
    let mut bounds = Vec::new();
    for i in 1..=5 {
        let start = fs::metadata(last_segment(&wal)).unwrap().len();
        wal.append_entries(&[entry(i, 1)]).unwrap();
        wal.flush(true).unwrap();
        bounds.push((start, fs::metadata(last_segment(&wal)).unwrap().len()));
    }
    let name = last_segment(&wal).file_name().unwrap().to_owned();
    drop(wal);
    let (start, end) = bounds[2];
    for at in start..end {
        for bit in [0x01u8, 0x80] {
            let dir = base.path().join("flipped");
            copy_dir(&original, &dir);
            let path = dir.join(&name);
            let mut bytes = fs::read(&path).unwrap();
            bytes[at as usize] ^= bit;
            fs::write(&path, &bytes).unwrap();
            match Wal::open(&dir, BIG) {
                Err(Error::CorruptWal {
                    path: bad, offset, ..
                }) => {
                    assert_eq!(bad, path, "flip at {at}");
                    assert_eq!(offset, start, "flip at {at}");
                }
                other => panic!("flip at {at} bit {bit:#x}: expected corruption, got {other:?}"),
            }
            fs::remove_dir_all(&dir).unwrap();
        }
    }
}

#[test]
fn gap_in_entry_indexes_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create(dir.path(), meta(), BIG).unwrap();
    wal.append_entries(&[entry(1, 1), entry(2, 1), entry(4, 1)])
        .unwrap();
    wal.flush(true).unwrap();
    drop(wal);
    let err = Wal::open(dir.path(), BIG).unwrap_err();
    assert!(matches!(err, Error::CorruptWal { .. }), "{err}");
    assert!(err.to_string().contains("gap"), "{err}");
}

#[test]
fn rollover_release_and_damage_in_an_older_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create(dir.path(), meta(), 2048).unwrap();
    for i in 1..=200 {
        wal.append_entries(&[entry(i, 1)]).unwrap();
        wal.append_hard_state(&hard_state(1, i - 1)).unwrap();
        wal.flush(true).unwrap();
    }
    let segments = wal.segment_paths();
    assert!(segments.len() > 4, "expected rollover, got {segments:?}");
    drop(wal);

    let (mut wal, contents) = Wal::open(dir.path(), 2048).unwrap();
    assert_eq!(indexes(&contents.entries), (1..=200).collect::<Vec<_>>());
    assert_eq!(contents.hard_state, hard_state(1, 199));

    let released = wal.release_before(100).unwrap();
    assert!(released > 0);
    let left = wal.segment_paths();
    assert_eq!(left.len(), segments.len() - released);
    for gone in &segments[..released] {
        assert!(!gone.exists());
    }
    drop(wal);
    let (_, contents) = Wal::open(dir.path(), 2048).unwrap();
    assert!(contents.base_index <= 100 && contents.base_index > 0);
    assert_eq!(contents.entries.last().unwrap().index, 200);
    assert_eq!(contents.hard_state, hard_state(1, 199));

    // A truncated record at the end of a segment that is not the newest
    // cannot be a torn write: refuse.
    let older = &left[0];
    let len = fs::metadata(older).unwrap().len();
    let file = fs::OpenOptions::new().write(true).open(older).unwrap();
    file.set_len(len - 3).unwrap();
    drop(file);
    let err = Wal::open(dir.path(), 2048).unwrap_err();
    match err {
        Error::CorruptWal { path, .. } => assert_eq!(&path, older),
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn missing_segment_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create(dir.path(), meta(), 1024).unwrap();
    for i in 1..=300 {
        wal.append_entries(&[entry(i, 1)]).unwrap();
        wal.flush(true).unwrap();
    }
    let segments = wal.segment_paths();
    drop(wal);
    assert!(segments.len() > 3);
    fs::remove_file(&segments[1]).unwrap();
    assert!(matches!(
        Wal::open(dir.path(), 1024),
        Err(Error::CorruptWal { .. })
    ));
}
