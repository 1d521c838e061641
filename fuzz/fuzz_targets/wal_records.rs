//! Well-framed WAL records (so the fuzzer gets past the checksums into
//! payload decoding and the replay rules), then at most one kind of damage.
//! Checks that damage is never taken for a clean log: a cut or a damaged
//! final record of the newest segment is a torn tail, reported, with the
//! log exactly as if the segment had ended before that record; any other
//! damage is an error.

#![no_main]

use std::num::NonZeroU8;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use protobuf::Message as _;
use raftnode::Error;
use raftnode::eraftpb::{ConfState, Entry, HardState};
use raftnode::wal::{TornTail, WalContents, decode_segments};

/// Mostly small numbers, so that indexes meet, overlap and leave gaps, or
/// numbers near the top of the range, where arithmetic on them overflows.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Num {
    Small(u8),
    FromTop(u8),
    Any(u64),
}

impl Num {
    fn get(self) -> u64 {
        match self {
            Num::Small(n) => u64::from(n),
            Num::FromTop(n) => u64::MAX - u64::from(n),
            Num::Any(n) => n,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Meta {
    node_id: u8,
    cluster_id: u8,
    voters: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
enum Rec {
    Meta(Meta),
    Entry { index: Num, term: u8, data: Vec<u8> },
    HardState { term: u8, vote: u8, commit: Num },
    Snapshot { index: Num, term: Num },
    Raw { kind: u8, payload: Vec<u8> },
}

#[derive(Arbitrary, Debug)]
struct Segment {
    /// Open with the input's shared metadata record, as real segments do.
    shared_meta: bool,
    records: Vec<Rec>,
}

#[derive(Arbitrary, Debug)]
enum Damage {
    None,
    Cut {
        segment: u8,
        at: u16,
    },
    Flip {
        segment: u8,
        at: u16,
        xor: NonZeroU8,
    },
    Zeros {
        segment: u8,
        count: NonZeroU8,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    first_index: Num,
    meta: Meta,
    segments: Vec<Segment>,
    damage: Damage,
}

fn meta_payload(meta: &Meta) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u64::from(meta.node_id).to_le_bytes());
    out.extend_from_slice(&u64::from(meta.cluster_id).to_le_bytes());
    let voters = meta
        .voters
        .iter()
        .map(|v| u64::from(*v))
        .collect::<Vec<_>>();
    let conf = ConfState::from((voters, Vec::new()));
    out.extend(conf.write_to_bytes().unwrap_or_default());
    out
}

fn payload(rec: &Rec) -> (u8, Vec<u8>) {
    match rec {
        Rec::Meta(meta) => (1, meta_payload(meta)),
        Rec::Entry { index, term, data } => {
            let entry = Entry {
                index: index.get(),
                term: u64::from(*term),
                data: data.clone().into(),
                ..Entry::default()
            };
            (2, entry.write_to_bytes().unwrap_or_default())
        }
        Rec::HardState { term, vote, commit } => {
            let hs = HardState {
                term: u64::from(*term),
                vote: u64::from(*vote),
                commit: commit.get(),
                ..HardState::default()
            };
            (3, hs.write_to_bytes().unwrap_or_default())
        }
        Rec::Snapshot { index, term } => {
            let mut out = index.get().to_le_bytes().to_vec();
            out.extend_from_slice(&term.get().to_le_bytes());
            (4, out)
        }
        Rec::Raw { kind, payload } => (*kind, payload.clone()),
    }
}

/// Frames a record the way the WAL writes it (an independent rendering of
/// the format, so a framing change that breaks old files shows up here).
fn frame(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    let len = payload.len() as u32;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind]);
    crc.update(payload);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
}

/// A segment's bytes and the offset where each record starts.
struct Built {
    bytes: Vec<u8>,
    starts: Vec<usize>,
}

impl Built {
    /// The start of the record holding byte `at`, unless `at` is a record
    /// boundary.
    fn record_start(&self, at: usize) -> Option<usize> {
        if self.starts.contains(&at) {
            return None;
        }
        self.starts.iter().rev().find(|s| **s < at).copied()
    }

