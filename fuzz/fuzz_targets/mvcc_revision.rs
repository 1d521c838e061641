//! Database keys of the `key` table as revisions: a key decodes exactly
//! when it is one of the two encoded forms, and decoding is the inverse of
//! encoding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mvcc::Revision;
use mvcc::revision::{MARKED_REVISION_BYTES_LEN, REVISION_BYTES_LEN};

fuzz_target!(|data: &[u8]| {
    let well_formed = data.get(8) == Some(&b'_')
        && (data.len() == REVISION_BYTES_LEN
            || (data.len() == MARKED_REVISION_BYTES_LEN && data[REVISION_BYTES_LEN] == b't'));
    match Revision::from_key(data) {
        Ok((rev, tombstone)) => {
            assert!(well_formed);
            assert_eq!(rev.to_key(tombstone), data);
            assert_eq!(tombstone, data.len() == MARKED_REVISION_BYTES_LEN);
        }
        Err(_) => assert!(!well_formed),
    }
});
