//! [`GCounter`]: the grow-only counter.
//!
//! ```
//! use crdt_core::{GCounter, Lattice, ReplicaId};
//!
//! let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut at_a = GCounter::new();
//! let mut at_b = GCounter::new();
//! at_a.increment(a, 3);
//! let delta = at_b.increment(b, 4);
//! at_a.join(&delta);
//! assert_eq!(at_a.value(), 7);
//! ```
//!
//! Semantics: each replica counts its own increments; join keeps each replica's maximum, so an
//! increment is never lost or counted twice. The value is the sum. What grows: one entry per
//! replica that ever incremented. A delta is the incrementing replica's new total. Counts
//! saturate at 2^62 per replica (`Dot::MAX_COUNTER`, the largest count the encoding carries);
//! the value is a `u128` and cannot overflow.

use serde::{Deserialize, Deserializer, Serialize};

use crate::causal::replica_id::ReplicaId;
use crate::causal::version_vector::VersionVector;
use crate::codec::Codec;
use crate::codec::decode_error::DecodeError;
use crate::codec::raw::{FromRaw, deserialize_via_raw};
use crate::codec::type_tag;
use crate::lattice::{DeltaSince, Lattice};

/// A grow-only counter: per-replica maxima, value = their sum.
#[derive(Clone, PartialEq, Eq, Hash, Default, Debug, Serialize)]
#[serde(transparent)]
pub struct GCounter {
    /// Per-replica counts, which join exactly as a version vector's entries do.
    counts: VersionVector,
}

impl GCounter {
    /// The counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `by` to the count of `replica`; returns the delta.
    pub fn increment(&mut self, replica: ReplicaId, by: u64) -> Self {
        let total = self.counts.add(replica, by);
        Self {
            counts: VersionVector::single(replica, total),
        }
    }

    /// The sum of every replica's count.
    pub fn value(&self) -> u128 {
        self.counts.total()
    }

    /// The count of `replica`.
    pub fn count_of(&self, replica: &ReplicaId) -> u64 {
        self.counts.get(replica)
    }
}

impl Lattice for GCounter {
    fn join(&mut self, other: &Self) {
        self.counts.join(&other.counts);
    }
}

impl DeltaSince for GCounter {
    /// The per-replica counts.
    type Version = VersionVector;

    fn version(&self) -> VersionVector {
        self.counts.clone()
    }

    fn delta_since(&self, version: &VersionVector) -> Self {
        Self {
            counts: self
                .counts
                .iter()
                .filter(|(replica, count)| *count > version.get(replica))
                .collect(),
        }
    }
}

impl FromRaw for GCounter {
    type Raw = <VersionVector as FromRaw>::Raw;

    fn from_raw(raw: Self::Raw) -> Result<Self, DecodeError> {
        VersionVector::from_raw(raw).map(|counts| Self { counts })
    }
}

impl<'de> Deserialize<'de> for GCounter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_via_raw(deserializer)
    }
}

impl Codec for GCounter {
    const TYPE_TAG: u8 = type_tag::G_COUNTER;
    const FORMAT_VERSION: u8 = 1;
}
