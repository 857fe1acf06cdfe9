//! [`CausalContext`]: every event a replica has seen, as a compact version vector plus a dot
//! cloud of events seen out of order.
//!
//! ```
//! use crdt_core::{CausalContext, Dot, ReplicaId};
//!
//! let a = ReplicaId::from_u128(1);
//! let mut seen = CausalContext::new();
//! seen.insert(Dot::new(a, 1));
//! seen.insert(Dot::new(a, 3)); // out of order: kept in the dot cloud
//! assert_eq!(seen.version_vector().get(&a), 1);
//! assert_eq!(seen.cloud().collect::<Vec<_>>(), [Dot::new(a, 3)]);
//!
//! seen.insert(Dot::new(a, 2)); // the gap fills: the cloud compacts into the version vector
//! assert_eq!(seen.version_vector().get(&a), 3);
//! assert_eq!(seen.cloud().count(), 0);
//! assert_eq!(seen.next_dot(a), Ok(Dot::new(a, 4)));
//! ```
//!
//! Semantics: a grow-only set of dots; `join` is the union. Delta-CRDTs need it to tell "never
//! seen" (not in the context: an add still to come) from "seen and removed" (in the context but
//! not in the store), which is what lets them forget removed elements without tombstones.
//! The context is kept compact on every insertion: per replica it stores inclusive counter
//! ranges, the first of which (when it starts at 1) is the version-vector entry, and ranges
//! merge as soon as they touch. So it grows with the number of gaps, not of events, and equal
//! contexts are equal values with identical encodings.

use alloc::vec::Vec;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;

use crate::causal::causality_error::CausalityError;
use crate::causal::counter_ranges::CounterRanges;
use crate::causal::dot::Dot;
use crate::causal::replica_id::ReplicaId;
use crate::causal::version_vector::VersionVector;
use crate::codec::decode_error::DecodeError;
use crate::codec::raw::{FromRaw, deserialize_via_raw};

/// The set of events seen: a compact version vector plus a cloud of out-of-order dots.
#[derive(Clone, PartialEq, Eq, Hash, Default, Debug)]
pub struct CausalContext {
    /// Sorted by replica; no empty ranges.
    entries: SmallVec<[(ReplicaId, CounterRanges); 2]>,
}

impl CausalContext {
    /// The empty context: nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `dot` has been seen.
    pub fn contains(&self, dot: &Dot) -> bool {
        self.ranges(&dot.replica)
            .is_some_and(|ranges| ranges.contains(dot.counter))
    }

    /// Records `dot` as seen. A dot whose counter is outside `1..=Dot::MAX_COUNTER` names no
    /// event (no replica can make it, no decoder accepts it), so there is nothing to record.
    pub fn insert(&mut self, dot: Dot) {
        if (1..=Dot::MAX_COUNTER).contains(&dot.counter) {
            self.insert_range(dot.replica, dot.counter, dot.counter);
        }
    }

    /// The next dot `replica` should use: one past the highest counter of it seen; an error
    /// if that would pass [`Dot::MAX_COUNTER`].
    pub fn next_dot(&self, replica: ReplicaId) -> Result<Dot, CausalityError> {
        self.next_dots_within(replica, 1, Dot::MAX_COUNTER)
    }

    /// The first of the next `count` dots of `replica` (`count >= 1`), if the last of them
    /// stays within `limit`.
    pub(crate) fn next_dots_within(
        &self,
        replica: ReplicaId,
        count: u64,
        limit: u64,
    ) -> Result<Dot, CausalityError> {
        let max = self.ranges(&replica).map_or(0, CounterRanges::max);
        match max.checked_add(count) {
            Some(last) if last <= limit => Ok(Dot::new(replica, max + 1)),
            _ => Err(CausalityError::CountersExhausted { replica }),
        }
    }

    /// Joins `other` into this context: the union of the events seen (the join of the
    /// lattice, as [`Lattice`](crate::Lattice)).
    pub fn join(&mut self, other: &Self) {
        if self.entries.is_empty() {
            self.entries.clone_from(&other.entries);
            return;
        }
        for (replica, ranges) in &other.entries {
            match self.position(replica) {
                Ok(index) => self.entries[index].1.union(ranges),
                Err(index) => self.entries.insert(index, (*replica, ranges.clone())),
            }
        }
    }

