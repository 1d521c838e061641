//! Framing of one WAL record: `[len u32][!len u32][crc u32][type u8][payload]`,
//! little endian, crc32 over the type byte and the payload. The inverted copy
//! of the length lets a reader tell a damaged length (corruption) from a
//! record cut short by a crash (torn write).

/// Bytes before the payload.
pub(crate) const HEADER_LEN: usize = 13;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordType {
    /// Node id, cluster id and the bootstrap conf state; opens every segment.
    Metadata = 1,
    Entry = 2,
    HardState = 3,
    /// A snapshot was saved at (index, term); the log before it is covered.
    Snapshot = 4,
}

impl RecordType {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Metadata),
            2 => Some(Self::Entry),
            3 => Some(Self::HardState),
            4 => Some(Self::Snapshot),
            _ => None,
        }
    }
}

/// Appends one record to `buf`, letting `write` serialize the payload in
/// place so that a batch is built without per-record allocations.
pub(crate) fn append<E>(
    buf: &mut Vec<u8>,
    kind: RecordType,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let start = buf.len();
    buf.extend_from_slice(&[0; HEADER_LEN]);
    if let Err(e) = write(buf) {
        buf.truncate(start);
        return Err(e);
    }
    let payload_len = buf.len() - start - HEADER_LEN;
    // Payloads are raft entries and states, far below 4 GiB: raft-rs bounds
    // a message by max_size_per_msg and a proposal by max_uncommitted_size.
    let len = u32::try_from(payload_len).unwrap_or(u32::MAX);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind as u8]);
    crc.update(&buf[start + HEADER_LEN..]);
    let header = &mut buf[start..start + HEADER_LEN];
    header[0..4].copy_from_slice(&len.to_le_bytes());
    header[4..8].copy_from_slice(&(!len).to_le_bytes());
    header[8..12].copy_from_slice(&crc.finalize().to_le_bytes());
    header[12] = kind as u8;
    Ok(())
}

#[derive(Debug)]
pub(crate) struct Record<'a> {
    pub(crate) kind: RecordType,
    pub(crate) payload: &'a [u8],
    pub(crate) offset: u64,
}

/// How reading a segment's bytes ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ScanEnd {
    Clean,
    /// The final write was cut short: everything from `offset` on is an
    /// incomplete record followed by nothing but zeros or end of file.
    Torn {
        offset: u64,
    },
    Corrupt {
        offset: u64,
        reason: String,
    },
}

/// Splits a segment into records. Damage that looks like an interrupted final
/// write is reported as `Torn` only when `tail_may_tear` (the newest segment);
/// anything else, or any damage followed by data, is `Corrupt`.
pub(crate) fn scan(bytes: &[u8], tail_may_tear: bool) -> (Vec<Record<'_>>, ScanEnd) {
    let mut records = Vec::new();
    let mut off = 0usize;
    let damage = |off: usize, reason: &str, tail: bool| {
        if tail && tail_may_tear {
            ScanEnd::Torn { offset: off as u64 }
        } else {
            ScanEnd::Corrupt {
                offset: off as u64,
                reason: reason.to_owned(),
            }
        }
    };
    while off < bytes.len() {
        let rest = &bytes[off..];
        if rest.len() < HEADER_LEN {
            return (records, damage(off, "truncated record header", true));
        }
        let len = read_u32(rest, 0);
        if read_u32(rest, 4) != !len {
            let blank_after = is_blank(&rest[8..]);
            return (
                records,
                damage(off, "record length check failed", blank_after),
            );
        }
        let end = HEADER_LEN + len as usize;
        if end > rest.len() {
            return (records, damage(off, "record runs past end of file", true));
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&rest[12..end]);
        if crc.finalize() != read_u32(rest, 8) {
            let blank_after = is_blank(&rest[end..]);
            return (
                records,
                damage(off, "record checksum mismatch", blank_after),
            );
        }
        let Some(kind) = RecordType::from_byte(rest[12]) else {
            let reason = format!("unknown record type {}", rest[12]);
            return (records, damage(off, &reason, false));
        };
        records.push(Record {
            kind,
            payload: &rest[HEADER_LEN..end],
            offset: off as u64,
        });
        off += end;
    }
    (records, ScanEnd::Clean)
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| *b == 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn frame(records: &[(RecordType, &[u8])]) -> Vec<u8> {
        let mut buf = Vec::new();
        for (kind, payload) in records {
            append::<()>(&mut buf, *kind, |b| {
                b.extend_from_slice(payload);
                Ok(())
            })
            .unwrap();
        }
        buf
    }

    #[test]
    fn round_trip() {
        let buf = frame(&[(RecordType::Entry, b"one"), (RecordType::HardState, b"")]);
        let (records, end) = scan(&buf, false);
        assert_eq!(end, ScanEnd::Clean);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].payload, b"one");
        assert_eq!(records[1].kind, RecordType::HardState);
        assert_eq!(records[1].offset, (HEADER_LEN + 3) as u64);
    }

    #[test]
    fn failed_payload_writer_leaves_buffer_untouched() {
        let mut buf = frame(&[(RecordType::Entry, b"x")]);
        let before = buf.clone();
        assert!(append(&mut buf, RecordType::Entry, |_| Err("nope")).is_err());
        assert_eq!(buf, before);
    }

    #[test]
    fn zero_filled_tail_is_torn() {
        let mut buf = frame(&[(RecordType::Entry, b"one")]);
        let good = buf.len() as u64;
        buf.extend_from_slice(&[0; 40]);
        let (records, end) = scan(&buf, true);
        assert_eq!(records.len(), 1);
        assert_eq!(end, ScanEnd::Torn { offset: good });
        assert!(matches!(scan(&buf, false).1, ScanEnd::Corrupt { .. }));
    }

    #[test]
    fn damaged_length_followed_by_data_is_corrupt() {
        let mut buf = frame(&[(RecordType::Entry, b"one"), (RecordType::Entry, b"two")]);
        buf[0] ^= 0x40;
        assert!(matches!(
            scan(&buf, true).1,
            ScanEnd::Corrupt { offset: 0, .. }
        ));
    }

    #[test]
    fn unknown_type_is_corrupt_even_at_tail() {
        let mut buf = frame(&[(RecordType::Entry, b"one")]);
        buf[12] = 99;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&buf[12..]);
        buf[8..12].copy_from_slice(&crc.finalize().to_le_bytes());
        assert!(matches!(scan(&buf, true).1, ScanEnd::Corrupt { .. }));
    }
}
