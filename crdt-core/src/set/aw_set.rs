//! [`AWSet`]: the add-wins observed-remove set (OR-Set), without tombstones.
//!
//! ```
//! use crdt_core::{AWSet, Lattice, ReplicaId};
//!
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut at_alice = AWSet::new();
//! at_alice.add(alice, "milk").unwrap();
//! let mut at_bob = at_alice.clone();
//!
//! // Concurrently: Alice removes milk, Bob adds it again.
//! let removal = at_alice.remove(&"milk");
//! let re_add = at_bob.add(bob, "milk").unwrap();
//! at_alice.join(&re_add);
//! at_bob.join(&removal);
//!
//! // Add wins: Bob's add was not observed by Alice's remove.
//! assert!(at_alice.contains(&"milk"));
//! assert_eq!(at_alice, at_bob);
//! ```
//!
//! Semantics: each add is tagged with a fresh dot; a remove removes exactly the adds it observed
//! (the element's dots at the remover). So on conflict, an add concurrent with a remove wins;
//! a remove never affects adds it did not see. What is kept: for each present element, the dots
//! of its unremoved adds (one, unless concurrent adds have not yet been superseded); removed
//! elements are gone from the store, remembered only by the causal context, which grows by a
//! range per gap in the events seen, not per element. Elements live in a hash map: iteration
//! order is unspecified, and joining a small delta costs the same whatever the set's size. Deltas: `add` ships the element with its
//! new dot and the dots it supersedes; `remove` ships no element, only the dots it removes.

use crate::causal::causal_context::CausalContext;
use crate::causal::causal_state::{CausalState, causal_crdt_impls};
use crate::causal::causality_error::CausalityError;
use crate::causal::dot_map::DotMap;
use crate::causal::dot_set::DotSet;
use crate::causal::dot_store::{DotStore, Key};
use crate::causal::replica_id::ReplicaId;
use crate::codec::type_tag;
use crate::lattice::Lattice;

/// An add-wins observed-remove set of `T`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AWSet<T: Key> {
    state: CausalState<DotMap<T, DotSet>>,
}

causal_crdt_impls!(
    AWSet<T> where [T: Key],
    store = DotMap<T, DotSet>,
    view = AWSetRef,
    encodable where [T: Key + serde::Serialize + serde::de::DeserializeOwned],
    tag = type_tag::AW_SET,
    map_tag = type_tag::OR_MAP
);

impl<T: Key> AWSet<T> {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` as a new event of `replica`; returns the delta, or
    /// [`CausalityError::CountersExhausted`] (changing nothing) if `replica` has no event
    /// counter left.
    pub fn add(&mut self, replica: ReplicaId, value: T) -> Result<Self, CausalityError> {
        let dot = self.state.next_dot(replica)?;
        let mut context: CausalContext = self.dots_of(&value).collect();
        context.insert(dot);
        let delta = Self {
            state: CausalState::new(DotMap::single(value, DotSet::single(dot)), context),
        };
        self.join(&delta);
        Ok(delta)
    }

    /// Removes `value` as observed here (a concurrent add elsewhere survives); returns the
    /// delta, which is bottom if `value` was absent.
    pub fn remove(&mut self, value: &T) -> Self {
        let delta = Self {
            state: CausalState::new(DotMap::default(), self.dots_of(value).collect()),
        };
        self.join(&delta);
        delta
    }

    /// Removes every element observed here; returns the delta.
    pub fn clear(&mut self) -> Self {
        let delta = Self {
            state: CausalState::new(DotMap::default(), self.state.store().dots().collect()),
        };
        self.join(&delta);
        delta
    }

    /// Whether `value` is in the set.
    pub fn contains(&self, value: &T) -> bool {
        self.view().contains(value)
    }

    /// The elements, in no particular order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &T> + '_ {
        self.view().iter()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.view().len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.view().is_empty()
    }

    fn dots_of(&self, value: &T) -> impl Iterator<Item = crate::causal::dot::Dot> + '_ {
        self.state
            .store()
            .get(value)
            .into_iter()
            .flat_map(DotSet::iter)
    }
}

/// A read-only view of an [`AWSet`] (as an [`ORMap`](crate::ORMap) lends its values out).
#[derive(Debug, PartialEq)]
pub struct AWSetRef<'a, T: Key>(&'a DotMap<T, DotSet>);

impl<T: Key> Clone for AWSetRef<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Key> Copy for AWSetRef<'_, T> {}

impl<'a, T: Key> AWSetRef<'a, T> {
    /// Whether `value` is in the set.
    pub fn contains(self, value: &T) -> bool {
        self.0.contains_key(value)
    }

    /// The elements, in no particular order.
    pub fn iter(self) -> impl ExactSizeIterator<Item = &'a T> {
        self.0.keys()
    }

    /// The number of elements.
    pub fn len(self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }
}