    /// Whether every event of `other` has been seen here.
    pub fn includes(&self, other: &Self) -> bool {
        other.entries.iter().all(|(replica, ranges)| {
            self.ranges(replica).is_some_and(|mine| {
                ranges
                    .iter()
                    .all(|(start, end)| mine.iter().any(|(s, e)| s <= start && end <= e))
            })
        })
    }

    /// The compact part: for each replica, `n` such that events `1..=n` were all seen.
    pub fn version_vector(&self) -> VersionVector {
        self.entries
            .iter()
            .map(|(replica, ranges)| (*replica, ranges.contiguous_prefix()))
            .collect()
    }

    /// The dot cloud: the dots seen beyond the version vector, ascending.
    pub fn cloud(&self) -> impl Iterator<Item = Dot> + '_ {
        self.entries.iter().flat_map(|(replica, ranges)| {
            let prefix = ranges.contiguous_prefix();
            ranges
                .iter()
                .flat_map(|(start, end)| start..=end)
                .filter(move |&counter| counter > prefix)
                .map(|counter| Dot::new(*replica, counter))
        })
    }

    /// Whether nothing has been seen.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The replicas with at least one event seen, ascending.
    pub fn replicas(&self) -> impl ExactSizeIterator<Item = ReplicaId> + '_ {
        self.entries.iter().map(|(replica, _)| *replica)
    }

    /// The position of `replica` among [`Self::replicas`]: the index that stands for it in
    /// encodings of a store under this context.
    pub(crate) fn replica_index(&self, replica: &ReplicaId) -> Option<usize> {
        self.position(replica).ok()
    }

    /// The replica at `index` among [`Self::replicas`].
    pub(crate) fn replica_at(&self, index: usize) -> Option<ReplicaId> {
        self.entries.get(index).map(|(replica, _)| *replica)
    }

    /// The dots both contexts have seen, as `(replica, start, end)` inclusive ranges.
    pub(crate) fn overlap(&self, other: &Self) -> Vec<(ReplicaId, u64, u64)> {
        let mut overlap = Vec::new();
        for (replica, mine) in &self.entries {
            let Some(theirs) = other.ranges(replica) else {
                continue;
            };
            let (mut mine, mut theirs) = (mine.iter().peekable(), theirs.iter().peekable());
            while let (Some(&(s1, e1)), Some(&(s2, e2))) = (mine.peek(), theirs.peek()) {
                let (start, end) = (s1.max(s2), e1.min(e2));
                if start <= end {
                    overlap.push((*replica, start, end));
                }
                if e1 < e2 {
                    mine.next();
                } else {
                    theirs.next();
                }
            }
        }
        overlap
    }

    /// The number of dots seen.
    pub(crate) fn dot_count(&self) -> u128 {
        self.entries
            .iter()
            .flat_map(|(_, ranges)| ranges.iter())
            .map(|(start, end)| u128::from(end - start + 1))
            .sum()
    }

    /// Splits `start..=end` of `replica` into consecutive parts, each marked with whether this
    /// context has seen it.
    pub(crate) fn partition(
        &self,
        replica: &ReplicaId,
        start: u64,
        end: u64,
    ) -> SmallVec<[(u64, u64, bool); 2]> {
        let mut parts = SmallVec::new();
        let mut from = start;
        if let Some(ranges) = self.ranges(replica) {
            for (s, e) in ranges.iter() {
                if e < from {
                    continue;
                }
                if s > end {
                    break;
                }
                if s > from {
                    parts.push((from, s - 1, false));
                }
                let covered_end = e.min(end);
                parts.push((from.max(s), covered_end, true));
                from = covered_end + 1;
                if from > end {
                    return parts;
                }
            }
        }
        parts.push((from, end, false));
        parts
    }

    /// The dots this context has seen and `other` has not.
    pub(crate) fn difference(&self, other: &Self) -> Self {
        let mut difference = Self::new();
        for (replica, ranges) in &self.entries {
            for (start, end) in ranges.iter() {
                for (from, to, seen) in other.partition(replica, start, end) {
                    if !seen {
                        difference.insert_range(*replica, from, to);
                    }
                }
            }
        }
        difference
    }

    /// Records every counter in `start..=end` of `replica` as seen.
    pub(crate) fn insert_range(&mut self, replica: ReplicaId, start: u64, end: u64) {
        match self.position(&replica) {
            Ok(index) => self.entries[index].1.insert(start, end),
            Err(index) => {
                let mut ranges = CounterRanges::default();
                ranges.insert(start, end);
                self.entries.insert(index, (replica, ranges));
            }
        }
    }

    /// Forgets the given dots, which must be ascending. Not a lattice operation: it serves to
    /// build deltas that must not claim to have seen dots they do not carry.
    pub(crate) fn remove_sorted(&mut self, dots: impl IntoIterator<Item = Dot>) {
        let mut dots = dots.into_iter().peekable();
        for (replica, ranges) in self.entries.iter_mut() {
            while dots.next_if(|dot| dot.replica < *replica).is_some() {}
            let counters = core::iter::from_fn(|| {
                dots.next_if(|dot| dot.replica == *replica)
                    .map(|dot| dot.counter)
            });
            ranges.remove_sorted(counters);
        }
        self.entries.retain(|(_, ranges)| !ranges.is_empty());
    }

    fn ranges(&self, replica: &ReplicaId) -> Option<&CounterRanges> {
        self.position(replica)
            .ok()
            .map(|index| &self.entries[index].1)
    }

    fn position(&self, replica: &ReplicaId) -> Result<usize, usize> {
        self.entries.binary_search_by(|(r, _)| r.cmp(replica))
    }
}