    fn is_final_record(&self, start: usize) -> bool {
        self.starts.last() == Some(&start)
    }
}

fn build(input: &Input) -> Vec<Built> {
    let shared = meta_payload(&input.meta);
    input
        .segments
        .iter()
        .map(|segment| {
            let mut built = Built {
                bytes: Vec::new(),
                starts: Vec::new(),
            };
            if segment.shared_meta {
                built.starts.push(built.bytes.len());
                frame(&mut built.bytes, 1, &shared);
            }
            for rec in &segment.records {
                built.starts.push(built.bytes.len());
                let (kind, payload) = payload(rec);
                frame(&mut built.bytes, kind, &payload);
            }
            built
        })
        .collect()
}

fn decode(first_index: u64, segments: &[Vec<u8>]) -> Result<WalContents, Error> {
    let views: Vec<&[u8]> = segments.iter().map(Vec::as_slice).collect();
    decode_segments(first_index, &views)
}

fn check_contiguous(contents: &WalContents) {
    for (i, entry) in contents.entries.iter().enumerate() {
        assert_eq!(entry.index, contents.base_index + 1 + i as u64);
    }
}

/// The damaged log must read as the clean log `reference` plus a reported
/// torn tail `torn`, or fail where the reference fails.
fn assert_torn(
    damaged: &Result<WalContents, Error>,
    reference: &Result<WalContents, Error>,
    torn: &TornTail,
) {
    match (damaged, reference) {
        (Ok(got), Ok(want)) => {
            assert_eq!(got.torn_tail.as_ref(), Some(torn));
            assert_eq!(want.torn_tail, None);
            assert_eq!(got.metadata, want.metadata);
            assert_eq!(got.hard_state, want.hard_state);
            assert_eq!(got.snapshot, want.snapshot);
            assert_eq!(got.base_index, want.base_index);
            assert_eq!(got.entries, want.entries);
        }
        (Err(_), Err(_)) => {}
        (got, want) => panic!("damaged: {got:?}\nreference: {want:?}"),
    }
}

fn segment_path(seq: usize) -> std::path::PathBuf {
    format!("segment-{seq}").into()
}

fuzz_target!(|input: Input| {
    let first_index = input.first_index.get();
    let built = build(&input);
    let mut segments: Vec<Vec<u8>> = built.iter().map(|b| b.bytes.clone()).collect();
    let clean = decode(first_index, &segments);
    if let Ok(contents) = &clean {
        check_contiguous(contents);
        assert_eq!(contents.torn_tail, None);
    }
    if let Err(Error::CorruptWal { reason, .. }) = &clean {
        // Records framed right are never taken for damaged framing.
        let framing = [
            "truncated record header",
            "record length check failed",
            "record runs past end of file",
            "record checksum mismatch",
        ];
        assert!(!framing.contains(&reason.as_str()), "{reason}");
    }
    let Some(last) = segments.len().checked_sub(1) else {
        return;
    };
    match input.damage {
        Damage::None => {}
        Damage::Cut { segment, at } => {
            let seq = usize::from(segment) % segments.len();
            let len = segments[seq].len();
            if len == 0 {
                return;
            }
            let at = usize::from(at) % len;
            let Some(start) = built[seq].record_start(at) else {
                return;
            };
            segments[seq].truncate(at);
            let damaged = decode(first_index, &segments);
            if seq != last {
                assert!(damaged.is_err(), "cut in an older segment accepted");
                return;
            }
            segments[seq].truncate(start);
            let reference = decode(first_index, &segments);
            let torn = TornTail {
                path: segment_path(seq),
                offset: start as u64,
                dropped_bytes: (at - start) as u64,
            };
            assert_torn(&damaged, &reference, &torn);
        }
        Damage::Flip { segment, at, xor } => {
            let seq = usize::from(segment) % segments.len();
            let len = segments[seq].len();
            if len == 0 {
                return;
            }
            let at = usize::from(at) % len;
            let start = built[seq].record_start(at).unwrap_or(at);
            segments[seq][at] ^= xor.get();
            let damaged = decode(first_index, &segments);
            match &damaged {
                Err(_) => {}
                Ok(contents) => {
                    assert!(
                        seq == last && built[seq].is_final_record(start),
                        "damage accepted: {contents:?}"
                    );
                    let torn = TornTail {
                        path: segment_path(seq),
                        offset: start as u64,
                        dropped_bytes: (len - start) as u64,
                    };
                    segments[seq].truncate(start);
                    let reference = decode(first_index, &segments);
                    assert_torn(&damaged, &reference, &torn);
                }
            }
        }
        Damage::Zeros { segment, count } => {
            let seq = usize::from(segment) % segments.len();
            let len = segments[seq].len();
            segments[seq].resize(len + usize::from(count.get()), 0);
            let damaged = decode(first_index, &segments);
            if seq != last {
                assert!(damaged.is_err(), "zeros in an older segment accepted");
                return;
            }
            let torn = TornTail {
                path: segment_path(seq),
                offset: len as u64,
                dropped_bytes: u64::from(count.get()),
            };
            assert_torn(&damaged, &clean, &torn);
        }
    }
});
