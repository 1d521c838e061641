//! Bringing a member's durable state back into memory: the newest snapshot,
//! then the WAL replayed on top of it into MemStorage. Anything that does not
//! line up (a WAL naming a snapshot that is missing, a log starting after the
//! snapshot ends, a commit index past the log) refuses the start.

use raft::eraftpb::{ConfChange, ConfChangeType, ConfState, Entry, EntryType, HardState, Snapshot};

use crate::log_store::LogStore;
use crate::snap::SnapStore;
use crate::wal::{Wal, WalMetadata};
use crate::{Error, RaftConfig};

pub(crate) struct Boot {
    pub(crate) wal: Wal,
    pub(crate) snaps: SnapStore,
    pub(crate) store: LogStore,
    /// The snapshot the log continues from, if any.
    pub(crate) snapshot: Option<Snapshot>,
    /// What raft may treat as applied at start: the snapshot, and a new
    /// cluster's bootstrap conf changes, which the conf state already holds
    /// and the application never needs to see.
    pub(crate) applied: u64,
    pub(crate) conf_state: ConfState,
}

pub(crate) fn boot(cfg: &RaftConfig) -> Result<Boot, Error> {
    let wal_dir = cfg.wal_dir();
    let snaps = SnapStore::open(&cfg.snap_dir())?;
    if !Wal::exists(&wal_dir)? {
        if snaps.has_snapshots()? {
            return Err(Error::CorruptWal {
                path: wal_dir,
                offset: 0,
                reason: "snapshot files exist but the WAL is missing".into(),
            });
        }
        let conf_state = ConfState::from((cfg.initial_voters.clone(), Vec::new()));
        let metadata = WalMetadata {
            node_id: cfg.id,
            cluster_id: cfg.cluster_id,
            conf_state: conf_state.clone(),
        };
        let mut wal = Wal::create(&wal_dir, metadata, cfg.wal_segment_size)?;
        let store = LogStore::default();
        store.mem.wl().set_conf_state(conf_state.clone());
        let (entries, hard_state) = bootstrap_log(&cfg.initial_voters)?;
        if !entries.is_empty() {
            wal.append_entries(&entries)?;
            wal.append_hard_state(&hard_state)?;
            wal.flush(true)?;
            store.mem.wl().append(&entries)?;
            store.mem.wl().set_hardstate(hard_state);
        }
        return Ok(Boot {
            wal,
            snaps,
            store,
            snapshot: None,
            applied: u64::try_from(entries.len()).unwrap_or(u64::MAX),
            conf_state,
        });
    }

    let (wal, contents) = Wal::open(&wal_dir, cfg.wal_segment_size)?;
    let meta = &contents.metadata;
    if meta.node_id != cfg.id {
        return Err(Error::NodeIdMismatch {
            expected: cfg.id,
            found: meta.node_id,
        });
    }
    if meta.cluster_id != cfg.cluster_id {
        return Err(Error::ClusterIdMismatch {
            expected: cfg.cluster_id,
            found: meta.cluster_id,
        });
    }

    let snapshot = snaps.load_newest()?;
    let (snap_index, snap_term) = snapshot
        .as_ref()
        .map_or((0, 0), |s| (s.get_metadata().index, s.get_metadata().term));
    if let Some(mark) = contents.snapshot
        && mark.index > snap_index
    {
        return Err(Error::CorruptSnapshot {
            path: cfg.snap_dir(),
            reason: format!(
                "the WAL records a snapshot at index {} but the newest snapshot file is at {snap_index}",
                mark.index
            ),
        });
    }
    let first_segment = wal.segment_paths().into_iter().next().unwrap_or_default();
    if contents.base_index > snap_index {
        return Err(Error::CorruptWal {
            path: first_segment,
            offset: 0,
            reason: format!(
                "the log resumes after index {} but the newest snapshot ends at {snap_index}",
                contents.base_index
            ),
        });
    }
    let entries: Vec<_> = contents
        .entries
        .into_iter()
        .filter(|e| e.index > snap_index)
        .collect();
    let last_index = entries.last().map_or(snap_index, |e| e.index);

    let mut hard_state = contents.hard_state;
    hard_state.commit = hard_state.commit.max(snap_index);
    hard_state.term = hard_state.term.max(snap_term);
    if hard_state.commit > last_index {
        return Err(Error::CorruptWal {
            path: first_segment,
            offset: 0,
            reason: format!(
                "commit index {} is past the last log index {last_index}",
                hard_state.commit
            ),
        });
    }

    let store = LogStore::default();
    let conf_state = match &snapshot {
        Some(s) => {
            store.mem.wl().apply_snapshot(s.clone())?;
            store.set_latest_snapshot(s.clone());
            s.get_metadata().get_conf_state().clone()
        }
        None => {
            let cs = meta.conf_state.clone();
            store.mem.wl().set_conf_state(cs.clone());
            cs
        }
    };
    let bootstrap_len = bootstrap_len(&entries, &meta.conf_state);
    let applied = snap_index.max(bootstrap_len.min(hard_state.commit));
    store.mem.wl().append(&entries)?;
    store.mem.wl().set_hardstate(hard_state);
    Ok(Boot {
        wal,
        snaps,
        store,
        snapshot,
        applied,
        conf_state,
    })
}

/// The log a new cluster starts from, as etcd bootstraps it: one committed
/// AddNode conf change per initial voter at term 1. The first election then
/// happens at term 2 and raft indexes and terms read the same as etcd's,
/// which clients and tools display. A member joining an existing cluster
/// (no initial voters) starts empty and learns the log from the leader.
fn bootstrap_log(voters: &[u64]) -> Result<(Vec<Entry>, HardState), Error> {
    let mut entries = Vec::with_capacity(voters.len());
    for (index, id) in (1u64..).zip(voters) {
        let mut change = ConfChange::default();
        change.set_change_type(ConfChangeType::AddNode);
        change.node_id = *id;
        let mut entry = Entry::default();
        entry.set_entry_type(EntryType::EntryConfChange);
        entry.term = 1;
        entry.index = index;
        let mut data = Vec::new();
        crate::payload::put_message(&mut data, &change, "bootstrap conf change")?;
        entry.data = data.into();
        entries.push(entry);
    }
    let mut hard_state = HardState::default();
    if !entries.is_empty() {
        hard_state.term = 1;
        hard_state.commit = u64::try_from(entries.len()).unwrap_or(u64::MAX);
    }
    Ok((entries, hard_state))
}

/// How many leading entries of a replayed log are the bootstrap conf changes
/// [`bootstrap_log`] wrote: term-1 conf changes at indexes 1..=n for the n
/// initial members recorded in the WAL metadata.
fn bootstrap_len(entries: &[Entry], initial: &ConfState) -> u64 {
    let n = initial.voters.len() + initial.learners.len();
    let leading = entries
        .iter()
        .zip(1u64..)
        .take(n)
        .take_while(|(e, index)| {
            e.index == *index && e.term == 1 && e.get_entry_type() == EntryType::EntryConfChange
        })
        .count();
    u64::try_from(leading).unwrap_or(0)
}
