//! [`CausalCounter`]: a counter made of events, so it can live inside an [`ORMap`] and be removed.
//!
//! ```
//! use crdt_core::{CausalCounter, Lattice, ORMap, ReplicaId};
//!
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! // A shopping cart: item → quantity.
//! let mut at_alice: ORMap<String, CausalCounter> = ORMap::new();
//! at_alice.update("milk".to_string(), |quantity| quantity.add(alice, 2)).unwrap();
//! let mut at_bob = at_alice.clone();
//!
//! // Concurrently: Alice removes the milk, Bob adds one more.
//! let removal = at_alice.remove(&"milk".to_string());
//! let one_more = at_bob.update("milk".to_string(), |quantity| quantity.add(bob, 1)).unwrap();
//! at_alice.join(&one_more);
//! at_bob.join(&removal);
//!
//! // The remove took the 2 it had seen; Bob's unseen add stands alone.
//! assert_eq!(at_alice.get(&"milk".to_string()).unwrap().value(), 1);
//! assert_eq!(at_alice, at_bob);
//! ```
//!
//! Semantics: every [`add`](CausalCounter::add) is an event of its own (a dot) holding its
//! amount, and the value is the sum of the amounts still standing. Concurrent adds all stand, so
//! they add up. [`reset`](CausalCounter::reset), and an ORMap's remove of the key, removes
//! exactly the events the remover had seen: an add it had not seen stands alone with its own
//! amount, and nothing it had seen comes back. Unlike a [`PNCounter`](crate::PNCounter), whose
//! per-replica totals cannot be partly removed, this is what a quantity in a map needs.
//!
//! What grows: one `(dot, amount)` entry per add since the last reset that saw it. Folding a
//! replica's adds into one entry would bound that, but a concurrent reset that had seen the
//! folded-in adds would then bring them back; exactness is kept instead. Use a `PNCounter` for
//! a counter that is never reset and changes often.

use crate::causal::causal_context::CausalContext;
use crate::causal::causal_state::{CausalState, causal_crdt_impls};
use crate::causal::causality_error::CausalityError;
use crate::causal::dot_fun::DotFun;
use crate::causal::dot_store::DotStore;
use crate::causal::replica_id::ReplicaId;
use crate::codec::type_tag;
use crate::lattice::Lattice;

/// A counter whose adds are events, removable by an observed reset.
#[derive(Clone, PartialEq, Debug)]
pub struct CausalCounter {
    state: CausalState<DotFun<i64>>,
}

causal_crdt_impls!(
    CausalCounter<> where [],
    store = DotFun<i64>,
    view = CausalCounterRef,
    encodable where [],
    tag = type_tag::CAUSAL_COUNTER,
    map_tag = type_tag::COUNTER_MAP
);

impl CausalCounter {
    /// The counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `amount` (negative to subtract) as a new event of `replica`; returns the delta,
    /// or [`CausalityError::CountersExhausted`] (changing nothing) if `replica` has no event
    /// counter left. Adding 0 changes nothing and returns the empty delta.
    pub fn add(&mut self, replica: ReplicaId, amount: i64) -> Result<Self, CausalityError> {
        if amount == 0 {
            return Ok(Self::default());
        }
        let dot = self.state.next_dot(replica)?;
        let delta = Self {
            state: CausalState::new(DotFun::single(dot, amount), CausalContext::from_iter([dot])),
        };
        self.join(&delta);
        Ok(delta)
    }

    /// Removes every add seen here (a concurrent add elsewhere stands); returns the delta.
    pub fn reset(&mut self) -> Self {
        let delta = Self {
            state: CausalState::new(DotFun::default(), self.state.store().dots().collect()),
        };
        self.join(&delta);
        delta
    }

    /// The sum of the adds standing, saturating at `i64`'s bounds.
    pub fn value(&self) -> i64 {
        self.view().value()
    }

    /// Whether no add stands (never added to, or reset).
    pub fn is_empty(&self) -> bool {
        self.view().is_empty()
    }
}

/// A read-only view of a [`CausalCounter`] (as an [`ORMap`](crate::ORMap) lends its values
/// out).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CausalCounterRef<'a>(&'a DotFun<i64>);

impl CausalCounterRef<'_> {
    /// The sum of the adds standing, saturating at `i64`'s bounds.
    pub fn value(self) -> i64 {
        self.0
            .iter()
            .fold(0i64, |sum, (_, amount)| sum.saturating_add(*amount))
    }

    /// Whether no add stands (never added to, or reset).
    pub fn is_empty(self) -> bool {
        self.0.is_bottom()
    }
}
