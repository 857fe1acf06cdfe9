//! [`VersionVector`]: a vector clock, one counter per replica.
//!
//! ```
//! use crdt_core::{ReplicaId, VersionVector};
//!
//! let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut left = VersionVector::new();
//! let mut right = VersionVector::new();
//! left.increment(a).unwrap();
//! right.increment(b).unwrap();
//! assert!(left.concurrent_with(&right));
//!
//! right.join(&left);
//! assert!(left.happened_before(&right));
//! assert_eq!(left.partial_cmp(&right), Some(core::cmp::Ordering::Less));
//! ```
//!
//! Semantics: entry `r = n` means "has seen the first `n` events of replica `r`". `join` takes
//! the per-replica maximum (the join of the lattice, as [`Lattice`](crate::Lattice)), so it never loses an event. `partial_cmp`
//! is happens-before: `Less` if every entry is `<=` and one is `<`, `None` when concurrent.
//! Absent entries are zero; zero entries are never stored, so equal clocks are equal values and
//! encode to identical bytes. Stored as a sorted small vector: most clocks name few replicas.

use core::cmp::Ordering;

use alloc::vec::Vec;
use serde::{Deserialize, Deserializer, Serialize};
use smallvec::SmallVec;

use crate::causal::causality_error::CausalityError;
use crate::causal::dot::Dot;
use crate::causal::replica_id::ReplicaId;
use crate::codec::decode_error::DecodeError;
use crate::codec::raw::{FromRaw, deserialize_via_raw};

/// A vector clock: for each replica, how many of its events have been seen.
#[derive(Clone, PartialEq, Eq, Hash, Default, Debug)]
pub struct VersionVector {
    entries: SmallVec<[(ReplicaId, u64); 4]>,
}

impl VersionVector {
    /// The empty clock: nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many events of `replica` have been seen (0 if none).
    pub fn get(&self, replica: &ReplicaId) -> u64 {
        match self.position(replica) {
            Ok(index) => self.entries[index].1,
            Err(_) => 0,
        }
    }

    /// Records the next event of `replica` and returns its dot; an error, changing nothing,
    /// if `replica` is at [`Dot::MAX_COUNTER`].
    pub fn increment(&mut self, replica: ReplicaId) -> Result<Dot, CausalityError> {
        let counter = self.get(&replica) + 1;
        if counter > Dot::MAX_COUNTER {
            return Err(CausalityError::CountersExhausted { replica });
        }
        self.raise(replica, counter);
        Ok(Dot::new(replica, counter))
    }

    /// Raises the entry of `replica` to `counter` if it is lower. No event has a counter above
    /// [`Dot::MAX_COUNTER`], so a greater `counter` raises the entry to that: "seen all of
    /// them".
    pub fn raise(&mut self, replica: ReplicaId, counter: u64) {
        let counter = counter.min(Dot::MAX_COUNTER);
        if counter == 0 {
            return;
        }
        match self.position(&replica) {
            Ok(index) => {
                let entry = &mut self.entries[index].1;
                *entry = (*entry).max(counter);
            }
            Err(index) => self.entries.insert(index, (replica, counter)),
        }
    }

    /// Adds `by` to the entry of `replica`, saturating at [`Dot::MAX_COUNTER`] (the largest
    /// count the encoding carries: a count beyond it would encode to bytes no decoder accepts),
    /// and returns the new entry.
    pub(crate) fn add(&mut self, replica: ReplicaId, by: u64) -> u64 {
        match self.position(&replica) {
            Ok(index) => {
                let entry = &mut self.entries[index].1;
                *entry = (*entry).max(entry.saturating_add(by).min(Dot::MAX_COUNTER));
                *entry
            }
            Err(index) => {
                let by = by.min(Dot::MAX_COUNTER);
                if by > 0 {
                    self.entries.insert(index, (replica, by));
                }
                by
            }
        }
    }

    /// The clock with the single entry `replica = counter`.
    pub(crate) fn single(replica: ReplicaId, counter: u64) -> Self {
        let mut entries = SmallVec::new();
        if counter > 0 {
            entries.push((replica, counter));
        }
        Self { entries }
    }

    /// Whether the event `dot` has been seen.
    pub fn contains(&self, dot: &Dot) -> bool {
        dot.counter <= self.get(&dot.replica)
    }

    /// Joins `other` into this clock: the per-replica maximum.
    pub fn join(&mut self, other: &Self) {
        if self.entries.is_empty() {
            self.entries.clone_from(&other.entries);
            return;
        }
        for &(replica, counter) in &other.entries {
            self.raise(replica, counter);
        }
    }

