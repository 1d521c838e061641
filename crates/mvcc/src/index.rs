//! The in-memory index of all keys (etcd's treeIndex): key -> [`KeyIndex`],
//! ordered by key. It answers "which revision of which key is visible at
//! revision r" without touching the disk. Revisions newer than the published
//! current revision may be present (a write batch in progress); readers
//! never ask about them, so they stay invisible.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use crate::key_index::{Found, KeyIndex, OutOfOrder};
use crate::revision::Revision;

/// The keys a request names, from its `key` and `range_end` fields with
/// etcd's conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySpan<'a> {
    /// `range_end` empty: just `key`.
    Single(&'a [u8]),
    /// `[start, end)`; `end` None (range_end "\0") means every key >= start.
    Range(&'a [u8], Option<&'a [u8]>),
}

impl<'a> KeySpan<'a> {
    pub fn from_request(key: &'a [u8], range_end: &'a [u8]) -> KeySpan<'a> {
        match range_end {
            [] => KeySpan::Single(key),
            [0] => KeySpan::Range(key, None),
            end => KeySpan::Range(key, Some(end)),
        }
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        match *self {
            KeySpan::Single(k) => k == key,
            KeySpan::Range(start, end) => key >= start && end.is_none_or(|e| key < e),
        }
    }
}

/// One change to the index, kept so a failed request or a dropped batch
/// can be taken back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IndexChange {
    Put(Vec<u8>, Revision),
    Tombstone(Vec<u8>, Revision),
}

#[derive(Debug, Default)]
pub(crate) struct TreeIndex {
    keys: BTreeMap<Vec<u8>, KeyIndex>,
}

impl TreeIndex {
    pub fn get(&self, key: &[u8], at_rev: i64) -> Option<Found> {
        self.keys.get(key)?.get(at_rev)
    }

