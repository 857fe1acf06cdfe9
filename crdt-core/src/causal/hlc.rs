//! Hybrid logical clocks: [`Timestamp`]s that follow physical time when clocks agree, and stay
//! causal when they do not.
//!
//! ```
//! use crdt_core::{HybridClock, ReplicaId};
//!
//! let mut clock = HybridClock::new(ReplicaId::from_u128(1));
//! let first = clock.tick(&mut || 1_000)?;
//! let second = clock.tick(&mut || 1_000)?; // same millisecond: the logical part counts
//! assert!(first < second);
//!
//! // A peer whose clock runs ahead: after observing its stamp, ours stay above it.
//! let mut peer = HybridClock::new(ReplicaId::from_u128(2));
//! let ahead = peer.tick(&mut || 9_000)?;
//! clock.observe(&ahead);
//! assert!(clock.tick(&mut || 1_001)? > ahead);
//! # Ok::<(), crdt_core::CausalityError>(())
//! ```
//!
//! A timestamp is `(milliseconds, logical counter, replica)`, ordered in that order. Two
//! timestamps from different replicas always differ, and one replica never issues the same
//! timestamp twice, so last-writer-wins has no ties. The crate reads no clock: the caller
//! passes physical time through a [`Clock`].
//!
//! The guarantee (Kulkarni et al., "Logical Physical Clocks", 2014): every timestamp a clock
//! issues is greater than every timestamp it issued or observed before. When the logical part
//! overflows, the millisecond part moves on by one. The range ends at `(u64::MAX ms,
//! u32::MAX)`: a clock that reaches it, by a physical time or an observed stamp that high,
//! returns [`CausalityError::ClockExhausted`] from then on rather than go backwards.

use serde::{Deserialize, Serialize};

use crate::causal::causality_error::CausalityError;
use crate::causal::replica_id::ReplicaId;

/// A source of physical time in milliseconds, supplied by the caller (any `FnMut() -> u64`
/// is one). It need not be monotonic or synchronized with other replicas.
pub trait Clock {
    /// Physical time now, in milliseconds since an epoch shared by the replicas.
    fn now_millis(&mut self) -> u64;
}

impl<F: FnMut() -> u64> Clock for F {
    fn now_millis(&mut self) -> u64 {
        self()
    }
}

/// A hybrid logical timestamp, unique per replica and event.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Timestamp {
    /// Physical part: the highest physical time seen, in milliseconds.
    pub millis: u64,
    /// Logical part: counts events within one millisecond.
    pub logical: u32,
    /// The replica that issued the timestamp: breaks every remaining tie.
    pub replica: ReplicaId,
}

/// The hybrid logical clock of one replica.
#[derive(Clone, Debug)]
pub struct HybridClock {
    replica: ReplicaId,
    millis: u64,
    logical: u32,
}

impl HybridClock {
    /// A clock for `replica` that has seen nothing yet.
    pub fn new(replica: ReplicaId) -> Self {
        Self {
            replica,
            millis: 0,
            logical: 0,
        }
    }

    /// The replica this clock stamps for.
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// A new timestamp, greater than every timestamp this clock issued or observed.
    ///
    /// Refused with [`CausalityError::ClockExhausted`], changing nothing, once the clock
    /// stands at `(u64::MAX ms, u32::MAX)`: there is no greater timestamp to issue.
    pub fn tick(&mut self, physical: &mut impl Clock) -> Result<Timestamp, CausalityError> {
        let now = physical.now_millis();
        let (millis, logical) = if now > self.millis {
            (now, 0)
        } else if let Some(logical) = self.logical.checked_add(1) {
            (self.millis, logical)
        } else if let Some(millis) = self.millis.checked_add(1) {
            // The logical part is spent: borrowing the next millisecond keeps the order, and
            // physical time catching up later simply continues from there.
            (millis, 0)
        } else {
            return Err(CausalityError::ClockExhausted {
                replica: self.replica,
            });
        };
        self.millis = millis;
        self.logical = logical;
        Ok(Timestamp {
            millis,
            logical,
            replica: self.replica,
        })
    }

    /// Takes in a timestamp seen from another replica, so later ticks exceed it (or, if it is
    /// the greatest timestamp there is, refuse with [`CausalityError::ClockExhausted`]).
    pub fn observe(&mut self, seen: &Timestamp) {
        if (seen.millis, seen.logical) > (self.millis, self.logical) {
            self.millis = seen.millis;
            self.logical = seen.logical;
        }
    }
}
