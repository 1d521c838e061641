//! What a watcher watches and the lookup from a changed key to the synced
//! watchers interested in it: single-key watchers by key, range watchers
//! checked one by one.

use std::collections::{BTreeSet, HashMap};

use api::pb::mvccpb::Event;
use api::pb::mvccpb::event::EventType;

use crate::index::KeySpan;

/// The keys of a watcher, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Interest {
    Key(Vec<u8>),
    /// `[start, end)`, or every key >= start when `end` is None.
    Range(Vec<u8>, Option<Vec<u8>>),
}

impl Interest {
    pub fn from_request(key: Vec<u8>, range_end: Vec<u8>) -> Interest {
        match range_end.as_slice() {
            [] => Interest::Key(key),
            [0] => Interest::Range(key, None),
            _ => Interest::Range(key, Some(range_end)),
        }
    }

    pub fn span(&self) -> KeySpan<'_> {
        match self {
            Interest::Key(k) => KeySpan::Single(k),
            Interest::Range(start, end) => KeySpan::Range(start, end.as_deref()),
        }
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.span().contains(key)
    }
}

/// Which event types a watcher wants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    pub no_puts: bool,
    pub no_deletes: bool,
}

impl Filter {
    pub fn wants(&self, ev: &Event) -> bool {
        if ev.r#type == EventType::Delete as i32 {
            !self.no_deletes
        } else {
            !self.no_puts
        }
    }
}

/// Index over the synced watchers.
#[derive(Debug, Default)]
pub(crate) struct Group {
    by_key: HashMap<Vec<u8>, BTreeSet<u64>>,
    ranges: BTreeSet<u64>,
}

impl Group {
    pub fn add(&mut self, serial: u64, interest: &Interest) {
        match interest {
            Interest::Key(k) => {
                self.by_key.entry(k.clone()).or_default().insert(serial);
            }
            Interest::Range(..) => {
                self.ranges.insert(serial);
            }
        }
    }

    pub fn remove(&mut self, serial: u64, interest: &Interest) {
        match interest {
            Interest::Key(k) => {
                if let Some(set) = self.by_key.get_mut(k) {
                    set.remove(&serial);
                    if set.is_empty() {
                        self.by_key.remove(k);
                    }
                }
            }
            Interest::Range(..) => {
                self.ranges.remove(&serial);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty() && self.ranges.is_empty()
    }

    /// Serials of synced watchers whose interest contains `key`;
    /// `interest_of` resolves a range watcher's serial.
    pub fn matching<'g>(
        &'g self,
        key: &'g [u8],
        interest_of: impl Fn(u64) -> Option<&'g Interest> + 'g,
    ) -> impl Iterator<Item = u64> + 'g {
        let singles = self.by_key.get(key).into_iter().flatten().copied();
        let ranges = self
            .ranges
            .iter()
            .copied()
            .filter(move |s| interest_of(*s).is_some_and(|i| i.contains(key)));
        singles.chain(ranges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interests_follow_etcd_conventions() {
        assert_eq!(
            Interest::from_request(b"a".to_vec(), vec![]),
            Interest::Key(b"a".to_vec())
        );
        let from = Interest::from_request(b"b".to_vec(), vec![0]);
        assert!(from.contains(b"b") && from.contains(b"zz") && !from.contains(b"a"));
        let range = Interest::from_request(b"b".to_vec(), b"d".to_vec());
        assert!(range.contains(b"c") && !range.contains(b"d"));
    }

    #[test]
    fn filters() {
        let put = Event::default();
        let del = Event {
            r#type: EventType::Delete as i32,
            ..Event::default()
        };
        let f = Filter {
            no_puts: true,
            no_deletes: false,
        };
        assert!(!f.wants(&put) && f.wants(&del));
        assert!(Filter::default().wants(&put) && Filter::default().wants(&del));
    }

    #[test]
    fn matching_finds_keys_and_ranges() {
        let interests = HashMap::from([
            (1, Interest::Key(b"a".to_vec())),
            (2, Interest::Range(b"a".to_vec(), Some(b"c".to_vec()))),
            (3, Interest::Range(b"x".to_vec(), None)),
            (4, Interest::Key(b"b".to_vec())),
        ]);
        let mut group = Group::default();
        for (serial, interest) in &interests {
            group.add(*serial, interest);
        }
        let find = |group: &Group, key: &[u8]| {
            let mut found: Vec<u64> = group.matching(key, |s| interests.get(&s)).collect();
            found.sort_unstable();
            found
        };
        assert_eq!(find(&group, b"a"), vec![1, 2]);
        assert_eq!(find(&group, b"b"), vec![2, 4]);
        assert_eq!(find(&group, b"y"), vec![3]);
        assert!(find(&group, b"m").is_empty());
        group.remove(2, &interests[&2]);
        group.remove(1, &interests[&1]);
        assert!(find(&group, b"a").is_empty());
        assert!(!group.is_empty());
    }
}