impl From<&VersionVector> for CausalContext {
    fn from(clock: &VersionVector) -> Self {
        let mut context = Self::new();
        for (replica, counter) in clock.iter() {
            context.insert_range(replica, 1, counter);
        }
        context
    }
}

/// Skips dots that name no event, as [`CausalContext::insert`] does.
impl FromIterator<Dot> for CausalContext {
    fn from_iter<I: IntoIterator<Item = Dot>>(iter: I) -> Self {
        let mut context = Self::new();
        for dot in iter {
            context.insert(dot);
        }
        context
    }
}

/// Skips dots that name no event, as [`CausalContext::insert`] does.
impl Extend<Dot> for CausalContext {
    fn extend<I: IntoIterator<Item = Dot>>(&mut self, iter: I) {
        for dot in iter {
            self.insert(dot);
        }
    }
}

/// Encoded as `[(replica, [(start, end), …]), …]`: sorted, so equal contexts give equal bytes.
impl Serialize for CausalContext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Ranges<'a>(&'a CounterRanges);
        impl Serialize for Ranges<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter())
            }
        }
        let mut seq = serializer.serialize_seq(Some(self.entries.len()))?;
        for (replica, ranges) in &self.entries {
            seq.serialize_element(&(replica, Ranges(ranges)))?;
        }
        seq.end()
    }
}

impl FromRaw for CausalContext {
    type Raw = Vec<(ReplicaId, Vec<(u64, u64)>)>;

    fn from_raw(raw: Self::Raw) -> Result<Self, DecodeError> {
        if !raw.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            return Err(DecodeError::invalid("causal context replicas not sorted"));
        }
        let mut entries = SmallVec::with_capacity(raw.len());
        for (replica, ranges) in raw {
            if ranges.is_empty() || !CounterRanges::validate(&ranges, Dot::MAX_COUNTER) {
                return Err(DecodeError::invalid(
                    "causal context ranges empty, unsorted, overlapping or out of range",
                ));
            }
            entries.push((replica, CounterRanges::from_valid(ranges)));
        }
        Ok(Self { entries })
    }
}

impl<'de> Deserialize<'de> for CausalContext {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_via_raw(deserializer)
    }
}

impl crate::codec::Codec for CausalContext {
    const TYPE_TAG: u8 = crate::codec::type_tag::CAUSAL_CONTEXT;
    const FORMAT_VERSION: u8 = 1;
}
