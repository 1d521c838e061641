//! How waiters are named and found. Every caller of one election or lock
//! owns one key `<name>/<lease id in hex>` under the prefix `<name>/`; the
//! order of the queue is the order in which those keys were created.

use api::pb::etcdserverpb::RangeRequest;
use api::pb::etcdserverpb::range_request::{SortOrder, SortTarget};

/// The prefix holding every waiter of election or lock `name`.
pub(crate) fn prefix(name: &[u8]) -> Vec<u8> {
    let mut prefix = name.to_vec();
    prefix.push(b'/');
    prefix
}

/// The key a caller holding `lease` waits under. The lease id is printed
/// as Go's `%x` prints an int64 (lower case, a minus sign for negatives), so
/// a caller that comes back with the same lease finds its old key.
pub(crate) fn waiter(prefix: &[u8], lease: i64) -> Vec<u8> {
    let sign = if lease < 0 { "-" } else { "" };
    let mut key = prefix.to_vec();
    key.extend_from_slice(format!("{sign}{:x}", lease.unsigned_abs()).as_bytes());
    key
}

/// The end of the range of keys starting with `prefix` (etcd's
/// GetPrefixRangeEnd): the prefix with its last byte below 0xff increased
/// and what follows it dropped; "\0" (to the end of the key space) when
/// every byte is 0xff.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    match prefix.iter().rposition(|&b| b < 0xff) {
        Some(i) => {
            let mut end = prefix[..=i].to_vec();
            end[i] += 1;
            end
        }
        None => vec![0],
    }
}

/// The oldest waiter: the leader, or the holder of the lock.
pub(crate) fn first_created(prefix: &[u8]) -> RangeRequest {
    RangeRequest {
        sort_order: SortOrder::Ascend as i32,
        ..newest_or_oldest(prefix)
    }
}

/// The youngest waiter created at or before `max_create_revision`.
pub(crate) fn last_created(prefix: &[u8], max_create_revision: i64) -> RangeRequest {
    RangeRequest {
        sort_order: SortOrder::Descend as i32,
        max_create_revision,
        ..newest_or_oldest(prefix)
    }
}

fn newest_or_oldest(prefix: &[u8]) -> RangeRequest {
    RangeRequest {
        key: prefix.to_vec(),
        range_end: prefix_end(prefix),
        limit: 1,
        sort_target: SortTarget::Create as i32,
        ..RangeRequest::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiter_keys_print_the_lease_like_go() {
        let p = prefix(b"job");
        assert_eq!(p, b"job/");
        assert_eq!(waiter(&p, 0x694d_7a0b_1c2d_3e4f), b"job/694d7a0b1c2d3e4f");
        assert_eq!(waiter(&p, 0x4d), b"job/4d");
        assert_eq!(waiter(&p, -1), b"job/-1");
        assert_eq!(waiter(&p, i64::MIN), b"job/-8000000000000000");
        assert_eq!(waiter(&prefix(b""), 10), b"/a");
    }

    #[test]
    fn prefix_end_follows_etcd() {
        assert_eq!(prefix_end(b"job/"), b"job0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), b"\0");
        assert_eq!(prefix_end(b""), b"\0");
    }

    #[test]
    fn ranges_ask_for_one_key_by_creation() {
        let first = first_created(b"e/");
        assert_eq!(
            (first.limit, first.sort_order),
            (1, SortOrder::Ascend as i32)
        );
        assert_eq!(first.sort_target, SortTarget::Create as i32);
        assert_eq!(
            (first.key.as_slice(), first.range_end.as_slice()),
            (&b"e/"[..], &b"e0"[..])
        );
        let last = last_created(b"e/", 41);
        assert_eq!(
            (last.limit, last.sort_order),
            (1, SortOrder::Descend as i32)
        );
        assert_eq!(last.max_create_revision, 41);
    }
}