    /// The causally stable version of a group of replicas (Baquero, Almeida and Shoker,
    /// "Making Operation-Based CRDTs Operation-Based", 2014): the entry-wise minimum of
    /// `seen`, which must hold one vector per replica of the group, this one included. For
    /// each other replica, pass the vector it reported with the last events this replica took
    /// from it (so this replica holds everything that vector covers, and whatever that replica
    /// sends next comes after it). Every replica has then seen every event the result covers,
    /// and every event still to arrive comes after it: what [`Rga::compact`](crate::Rga::compact)
    /// needs. A replica missing from `seen` makes the result wrong; an empty `seen` gives the
    /// empty vector (nothing is stable).
    ///
    /// ```
    /// use crdt_core::{Lattice, ReplicaId, Text, VersionVector};
    ///
    /// let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut at_alice = Text::new();
    /// at_alice.insert(alice, 0, "milk, eggs").unwrap();
    /// at_alice.delete(alice, 4, 6).unwrap();
    /// let mut at_bob = at_alice.clone(); // Bob has everything Alice has
    /// let late = at_bob.insert(bob, 4, "!").unwrap(); // and Alice has not seen this yet
    ///
    /// // Alice knows her own vector and the one Bob reported with his last delta to her.
    /// let bob_reported = at_alice.context().version_vector();
    /// let stable = VersionVector::causally_stable([
    ///     &at_alice.context().version_vector(),
    ///     &bob_reported,
    /// ]);
    /// // The deleted ", eggs" is forgotten but for its comma, which an insert after "milk"
    /// // (like Bob's) names as the element it went before.
    /// assert_eq!(at_alice.compact(&stable), 5);
    /// assert_eq!(at_alice.to_string(), "milk");
    /// at_alice.join(&late);
    /// assert_eq!(at_alice.to_string(), "milk!");
    /// ```
    pub fn causally_stable<'a>(seen: impl IntoIterator<Item = &'a VersionVector>) -> Self {
        let mut seen = seen.into_iter();
        let Some(first) = seen.next() else {
            return Self::new();
        };
        let mut stable = first.clone();
        for other in seen {
            stable.entries.retain(|(replica, counter)| {
                *counter = (*counter).min(other.get(replica));
                *counter > 0
            });
        }
        stable
    }

    /// `self` happened before `other`: everything `self` saw, `other` saw too, and more.
    pub fn happened_before(&self, other: &Self) -> bool {
        self.partial_cmp(other) == Some(Ordering::Less)
    }

    /// Neither clock happened before the other, and they differ.
    pub fn concurrent_with(&self, other: &Self) -> bool {
        self.partial_cmp(other).is_none()
    }

    /// The `(replica, counter)` entries, ordered by replica, without zeros.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (ReplicaId, u64)> + '_ {
        self.entries.iter().copied()
    }

    /// The number of replicas with a non-zero entry.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing has been seen.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The sum of all entries: the number of events seen, as a u128 so it cannot overflow.
    pub fn total(&self) -> u128 {
        self.entries.iter().map(|&(_, n)| u128::from(n)).sum()
    }

    fn position(&self, replica: &ReplicaId) -> Result<usize, usize> {
        self.entries.binary_search_by(|(r, _)| r.cmp(replica))
    }
}

impl PartialOrd for VersionVector {
    /// Happens-before. `None` means concurrent.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let mut less = false;
        let mut greater = false;
        let (mut mine, mut theirs) = (
            self.entries.iter().peekable(),
            other.entries.iter().peekable(),
        );
        loop {
            let ordering = match (mine.peek(), theirs.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (Some((r1, n1)), Some((r2, n2))) => match r1.cmp(r2) {
                    Ordering::Less => Ordering::Greater,
                    Ordering::Greater => Ordering::Less,
                    Ordering::Equal => {
                        let ordering = n1.cmp(n2);
                        mine.next();
                        theirs.next();
                        match ordering {
                            Ordering::Less => less = true,
                            Ordering::Greater => greater = true,
                            Ordering::Equal => {}
                        }
                        continue;
                    }
                },
            };
            if ordering == Ordering::Greater {
                greater = true;
                mine.next();
            } else {
                less = true;
                theirs.next();
            }
        }
        match (less, greater) {
            (false, false) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Less),
            (false, true) => Some(Ordering::Greater),
            (true, true) => None,
        }
    }
}

impl FromIterator<(ReplicaId, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (ReplicaId, u64)>>(iter: I) -> Self {
        let mut clock = Self::new();
        for (replica, counter) in iter {
            clock.raise(replica, counter);
        }
        clock
    }
}

impl Serialize for VersionVector {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.entries.iter())
    }
}

impl FromRaw for VersionVector {
    type Raw = Vec<(ReplicaId, u64)>;

    fn from_raw(raw: Self::Raw) -> Result<Self, DecodeError> {
        if !raw.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            return Err(DecodeError::invalid(
                "version vector entries not sorted by replica",
            ));
        }
        if raw.iter().any(|&(_, n)| n == 0 || n > Dot::MAX_COUNTER) {
            return Err(DecodeError::invalid(
                "version vector counter zero or out of range",
            ));
        }
        Ok(Self {
            entries: SmallVec::from_vec(raw),
        })
    }
}

impl<'de> Deserialize<'de> for VersionVector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_via_raw(deserializer)
    }
}

impl crate::codec::Codec for VersionVector {
    const TYPE_TAG: u8 = crate::codec::type_tag::VERSION_VECTOR;
    const FORMAT_VERSION: u8 = 1;
}
