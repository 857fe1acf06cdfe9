//! [`DeleteLog`]: every delete operation of a sequence, by its dot, run-length encoded.
//!
//! A delete operation is an event with its own dot that removes one contiguous run of one
//! replica's elements. Keeping the operations (not only the deleted elements) is what lets a
//! replica tell a peer exactly which deletes it lacks, from the peer's causal context alone.
//! Backspacing or forward-deleting character by character makes a run of operations with
//! consecutive dots deleting consecutive elements; such runs are stored as one entry.

use alloc::collections::BTreeMap;

use alloc::vec::Vec;
use smallvec::SmallVec;

use crate::causal::causal_context::CausalContext;
use crate::causal::dot::Dot;
use crate::causal::version_vector::VersionVector;

/// Operations `key.counter .. key.counter + ops` of one replica. If `ops == 1` it deleted
/// `len` elements from `target`; otherwise each deleted one element, the i-th deleting
/// `target ± i` (`-` if `backward`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct DeleteRun {
    pub(crate) ops: u64,
    pub(crate) target: Dot,
    pub(crate) len: u64,
    pub(crate) backward: bool,
}

impl DeleteRun {
    /// One operation deleting `len` elements from `target`.
    pub(crate) fn single(target: Dot, len: u64) -> Self {
        Self {
            ops: 1,
            target,
            len,
            backward: false,
        }
    }

    /// The element range deleted by operation `i` of the run: `(first, last)` counters.
    pub(crate) fn deleted_by(&self, i: u64) -> (u64, u64) {
        if self.ops == 1 {
            (self.target.counter, self.target.counter + self.len - 1)
        } else {
            let counter = if self.backward {
                self.target.counter - i
            } else {
                self.target.counter + i
            };
            (counter, counter)
        }
    }

    /// The first and last counter of all the elements the run deleted (one replica's
    /// contiguous range).
    pub(crate) fn targets(&self) -> (u64, u64) {
        let (a, _) = self.deleted_by(0);
        let (b, end) = self.deleted_by(self.ops - 1);
        (a.min(b), end.max(a))
    }

    /// Operations `from..=to` of the run, as a run of their own.
    pub(crate) fn slice(&self, from: u64, to: u64) -> Self {
        if self.ops == 1 {
            return *self;
        }
        let (first, _) = self.deleted_by(from);
        Self {
            ops: to - from + 1,
            target: Dot::new(self.target.replica, first),
            len: 1,
            backward: self.backward,
        }
    }

    /// The last element deleted, for runs of single deletes.
    fn last_target(&self) -> u64 {
        self.deleted_by(self.ops - 1).0
    }

    /// `self` (at `key`) followed by `next` (at `next_key`) as one run, if they form one.
    fn merged(&self, key: Dot, next: &Self, next_key: Dot) -> Option<Self> {
        if key.replica != next_key.replica
            || key.counter + self.ops != next_key.counter
            || self.len != 1
            || next.len != 1
            || self.target.replica != next.target.replica
        {
            return None;
        }
        let (last, first) = (self.last_target(), next.target.counter);
        let backward = if first == last + 1 {
            false
        } else if last == first + 1 {
            true
        } else {
            return None;
        };
        let consistent = |run: &Self| run.ops == 1 || run.backward == backward;
        (consistent(self) && consistent(next)).then_some(Self {
            ops: self.ops + next.ops,
            target: self.target,
            len: 1,
            backward,
        })
    }
}

/// Every delete operation, keyed by the dot of the first operation of each run. Runs are
/// always maximal, so equal sets of operations are equal logs.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub(crate) struct DeleteLog {
    runs: BTreeMap<Dot, DeleteRun>,
}

impl DeleteLog {
    /// The runs, by first dot.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Dot, DeleteRun)> + '_ {
        self.runs.iter().map(|(key, run)| (*key, *run))
    }

    /// Removes and returns the runs all of whose operations `stable` has seen.
    pub(crate) fn take_stable(&mut self, stable: &VersionVector) -> Vec<(Dot, DeleteRun)> {
        let taken: Vec<(Dot, DeleteRun)> = self
            .runs
            .iter()
            .filter(|(key, run)| key.counter + run.ops - 1 <= stable.get(&key.replica))
            .map(|(key, run)| (*key, *run))
            .collect();
        for (key, _) in &taken {
            self.runs.remove(key);
        }
        taken
    }

    /// The number of runs.
    pub(crate) fn len(&self) -> usize {
        self.runs.len()
    }

    /// Adds a run of operations none of which is here yet, merging it with its neighbours.
    pub(crate) fn insert(&mut self, mut key: Dot, mut run: DeleteRun) {
        // The common case: the newest operation of the replica that wrote the last run.
        if let Some(mut last) = self.runs.last_entry()
            && *last.key() < key
        {
            if let Some(merged) = last.get().merged(*last.key(), &run, key) {
                *last.get_mut() = merged;
            } else {
                self.runs.insert(key, run);
            }
            return;
        }
        let before = self.runs.range(..key).next_back().map(|(k, r)| (*k, *r));
        if let Some((previous_key, previous)) = before
            && let Some(merged) = previous.merged(previous_key, &run, key)
        {
            self.runs.remove(&previous_key);
            (key, run) = (previous_key, merged);
        }
        let after = self.runs.range(key..).next().map(|(k, r)| (*k, *r));
        if let Some((next_key, next)) = after
            && let Some(merged) = run.merged(key, &next, next_key)
        {
            self.runs.remove(&next_key);
            run = merged;
        }
        self.runs.insert(key, run);
    }

    /// The parts of the runs whose dots `context` has not seen (all of them if `None`), each
    /// with the elements it deleted.
    pub(crate) fn unseen_by<'a>(
        &'a self,
        context: Option<&'a CausalContext>,
    ) -> impl Iterator<Item = (Dot, DeleteRun)> + 'a {
        self.runs.iter().flat_map(move |(key, run)| {
            let last = key.counter + run.ops - 1;
            let parts: SmallVec<[(u64, u64, bool); 2]> = match context {
                Some(context) => context.partition(&key.replica, key.counter, last),
                None => SmallVec::from_slice(&[(key.counter, last, false)]),
            };
            parts
                .into_iter()
                .filter(|&(_, _, seen)| !seen)
                .map(move |(from, to, _)| {
                    (
                        Dot::new(key.replica, from),
                        run.slice(from - key.counter, to - key.counter),
                    )
                })
        })
    }
}
