//! Revisions and their on-disk form. A revision is (main, sub): every
//! change of one request shares the main revision and gets its own sub
//! revision. As a database key a revision is etcd's 17 bytes: main as 8
//! big-endian bytes, `'_'`, sub as 8 big-endian bytes, so byte order is
//! revision order; a deletion appends the tombstone mark `'t'`.

use std::fmt;

use crate::Error;

/// Length of an encoded revision without mark.
pub const REVISION_BYTES_LEN: usize = 17;
/// Length of an encoded revision that carries the tombstone mark.
pub const MARKED_REVISION_BYTES_LEN: usize = REVISION_BYTES_LEN + 1;
const SEPARATOR: u8 = b'_';
const TOMBSTONE_MARK: u8 = b't';

/// A point in the store's history; ordered by main, then sub.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision {
    /// The revision shared by all changes of one request.
    pub main: i64,
    /// The position of a change within its request.
    pub sub: i64,
}

impl Revision {
    pub const fn new(main: i64, sub: i64) -> Revision {
        Revision { main, sub }
    }

    /// The 17-byte database key of this revision.
    pub fn to_bytes(self) -> [u8; REVISION_BYTES_LEN] {
        let mut out = [0u8; REVISION_BYTES_LEN];
        out[..8].copy_from_slice(&self.main.to_be_bytes());
        out[8] = SEPARATOR;
        out[9..].copy_from_slice(&self.sub.to_be_bytes());
        out
    }

    /// The database key of a change at this revision; deletions carry the
    /// tombstone mark.
    pub fn to_key(self, tombstone: bool) -> Vec<u8> {
        let mut key = Vec::with_capacity(MARKED_REVISION_BYTES_LEN);
        key.extend_from_slice(&self.to_bytes());
        if tombstone {
            key.push(TOMBSTONE_MARK);
        }
        key
    }

    /// Reads a database key back: the revision and whether it marks a
    /// deletion. Anything else than the two forms above is corruption.
    pub fn from_key(key: &[u8]) -> Result<(Revision, bool), Error> {
        let tombstone = match key.len() {
            REVISION_BYTES_LEN => false,
            MARKED_REVISION_BYTES_LEN if key[REVISION_BYTES_LEN] == TOMBSTONE_MARK => true,
            _ => {
                return Err(Error::Corrupt(format!("malformed revision key {key:02x?}")));
            }
        };
        if key[8] != SEPARATOR {
            return Err(Error::Corrupt(format!("malformed revision key {key:02x?}")));
        }
        let mut main = [0u8; 8];
        let mut sub = [0u8; 8];
        main.copy_from_slice(&key[..8]);
        sub.copy_from_slice(&key[9..REVISION_BYTES_LEN]);
        Ok((
            Revision::new(i64::from_be_bytes(main), i64::from_be_bytes(sub)),
            tombstone,
        ))
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.main, self.sub)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn encoding_matches_etcd_layout() {
        let bytes = Revision::new(1, 2).to_bytes();
        assert_eq!(
            bytes,
            [0, 0, 0, 0, 0, 0, 0, 1, b'_', 0, 0, 0, 0, 0, 0, 0, 2]
        );
        let key = Revision::new(1, 2).to_key(true);
        assert_eq!(key.len(), MARKED_REVISION_BYTES_LEN);
        assert_eq!(key[17], b't');
        assert_eq!(Revision::new(1, 2).to_key(false), bytes.to_vec());
    }

    #[test]
    fn round_trip() {
        for rev in [
            Revision::new(0, 0),
            Revision::new(1, 0),
            Revision::new(5, 7),
            Revision::new(i64::MAX, i64::MAX),
        ] {
            assert_eq!(
                Revision::from_key(&rev.to_key(false)).unwrap(),
                (rev, false)
            );
            assert_eq!(Revision::from_key(&rev.to_key(true)).unwrap(), (rev, true));
        }
    }

    #[test]
    fn byte_order_is_revision_order() {
        let revs = [
            Revision::new(1, 0),
            Revision::new(1, 1),
            Revision::new(1, 256),
            Revision::new(2, 0),
            Revision::new(256, 0),
            Revision::new(257, 3),
        ];
        for pair in revs.windows(2) {
            assert!(pair[0] < pair[1]);
            assert!(pair[0].to_bytes() < pair[1].to_bytes());
            // a tombstone sorts right after the same revision without mark
            assert!(pair[0].to_key(true) < pair[1].to_key(false));
        }
    }

    #[test]
    fn malformed_keys_are_corruption() {
        assert!(matches!(
            Revision::from_key(b"short"),
            Err(Error::Corrupt(_))
        ));
        let mut bad_mark = Revision::new(1, 0).to_key(false);
        bad_mark.push(b'x');
        assert!(Revision::from_key(&bad_mark).is_err());
        let mut bad_sep = Revision::new(1, 0).to_key(false);
        bad_sep[8] = b'-';
        assert!(Revision::from_key(&bad_sep).is_err());
    }
}
