//! [`DeltaLog`]: a replica's numbered deltas, kept until every peer has acknowledged them.
//!
//! ```
//! use crdt_core::{GCounter, ReplicaId};
//! use crdt_sync::delta_log::DeltaLog;
//! use crdt_sync::object_id::ObjectId;
//!
//! let alice = ReplicaId::from_u128(1);
//! let mut log = DeltaLog::new();
//! let hits = ObjectId::new("hits").unwrap();
//! let first = log.append(hits.clone(), GCounter::new().increment(alice, 1).into(), None, 8);
//! let second = log.append(hits, GCounter::new().increment(alice, 2).into(), None, 8);
//! assert_eq!((first, second, log.head()), (1, 2, 2));
//! log.truncate_through(1); // every peer has acknowledged delta 1
//! assert_eq!(log.base(), 1);
//! assert_eq!(log.since(1).map(|entry| entry.seq).collect::<Vec<_>>(), [2]);
//! ```
//!
//! Sequence numbers start at 1 and never repeat: `base` is the last number dropped, `head` the last
//! appended, and the log holds exactly `base + 1 ..= head`. A peer that has acknowledged less
//! than `base` cannot be served from the log and is repaired by anti-entropy instead.

use std::collections::VecDeque;

use crdt_core::ReplicaId;

use crate::object::Object;
use crate::object_id::ObjectId;

/// One logged delta.
#[derive(Clone, Debug)]
pub struct LogEntry {
    /// Its sequence number in this replica's log.
    pub seq: u64,
    /// The object it changes.
    pub id: ObjectId,
    /// The delta.
    pub delta: Object,
    /// The peer it came from, which need not be sent it back (`None` for local edits).
    pub origin: Option<ReplicaId>,
    /// Its encoded size in bytes, to cut intervals to frame size without re-encoding.
    pub size: usize,
}

/// The numbered deltas of one replica.
#[derive(Clone, Debug, Default)]
pub struct DeltaLog {
    base: u64,
    entries: VecDeque<LogEntry>,
}

impl DeltaLog {
    /// An empty log starting at sequence number 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// A log whose deltas up to `base` were dropped before it was reloaded.
    pub fn starting_after(base: u64) -> Self {
        Self {
            base,
            entries: VecDeque::new(),
        }
    }

    /// Appends a delta and returns its sequence number.
    pub fn append(
        &mut self,
        id: ObjectId,
        delta: Object,
        origin: Option<ReplicaId>,
        size: usize,
    ) -> u64 {
        let seq = self.head() + 1;
        self.entries.push_back(LogEntry {
            seq,
            id,
            delta,
            origin,
            size,
        });
        seq
    }

    /// The last sequence number dropped (0 if none).
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The last sequence number appended (`base` if the log is empty).
    pub fn head(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// How many deltas are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no delta is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The deltas after `seq`, oldest first (from `base + 1` if `seq` was dropped).
    pub fn since(&self, seq: u64) -> impl Iterator<Item = &LogEntry> + '_ {
        let skip = seq.saturating_sub(self.base).min(self.entries.len() as u64);
        self.entries.range(skip as usize..)
    }

    /// Drops the deltas up to and including `seq`.
    pub fn truncate_through(&mut self, seq: u64) {
        let seq = seq.min(self.head());
        while self.base < seq {
            self.entries.pop_front();
            self.base += 1;
        }
        // A burst can leave a large buffer behind; give most of it back once the log drains.
        if self.entries.capacity() > 1024 && self.entries.capacity() > 4 * self.entries.len() {
            self.entries.shrink_to(2 * self.entries.len());
        }
    }
}
