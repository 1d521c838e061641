//! The history of one key, as etcd's keyIndex keeps it in memory: a list of
//! generations, each the life of the key from its creation to its deletion.
//! A deletion (tombstone) closes the current generation with its revision
//! and opens a new, empty one. Example, for put@1 put@2 del@3 put@4 del@5:
//!
//! ```text
//! {1, 2, 3(t)} {4, 5(t)} {}
//! ```
//!
//! Compacting at revision r drops every revision <= r except the largest one
//! of the generation that is alive at r; a generation whose last remaining
//! revision is its tombstone goes entirely, and a key with nothing left goes
//! from the index.

use std::collections::HashSet;

use crate::revision::Revision;

/// A revision given out of order: the history only grows forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfOrder {
    pub given: Revision,
    pub last: Revision,
}

/// One life of a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Generation {
    /// Versions written in this life, including ones compacted away.
    pub ver: i64,
    /// The revision that created the key in this life.
    pub created: Revision,
    /// Remaining revisions, ascending; in a closed life the last one is the
    /// tombstone.
    pub revs: Vec<Revision>,
}

/// What a read at some revision finds for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub modified: Revision,
    pub created: Revision,
    pub version: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyIndex {
    modified: Revision,
    generations: Vec<Generation>,
}

impl KeyIndex {
    /// A key seen for the first time while loading a compacted history: its
    /// earliest surviving revision stands for the whole current life.
    pub fn restored(created: Revision, modified: Revision, ver: i64) -> KeyIndex {
        KeyIndex {
            modified,
            generations: vec![Generation {
                ver,
                created,
                revs: vec![modified],
            }],
        }
    }

    /// Records a write; true when the write created the key (a new life).
    pub fn put(&mut self, rev: Revision) -> Result<bool, OutOfOrder> {
        if rev <= self.modified {
            return Err(OutOfOrder {
                given: rev,
                last: self.modified,
            });
        }
        if self.generations.is_empty() {
            self.generations.push(Generation::default());
        }
        let last = self.generations.len() - 1;
        let g = &mut self.generations[last];
        let created = g.revs.is_empty();
        if created {
            g.created = rev;
        }
        g.revs.push(rev);
        g.ver += 1;
        self.modified = rev;
        Ok(created)
    }

    /// Records a deletion; false (and nothing recorded) when the key is not
    /// alive.
    pub fn tombstone(&mut self, rev: Revision) -> Result<bool, OutOfOrder> {
        if !self.is_live() {
            return Ok(false);
        }
        self.put(rev)?;
        self.generations.push(Generation::default());
        Ok(true)
    }

    /// Whether the key exists at the newest revision recorded.
    pub fn is_live(&self) -> bool {
        self.generations.last().is_some_and(|g| !g.revs.is_empty())
    }

    /// Nothing left of the key; it should leave the index.
    pub fn is_empty(&self) -> bool {
        self.generations.iter().all(|g| g.revs.is_empty())
    }

    /// The newest revision recorded (a write or a tombstone).
    #[cfg(test)]
    pub fn modified(&self) -> Revision {
        self.modified
    }

    /// The version of the key visible at `at_rev`, if it exists then.
    pub fn get(&self, at_rev: i64) -> Option<Found> {
        let g = self.find_generation(at_rev)?;
        let n = g.revs.iter().rposition(|r| r.main <= at_rev)?;
        Some(Found {
            modified: g.revs[n],
            created: g.created,
            version: g.ver - (g.revs.len() - n - 1) as i64,
        })
    }

    /// The life the key was in at `rev`, or None if it did not exist then.
    fn find_generation(&self, rev: i64) -> Option<&Generation> {
        let last = self.generations.len().checked_sub(1)?;
        for (i, g) in self.generations.iter().enumerate().rev() {
            let (Some(first), Some(end)) = (g.revs.first(), g.revs.last()) else {
                continue;
            };
            // a closed life whose tombstone is at or before rev: deleted then
            if i != last && end.main <= rev {
                return None;
            }
            if first.main <= rev {
                return Some(g);
            }
        }
        None
    }

