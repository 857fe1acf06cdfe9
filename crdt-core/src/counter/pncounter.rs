//! [`PNCounter`]: a counter that goes up and down.
//!
//! ```
//! use crdt_core::{Lattice, PNCounter, ReplicaId};
//!
//! let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut at_a = PNCounter::new();
//! let mut at_b = PNCounter::new();
//! at_a.increment(a, 5);
//! at_b.decrement(b, 7);
//! at_a.join(&at_b);
//! assert_eq!(at_a.value(), -2);
//! ```
//!
//! Semantics: two [`GCounter`]s, one of increments and one of decrements; the value is their
//! difference. Concurrent increments and decrements all count; none is lost or doubled. What
//! grows: up to two entries per replica that ever changed the counter.

use serde::{Deserialize, Deserializer, Serialize};

use crate::causal::replica_id::ReplicaId;
use crate::causal::version_vector::VersionVector;
use crate::codec::Codec;
use crate::codec::decode_error::DecodeError;
use crate::codec::raw::{FromRaw, deserialize_via_raw};
use crate::codec::type_tag;
use crate::counter::gcounter::GCounter;
use crate::lattice::{DeltaSince, Lattice};

/// A counter with increments and decrements: two grow-only counters.
#[derive(Clone, PartialEq, Eq, Hash, Default, Debug, Serialize)]
pub struct PNCounter {
    increments: GCounter,
    decrements: GCounter,
}

impl PNCounter {
    /// The counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `by`; returns the delta.
    pub fn increment(&mut self, replica: ReplicaId, by: u64) -> Self {
        Self {
            increments: self.increments.increment(replica, by),
            decrements: GCounter::new(),
        }
    }

    /// Subtracts `by`; returns the delta.
    pub fn decrement(&mut self, replica: ReplicaId, by: u64) -> Self {
        Self {
            increments: GCounter::new(),
            decrements: self.decrements.increment(replica, by),
        }
    }

    /// Increments minus decrements.
    pub fn value(&self) -> i128 {
        // Each sum is below 2^64 * (number of replicas), far inside i128 for any real replica
        // count; saturate rather than wrap if a peer claims otherwise.
        let up = i128::try_from(self.increments.value()).unwrap_or(i128::MAX);
        let down = i128::try_from(self.decrements.value()).unwrap_or(i128::MAX);
        up.saturating_sub(down)
    }
}

impl Lattice for PNCounter {
    fn join(&mut self, other: &Self) {
        self.increments.join(&other.increments);
        self.decrements.join(&other.decrements);
    }
}

impl DeltaSince for PNCounter {
    /// The per-replica counts of increments and of decrements.
    type Version = (VersionVector, VersionVector);

    fn version(&self) -> Self::Version {
        (self.increments.version(), self.decrements.version())
    }

    fn delta_since(&self, (increments, decrements): &Self::Version) -> Self {
        Self {
            increments: self.increments.delta_since(increments),
            decrements: self.decrements.delta_since(decrements),
        }
    }
}

impl FromRaw for PNCounter {
    type Raw = (<GCounter as FromRaw>::Raw, <GCounter as FromRaw>::Raw);

    fn from_raw((increments, decrements): Self::Raw) -> Result<Self, DecodeError> {
        Ok(Self {
            increments: GCounter::from_raw(increments)?,
            decrements: GCounter::from_raw(decrements)?,
        })
    }
}

impl<'de> Deserialize<'de> for PNCounter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_via_raw(deserializer)
    }
}

impl Codec for PNCounter {
    const TYPE_TAG: u8 = type_tag::PN_COUNTER;
    const FORMAT_VERSION: u8 = 1;
}
