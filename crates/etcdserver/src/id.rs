//! Request ids, unique across the cluster and across restarts, built as
//! etcd's idutil does: the low 16 bits of the member id, then the low 40 bits
//! of the start time in milliseconds, then a counter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const COUNTER_BITS: u32 = 8;
const TIME_BITS: u32 = 40;
const SUFFIX_BITS: u32 = COUNTER_BITS + TIME_BITS;

pub struct RequestIds {
    prefix: u64,
    suffix: AtomicU64,
}

fn low_bits(x: u64, n: u32) -> u64 {
    x & (u64::MAX >> (64 - n))
}

impl RequestIds {
    pub fn new(member_id: u64) -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        RequestIds {
            prefix: low_bits(member_id, 16) << SUFFIX_BITS,
            suffix: AtomicU64::new(low_bits(millis, TIME_BITS) << COUNTER_BITS),
        }
    }

    pub fn next(&self) -> u64 {
        let suffix = self.suffix.fetch_add(1, Ordering::Relaxed) + 1;
        self.prefix | low_bits(suffix, SUFFIX_BITS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_carry_the_member() {
        let ids = RequestIds::new(0xabcd_1234);
        let a = ids.next();
        let b = ids.next();
        assert_ne!(a, b);
        assert_eq!(a >> SUFFIX_BITS, 0x1234);
        assert_eq!(b >> SUFFIX_BITS, 0x1234);
    }
}
