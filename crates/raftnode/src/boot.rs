//! Bringing a member's durable state back into memory: the newest snapshot,
//! then the WAL replayed on top of it into MemStorage. Anything that does not
//! line up (a WAL naming a snapshot that is missing, a log starting after the
//! snapshot ends, a commit index past the log) refuses the start.

use raft::eraftpb::{ConfState, Snapshot};

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
        let wal = Wal::create(&wal_dir, metadata, cfg.wal_segment_size)?;
        let store = LogStore::default();
        store.mem.wl().set_conf_state(conf_state.clone());
        return Ok(Boot {
            wal,
            snaps,
            store,
            snapshot: None,
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
    store.mem.wl().append(&entries)?;
    store.mem.wl().set_hardstate(hard_state);
    Ok(Boot {
        wal,
        snaps,
        store,
        snapshot,
        conf_state,
    })
}
