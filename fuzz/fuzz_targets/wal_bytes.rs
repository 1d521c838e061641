//! Raw bytes as WAL segments: the input is split on `SEG!` into segment
//! contents (oldest first) and recovered as `Wal::open` would. Recovery may
//! refuse the bytes but must not panic, and what it accepts must be a
//! contiguous log with a torn tail, if any, in the newest segment.

#![no_main]

use libfuzzer_sys::fuzz_target;
use raftnode::wal::decode_segments;

const SEPARATOR: &[u8] = b"SEG!";

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut segments = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        segments.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    segments.push(rest);
    segments
}

fuzz_target!(|data: &[u8]| {
    let segments = split(data);
    let Ok(contents) = decode_segments(0, &segments) else {
        return;
    };
    for (i, entry) in contents.entries.iter().enumerate() {
        assert_eq!(entry.index, contents.base_index + 1 + i as u64);
    }
    if let Some(torn) = &contents.torn_tail {
        let newest = segments[segments.len() - 1];
        assert_eq!(torn.offset + torn.dropped_bytes, newest.len() as u64);
        assert!(torn.dropped_bytes > 0);
    }
});
