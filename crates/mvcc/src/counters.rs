//! Metrics counted the way etcd's mvcc package counts them. etcd meters
//! each read or write transaction as a unit and, when the unit ends, adds
//! its ranges, puts and deletes to the totals and counts it as a txn if it
//! did more than one of them. So a put with `prev_kv` is a range plus a put
//! and a "txn"; a Txn request's compares are ranges of their own unit.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A snapshot of the store's counters for `/metrics`. Totals only grow;
/// gauges (marked) go both ways.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// etcd_mvcc_put_total: put operations, including those inside txns.
    pub put_total: u64,
    /// etcd_mvcc_delete_total: delete-range operations.
    pub delete_total: u64,
    /// etcd_mvcc_range_total: range operations, including the reads done by
    /// compares, prev_kv and ignore_value/ignore_lease.
    pub range_total: u64,
    /// etcd_mvcc_txn_total: metered units with more than one operation.
    pub txn_total: u64,
    /// etcd_debugging_mvcc_total_put_size_in_bytes: key + value bytes put.
    pub put_size_total: u64,
    /// etcd_debugging_mvcc_keys_total (gauge): keys alive at the current
    /// revision.
    pub keys_total: u64,
    /// etcd_debugging_mvcc_db_compaction_keys_total: revisions removed from
    /// disk by compaction.
    pub compaction_keys_total: u64,
    /// etcd_debugging_mvcc_events_total: watch events handed to consumers.
    pub events_total: u64,
    /// etcd_debugging_mvcc_watch_stream_total (gauge).
    pub watch_stream_total: u64,
    /// etcd_debugging_mvcc_watcher_total (gauge).
    pub watcher_total: u64,
    /// etcd_debugging_mvcc_slow_watcher_total (gauge): watchers catching up
    /// from history.
    pub slow_watcher_total: u64,
}

/// The operations of one metered unit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Unit {
    pub ranges: u64,
    pub puts: u64,
    pub deletes: u64,
    pub put_size: u64,
}

/// Closed units of a write batch, published when it commits.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    ranges: u64,
    puts: u64,
    deletes: u64,
    txns: u64,
    put_size: u64,
}

impl Tally {
    pub fn close(&mut self, unit: Unit) {
        if unit.ranges + unit.puts + unit.deletes > 1 {
            self.txns += 1;
        }
        self.ranges += unit.ranges;
        self.puts += unit.puts;
        self.deletes += unit.deletes;
        self.put_size += unit.put_size;
    }
}

/// The live counters of a store.
#[derive(Debug, Default)]
pub(crate) struct CounterCells {
    put_total: AtomicU64,
    delete_total: AtomicU64,
    range_total: AtomicU64,
    txn_total: AtomicU64,
    put_size_total: AtomicU64,
    keys_total: AtomicI64,
    compaction_keys_total: AtomicU64,
    pub events_total: AtomicU64,
}

impl CounterCells {
    pub fn new(live_keys: u64) -> CounterCells {
        let cells = CounterCells::default();
        cells.set_live_keys(live_keys);
        cells
    }

    /// Sets the live keys gauge after the contents were replaced.
    pub fn set_live_keys(&self, live_keys: u64) {
        self.keys_total.store(
            i64::try_from(live_keys).unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
    }

    /// A read-only unit made of a single range (a plain Range request).
    pub fn count_range(&self) {
        self.range_total.fetch_add(1, Ordering::Relaxed);
    }

    /// A read-only unit of `ranges` reads (a txn that only reads): a txn
    /// if it read more than once, as etcd meters it.
    pub fn count_reads(&self, ranges: u64) {
        self.range_total.fetch_add(ranges, Ordering::Relaxed);
        if ranges > 1 {
            self.txn_total.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn publish(&self, tally: &Tally, live_delta: i64, compacted: u64) {
        self.put_total.fetch_add(tally.puts, Ordering::Relaxed);
        self.delete_total
            .fetch_add(tally.deletes, Ordering::Relaxed);
        self.range_total.fetch_add(tally.ranges, Ordering::Relaxed);
        self.txn_total.fetch_add(tally.txns, Ordering::Relaxed);
        self.put_size_total
            .fetch_add(tally.put_size, Ordering::Relaxed);
        self.keys_total.fetch_add(live_delta, Ordering::Relaxed);
        self.compaction_keys_total
            .fetch_add(compacted, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Counters {
        Counters {
            put_total: self.put_total.load(Ordering::Relaxed),
            delete_total: self.delete_total.load(Ordering::Relaxed),
            range_total: self.range_total.load(Ordering::Relaxed),
            txn_total: self.txn_total.load(Ordering::Relaxed),
            put_size_total: self.put_size_total.load(Ordering::Relaxed),
            keys_total: u64::try_from(self.keys_total.load(Ordering::Relaxed)).unwrap_or(0),
            compaction_keys_total: self.compaction_keys_total.load(Ordering::Relaxed),
            events_total: self.events_total.load(Ordering::Relaxed),
            ..Counters::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_of_several_operations_is_a_txn() {
        let mut tally = Tally::default();
        tally.close(Unit {
            puts: 1,
            put_size: 5,
            ..Unit::default()
        });
        tally.close(Unit {
            ranges: 1,
            puts: 1,
            put_size: 3,
            ..Unit::default()
        });
        tally.close(Unit::default());
        let cells = CounterCells::new(3);
        cells.publish(&tally, -1, 4);
        cells.count_range();
        let c = cells.snapshot();
        assert_eq!((c.put_total, c.range_total, c.txn_total), (2, 2, 1));
        assert_eq!(
            (c.put_size_total, c.keys_total, c.compaction_keys_total),
            (8, 2, 4)
        );
    }
}