    /// Drops the history a compaction at `at_rev` discards; `available`
    /// collects the revisions <= at_rev that must stay on disk.
    pub fn compact(&mut self, at_rev: i64, available: &mut HashSet<Revision>) {
        let (mut gen_idx, rev_idx) = self.compaction_point(at_rev, available);
        let last = self.generations.len().saturating_sub(1);
        if let Some(g) = self.generations.get_mut(gen_idx) {
            if let Some(i) = rev_idx {
                g.revs.drain(..i);
            }
            // a life reduced to its tombstone is over: nothing to keep
            if g.revs.len() == 1 && gen_idx != last {
                available.remove(&g.revs[0]);
                gen_idx += 1;
            }
        }
        self.generations.drain(..gen_idx);
    }

    /// Adds to `available` the revisions <= at_rev that a compaction at
    /// `at_rev` would keep, without changing anything.
    pub fn keep(&self, at_rev: i64, available: &mut HashSet<Revision>) {
        if self.is_empty() {
            return;
        }
        let (gen_idx, rev_idx) = self.compaction_point(at_rev, available);
        if let (Some(g), Some(i)) = (self.generations.get(gen_idx), rev_idx)
            && i + 1 == g.revs.len()
            && gen_idx + 1 != self.generations.len()
        {
            available.remove(&g.revs[i]);
        }
    }

    /// The first life that was still going on at `at_rev` (or the current
    /// one) and, in it, the position of the largest revision <= at_rev,
    /// which is added to `available`.
    fn compaction_point(
        &self,
        at_rev: i64,
        available: &mut HashSet<Revision>,
    ) -> (usize, Option<usize>) {
        let mut gen_idx = 0;
        while gen_idx + 1 < self.generations.len() {
            match self.generations[gen_idx].revs.last() {
                Some(tomb) if tomb.main > at_rev => break,
                _ => gen_idx += 1,
            }
        }
        let pos = self.generations.get(gen_idx).and_then(|g| {
            let i = g.revs.iter().rposition(|r| r.main <= at_rev)?;
            available.insert(g.revs[i]);
            Some(i)
        });
        (gen_idx, pos)
    }

    /// Takes back the write `rev`, which must be the newest one recorded;
    /// true when that write had created the key.
    pub fn undo_put(&mut self, rev: Revision) -> Result<bool, OutOfOrder> {
        let mismatch = OutOfOrder {
            given: rev,
            last: self.modified,
        };
        let Some(g) = self.generations.last_mut() else {
            return Err(mismatch);
        };
        if g.revs.last() != Some(&rev) {
            return Err(mismatch);
        }
        g.revs.pop();
        g.ver -= 1;
        let emptied = g.revs.is_empty();
        if emptied {
            g.created = Revision::default();
        }
        self.modified = self
            .generations
            .iter()
            .rev()
            .find_map(|g| g.revs.last().copied())
            .unwrap_or_default();
        Ok(emptied)
    }

    /// Takes back the deletion `rev`, which must be the newest change.
    pub fn undo_tombstone(&mut self, rev: Revision) -> Result<(), OutOfOrder> {
        let closes_a_life = self.generations.len() >= 2
            && self.generations.last().is_some_and(|g| g.revs.is_empty());
        if !closes_a_life {
            return Err(OutOfOrder {
                given: rev,
                last: self.modified,
            });
        }
        self.generations.pop();
        self.undo_put(rev).map(|_| ())
    }

