//! [`MvRegister`]: the multi-value register, which keeps every concurrently written value.
//!
//! ```
//! use crdt_core::{Lattice, MvRegister, ReplicaId};
//!
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut at_alice = MvRegister::new();
//! let mut at_bob = MvRegister::new();
//! at_alice.write(alice, "blue").unwrap();
//! at_bob.write(bob, "green").unwrap();
//! at_alice.join(&at_bob);
//! assert_eq!(at_alice.values().collect::<Vec<_>>(), [&"blue", &"green"]);
//!
//! // A write supersedes every value its writer had seen.
//! at_alice.write(alice, "teal").unwrap();
//! assert_eq!(at_alice.values().collect::<Vec<_>>(), [&"teal"]);
//! ```
//!
//! Semantics: each write is tagged with a fresh dot and removes the writes its replica has
//! seen. On conflict nothing is chosen: concurrent writes are all kept, ordered by their dots,
//! until a write that has seen them replaces them all. What is kept: one value per concurrent
//! write still standing; superseded values are gone, remembered only by the causal context.

use crate::causal::causal_context::CausalContext;
use crate::causal::causal_state::{CausalState, causal_crdt_impls};
use crate::causal::causality_error::CausalityError;
use crate::causal::dot_fun::DotFun;
use crate::causal::dot_store::{DotStore, Value};
use crate::causal::replica_id::ReplicaId;
use crate::codec::type_tag;
use crate::lattice::Lattice;

/// A register of `T` keeping every concurrent write.
#[derive(Clone, PartialEq, Debug)]
pub struct MvRegister<T: Value> {
    state: CausalState<DotFun<T>>,
}

causal_crdt_impls!(
    MvRegister<T> where [T: Value],
    store = DotFun<T>,
    view = MvRegisterRef,
    encodable where [T: Value + serde::Serialize + serde::de::DeserializeOwned],
    tag = type_tag::MV_REGISTER,
    map_tag = type_tag::OR_MAP
);

impl<T: Value> MvRegister<T> {
    /// The empty register.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` as a new event of `replica`, replacing every value seen here; returns
    /// the delta, or [`CausalityError::CountersExhausted`] (changing nothing) if `replica` has
    /// no event counter left.
    pub fn write(&mut self, replica: ReplicaId, value: T) -> Result<Self, CausalityError> {
        let dot = self.state.next_dot(replica)?;
        let mut context: CausalContext = self.state.store().dots().collect();
        context.insert(dot);
        let delta = Self {
            state: CausalState::new(DotFun::single(dot, value), context),
        };
        self.join(&delta);
        Ok(delta)
    }

    /// Removes every value seen here (a concurrent write elsewhere survives); returns the
    /// delta.
    pub fn clear(&mut self) -> Self {
        let delta = Self {
            state: CausalState::new(DotFun::default(), self.state.store().dots().collect()),
        };
        self.join(&delta);
        delta
    }

    /// The values of the concurrent writes standing, ordered by their dots.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &T> + '_ {
        self.view().values()
    }

    /// Whether no value stands (never written, or cleared).
    pub fn is_empty(&self) -> bool {
        self.view().is_empty()
    }
}

/// A read-only view of an [`MvRegister`] (as an [`ORMap`](crate::ORMap) lends its values out).
#[derive(Debug, PartialEq)]
pub struct MvRegisterRef<'a, T: Value>(&'a DotFun<T>);

impl<T: Value> Clone for MvRegisterRef<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Value> Copy for MvRegisterRef<'_, T> {}

impl<'a, T: Value> MvRegisterRef<'a, T> {
    /// The values of the concurrent writes standing, ordered by their dots.
    pub fn values(self) -> impl ExactSizeIterator<Item = &'a T> {
        self.0.iter().map(|(_, value)| value)
    }

    /// Whether no value stands (never written, or cleared).
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }
}