    fn visit<'s>(
        &'s self,
        span: KeySpan<'s>,
    ) -> Box<dyn Iterator<Item = (&'s [u8], &'s KeyIndex)> + 's> {
        match span {
            KeySpan::Single(key) => Box::new(
                self.keys
                    .get_key_value(key)
                    .into_iter()
                    .map(|(k, ki)| (k.as_slice(), ki)),
            ),
            KeySpan::Range(start, end) => {
                if end.is_some_and(|e| e <= start) {
                    return Box::new(std::iter::empty());
                }
                let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
                Box::new(
                    self.keys
                        .range::<[u8], _>((Bound::Included(start), upper))
                        .map(|(k, ki)| (k.as_slice(), ki)),
                )
            }
        }
    }

    /// The revisions of the keys in `span` visible at `at_rev`, in key order.
    pub fn revisions(&self, span: KeySpan<'_>, at_rev: i64) -> Vec<Revision> {
        self.visit(span)
            .filter_map(|(_, ki)| ki.get(at_rev).map(|f| f.modified))
            .collect()
    }

    /// The keys in `span` that exist at `at_rev`, in key order.
    pub fn keys(&self, span: KeySpan<'_>, at_rev: i64) -> Vec<Vec<u8>> {
        self.visit(span)
            .filter(|(_, ki)| ki.get(at_rev).is_some())
            .map(|(k, _)| k.to_vec())
            .collect()
    }

    /// Records a write; true when it created the key.
    pub fn put(&mut self, key: &[u8], rev: Revision) -> Result<bool, OutOfOrder> {
        match self.keys.get_mut(key) {
            Some(ki) => ki.put(rev),
            None => {
                let mut ki = KeyIndex::default();
                let created = ki.put(rev)?;
                self.keys.insert(key.to_vec(), ki);
                Ok(created)
            }
        }
    }

    /// Records a deletion; false when the key did not exist.
    pub fn tombstone(&mut self, key: &[u8], rev: Revision) -> Result<bool, OutOfOrder> {
        match self.keys.get_mut(key) {
            Some(ki) => ki.tombstone(rev),
            None => Ok(false),
        }
    }

    /// Adds a key found while loading history from disk, the way etcd's
    /// restore does: the first surviving revision of a key stands for its
    /// life so far (its value carries create revision and version), a
    /// tombstone of an unknown key is skipped.
    pub fn restore(
        &mut self,
        key: &[u8],
        rev: Revision,
        tombstone: bool,
        created: i64,
        version: i64,
    ) -> Result<(), OutOfOrder> {
        match self.keys.get_mut(key) {
            Some(ki) if tombstone => ki.tombstone(rev).map(|_| ()),
            Some(ki) => ki.put(rev).map(|_| ()),
            None if tombstone => Ok(()),
            None => {
                let ki = KeyIndex::restored(Revision::new(created, 0), rev, version);
                self.keys.insert(key.to_vec(), ki);
                Ok(())
            }
        }
    }

    /// Takes back one change; returns the change in the number of live keys
    /// this causes.
    pub fn undo(&mut self, change: &IndexChange) -> Result<i64, OutOfOrder> {
        let (key, delta) = match change {
            IndexChange::Put(key, rev) => {
                let ki = self.keys.get_mut(key.as_slice()).ok_or(OutOfOrder {
                    given: *rev,
                    last: Revision::default(),
                })?;
                let delta = if ki.undo_put(*rev)? { -1 } else { 0 };
                (key, delta)
            }
            IndexChange::Tombstone(key, rev) => {
                let ki = self.keys.get_mut(key.as_slice()).ok_or(OutOfOrder {
                    given: *rev,
                    last: Revision::default(),
                })?;
                ki.undo_tombstone(*rev)?;
                (key, 1)
            }
        };
        if self
            .keys
            .get(key.as_slice())
            .is_some_and(KeyIndex::is_empty)
        {
            self.keys.remove(key.as_slice());
        }
        Ok(delta)
    }

    /// Compacts every key at `rev` and drops keys with nothing left; returns
    /// the revisions <= rev that stay on disk.
    pub fn compact(&mut self, rev: i64) -> HashSet<Revision> {
        let mut available = HashSet::new();
        self.keys.retain(|_, ki| {
            ki.compact(rev, &mut available);
            !ki.is_empty()
        });
        available
    }

    /// The revisions <= rev a compaction at `rev` would keep.
    pub fn keep(&self, rev: i64) -> HashSet<Revision> {
        let mut available = HashSet::new();
        for ki in self.keys.values() {
            ki.keep(rev, &mut available);
        }
        available
    }

    /// Keys that exist at the newest revision recorded.
    pub fn live_keys(&self) -> u64 {
        self.keys.values().filter(|ki| ki.is_live()).count() as u64
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    #[cfg(test)]
    pub fn key_index(&self, key: &[u8]) -> Option<&KeyIndex> {
        self.keys.get(key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn r(main: i64) -> Revision {
        Revision::new(main, 0)
    }

    /// foo: put@2 put@4 del@6; foo1: put@3; foo2: put@5 del@7 put@8
    fn sample() -> TreeIndex {
        let mut ti = TreeIndex::default();
        ti.put(b"foo", r(2)).unwrap();
        ti.put(b"foo1", r(3)).unwrap();
        ti.put(b"foo", r(4)).unwrap();
        ti.put(b"foo2", r(5)).unwrap();
        assert!(ti.tombstone(b"foo", r(6)).unwrap());
        assert!(ti.tombstone(b"foo2", r(7)).unwrap());
        ti.put(b"foo2", r(8)).unwrap();
        ti
    }

    #[test]
    fn key_span_from_request() {
        assert_eq!(KeySpan::from_request(b"a", b""), KeySpan::Single(b"a"));
        assert_eq!(
            KeySpan::from_request(b"a", b"\0"),
            KeySpan::Range(b"a", None)
        );
        assert_eq!(
            KeySpan::from_request(b"a", b"c"),
            KeySpan::Range(b"a", Some(b"c"))
        );
        let span = KeySpan::from_request(b"b", b"d");
        assert!(!span.contains(b"a") && span.contains(b"b") && span.contains(b"c"));
        assert!(!span.contains(b"d"));
        assert!(KeySpan::from_request(b"b", b"\0").contains(b"zzz"));
        assert!(!KeySpan::from_request(b"b", b"").contains(b"bb"));
    }

    #[test]
    fn revisions_at_each_point() {
        let ti = sample();
        let all = KeySpan::Range(b"foo", Some(b"fop"));
        assert_eq!(ti.revisions(all, 1), vec![]);
        assert_eq!(ti.revisions(all, 3), vec![r(2), r(3)]);
        assert_eq!(ti.revisions(all, 5), vec![r(4), r(3), r(5)]);
        assert_eq!(ti.revisions(all, 7), vec![r(3)]);
        assert_eq!(ti.revisions(all, 8), vec![r(3), r(8)]);
        assert_eq!(ti.revisions(KeySpan::Single(b"foo"), 4), vec![r(4)]);
        assert_eq!(
            ti.revisions(KeySpan::Range(b"foo1", None), 8),
            vec![r(3), r(8)]
        );
        assert_eq!(
            ti.keys(all, 5),
            vec![b"foo".to_vec(), b"foo1".to_vec(), b"foo2".to_vec()]
        );
    }

    #[test]
    fn inverted_range_is_empty_not_a_panic() {
        let ti = sample();
        assert!(ti.revisions(KeySpan::Range(b"z", Some(b"a")), 8).is_empty());
        assert!(
            ti.revisions(KeySpan::Range(b"foo", Some(b"foo")), 8)
                .is_empty()
        );
        assert!(ti.keys(KeySpan::Range(b"", Some(b"")), 8).is_empty());
    }

    #[test]
    fn tombstone_of_unknown_key_is_noop() {
        let mut ti = sample();
        assert!(!ti.tombstone(b"nope", r(9)).unwrap());
        assert!(!ti.tombstone(b"foo", r(9)).unwrap(), "already deleted");
        assert_eq!(ti.live_keys(), 2);
    }

    #[test]
    fn compaction_removes_dead_keys_and_reports_kept_revisions() {
        let mut ti = sample();
        let keep = ti.keep(6);
        let avail = ti.compact(6);
        assert_eq!(keep, avail);
        // foo died at 6: gone entirely; foo1 keeps 3; foo2's old life (5, 7t)
        // is not yet over at 6, so 5 stays.
        assert_eq!(avail, HashSet::from([r(3), r(5)]));
        assert!(ti.key_index(b"foo").is_none());
        assert_eq!(ti.len(), 2);
        assert_eq!(
            ti.revisions(KeySpan::Range(b"foo", Some(b"fop")), 6),
            vec![r(3), r(5)]
        );

        let avail = ti.compact(8);
        assert_eq!(avail, HashSet::from([r(3), r(8)]));
        assert_eq!(ti.len(), 2);
    }

    #[test]
    fn undo_takes_changes_back() {
        let mut ti = sample();
        let changes = [
            IndexChange::Put(b"new".to_vec(), r(9)),
            IndexChange::Tombstone(b"foo1".to_vec(), Revision::new(9, 1)),
            IndexChange::Put(b"foo".to_vec(), Revision::new(9, 2)),
        ];
        assert!(ti.put(b"new", r(9)).unwrap());
        assert!(ti.tombstone(b"foo1", Revision::new(9, 1)).unwrap());
        assert!(ti.put(b"foo", Revision::new(9, 2)).unwrap());
        let mut delta = 0;
        for change in changes.iter().rev() {
            delta += ti.undo(change).unwrap();
        }
        assert_eq!(delta, -1, "two creations and one deletion taken back");
        let fresh = sample();
        assert_eq!(ti.len(), fresh.len());
        for key in [&b"foo"[..], b"foo1", b"foo2"] {
            assert_eq!(ti.key_index(key), fresh.key_index(key));
        }
        assert!(ti.undo(&IndexChange::Put(b"ghost".to_vec(), r(1))).is_err());
    }

    #[test]
    fn restore_rebuilds_like_etcd() {
        let mut ti = TreeIndex::default();
        // history compacted at 4: foo's surviving put@4 has version 3
        ti.restore(b"foo", r(4), false, 2, 3).unwrap();
        ti.restore(b"bar", r(5), true, 0, 0).unwrap();
        ti.restore(b"foo", r(6), false, 2, 4).unwrap();
        ti.restore(b"foo", r(7), true, 0, 0).unwrap();
        assert!(ti.key_index(b"bar").is_none());
        let at6 = ti.get(b"foo", 6).unwrap();
        assert_eq!((at6.created, at6.version), (r(2), 4));
        assert_eq!(ti.get(b"foo", 7), None);
        assert_eq!(ti.live_keys(), 0);
        assert!(ti.restore(b"foo", r(7), false, 2, 1).is_err());
    }
}