    #[cfg(test)]
    pub fn generations(&self) -> &[Generation] {
        &self.generations
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn r(main: i64) -> Revision {
        Revision::new(main, 0)
    }

    /// put@1 put@2 del@3 put@4 del@5, etcd's documented example.
    fn example() -> KeyIndex {
        let mut ki = KeyIndex::default();
        assert!(ki.put(r(1)).unwrap());
        assert!(!ki.put(r(2)).unwrap());
        assert!(ki.tombstone(r(3)).unwrap());
        assert!(ki.put(r(4)).unwrap());
        assert!(ki.tombstone(r(5)).unwrap());
        ki
    }

    fn revs(ki: &KeyIndex) -> Vec<Vec<i64>> {
        ki.generations()
            .iter()
            .map(|g| g.revs.iter().map(|r| r.main).collect())
            .collect()
    }

    #[test]
    fn generations_follow_puts_and_tombstones() {
        let ki = example();
        assert_eq!(revs(&ki), vec![vec![1, 2, 3], vec![4, 5], vec![]]);
        assert!(!ki.is_live());
        assert_eq!(ki.modified(), r(5));
    }

    #[test]
    fn get_sees_each_revision() {
        let ki = example();
        assert_eq!(ki.get(0), None);
        let at1 = ki.get(1).unwrap();
        assert_eq!((at1.modified, at1.created, at1.version), (r(1), r(1), 1));
        let at2 = ki.get(2).unwrap();
        assert_eq!((at2.modified, at2.created, at2.version), (r(2), r(1), 2));
        assert_eq!(ki.get(3), None, "deleted at 3");
        let at4 = ki.get(4).unwrap();
        assert_eq!((at4.modified, at4.created, at4.version), (r(4), r(4), 1));
        assert_eq!(ki.get(5), None);
        assert_eq!(ki.get(100), None);
    }

    #[test]
    fn tombstone_of_dead_key_is_refused() {
        let mut ki = example();
        assert!(!ki.tombstone(r(6)).unwrap());
        assert_eq!(ki.modified(), r(5));
    }

    #[test]
    fn out_of_order_put_is_refused() {
        let mut ki = example();
        assert!(ki.put(r(5)).is_err());
        assert!(ki.put(Revision::new(4, 9)).is_err());
        assert!(ki.put(Revision::new(5, 1)).is_ok());
    }

    #[test]
    fn compaction_follows_etcd_example() {
        let mut ki = example();
        let mut avail = HashSet::new();
        ki.compact(2, &mut avail);
        assert_eq!(revs(&ki), vec![vec![2, 3], vec![4, 5], vec![]]);
        assert_eq!(avail, HashSet::from([r(2)]));

        let mut avail = HashSet::new();
        ki.compact(4, &mut avail);
        assert_eq!(revs(&ki), vec![vec![4, 5], vec![]]);
        assert_eq!(avail, HashSet::from([r(4)]));

        let mut avail = HashSet::new();
        ki.compact(5, &mut avail);
        assert!(ki.is_empty());
        assert!(avail.is_empty());
    }

    #[test]
    fn compaction_at_tombstone_drops_the_life() {
        let mut ki = example();
        let mut avail = HashSet::new();
        ki.compact(3, &mut avail);
        assert_eq!(revs(&ki), vec![vec![4, 5], vec![]]);
        assert!(avail.is_empty());
    }

    #[test]
    fn compaction_keeps_live_key() {
        let mut ki = KeyIndex::default();
        for m in 1..=4 {
            ki.put(r(m)).unwrap();
        }
        let mut avail = HashSet::new();
        ki.compact(3, &mut avail);
        assert_eq!(revs(&ki), vec![vec![3, 4]]);
        assert_eq!(avail, HashSet::from([r(3)]));
        let found = ki.get(4).unwrap();
        assert_eq!(found.version, 4, "version survives compaction");
        assert_eq!(found.created, r(1));
        assert_eq!(ki.get(2), None);
    }

    #[test]
    fn keep_agrees_with_compact() {
        for at in 0..=7 {
            let mut ki = example();
            ki.put(r(6)).unwrap();
            let mut kept = HashSet::new();
            ki.keep(at, &mut kept);
            let mut avail = HashSet::new();
            ki.compact(at, &mut avail);
            assert_eq!(kept, avail, "at {at}");
        }
    }

    #[test]
    fn restored_key_carries_version() {
        let mut ki = KeyIndex::restored(r(2), r(7), 5);
        let found = ki.get(7).unwrap();
        assert_eq!((found.created, found.version), (r(2), 5));
        ki.put(r(8)).unwrap();
        assert_eq!(ki.get(8).unwrap().version, 6);
    }

    #[test]
    fn undo_restores_previous_state() {
        let before = example();
        let mut ki = before.clone();
        assert!(ki.put(r(6)).unwrap());
        ki.put(r(7)).unwrap();
        ki.tombstone(r(8)).unwrap();
        ki.undo_tombstone(r(8)).unwrap();
        assert!(!ki.undo_put(r(7)).unwrap());
        assert!(ki.undo_put(r(6)).unwrap());
        assert_eq!(revs(&ki), revs(&before));
        assert_eq!(ki.modified(), before.modified());
        assert_eq!(ki.get(2), before.get(2));

        let mut fresh = KeyIndex::default();
        fresh.put(r(3)).unwrap();
        assert!(fresh.undo_put(r(3)).unwrap());
        assert!(fresh.is_empty());
    }

    #[test]
    fn undo_of_wrong_revision_is_refused() {
        let mut ki = example();
        assert!(ki.undo_put(r(4)).is_err());
        assert!(ki.undo_tombstone(r(4)).is_err());
        let mut live = KeyIndex::default();
        live.put(r(1)).unwrap();
        assert!(live.undo_tombstone(r(1)).is_err());
    }
}
