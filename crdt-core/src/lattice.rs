//! The lattice traits every type of this crate implements.
//!
//! ```
//! use crdt_core::{DeltaSince, GCounter, Lattice, ReplicaId};
//!
//! let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut left = GCounter::new();
//! let mut right = GCounter::new();
//! let delta = left.increment(a, 2); // every mutator returns its delta
//! right.increment(b, 3);
//!
//! // The delta is a value of the type: join it anywhere, in any order, any number of times.
//! right.join(&delta);
//! right.join(&delta);
//! assert_eq!(right.value(), 5);
//!
//! // What a replica at `left`'s version lacks, without shipping the whole state.
//! left.join(&right.delta_since(&left.version()));
//! assert_eq!(left, right);
//! ```
//!
//! - [`Lattice`]: a join-semilattice with a bottom (`Default`). `join` is commutative,
//!   associative and idempotent, so replicas converge whatever order, duplication or grouping
//!   their updates arrive in. States and deltas are the same type and share the one join.
//! - Mutators live on each type and return a delta `d` such that joining `d` into the old state
//!   gives the new state.
//! - [`DeltaSince`]: a compact summary of what a replica has (its version), and the delta that
//!   a replica at that version is missing: the basis of repair without shipping full states.
//! - [`CausalCrdt`]: a type made of a dot store and a causal context, which an
//!   [`ORMap`](crate::ORMap) can embed under one shared context.

use crate::causal::causal_context::CausalContext;
use crate::causal::causal_state::CausalState;
use crate::causal::causality_error::CausalityError;
use crate::causal::dot_store::DotStore;
use crate::causal::version_vector::VersionVector;

/// A join-semilattice with bottom `Default::default()`.
pub trait Lattice: Clone + PartialEq + Default {
    /// Joins `other` into `self`: the least value above both.
    fn join(&mut self, other: &Self);

    /// `self ⊔ other`, by value.
    #[must_use]
    fn joined(mut self, other: &Self) -> Self {
        self.join(other);
        self
    }
}

/// A lattice whose replicas can tell each other what they are missing.
pub trait DeltaSince: Lattice {
    /// A compact summary of what a replica has seen (a causal context for causal types).
    type Version: Clone + PartialEq + core::fmt::Debug;

    /// This replica's version.
    fn version(&self) -> Self::Version;

    /// A delta that brings a replica at `version` up to `self`: for any `other` whose version is
    /// `version`, `other ⊔ self.delta_since(version) == other ⊔ self`.
    #[must_use]
    fn delta_since(&self, version: &Self::Version) -> Self;
}

/// A causal CRDT: a dot store under a causal context, embeddable in an ORMap, where every
/// embedded value shares the map's context.
pub trait CausalCrdt: DeltaSince {
    /// The dot store holding the live events.
    type Store: DotStore;

    /// A read-only view of a value: its store alone, which every read needs, without the
    /// context, which only mutators need. A map lends its values out as views, so reading one
    /// costs nothing in proportion to the map.
    type Ref<'a>: Copy + PartialEq + core::fmt::Debug
    where
        Self: 'a;

    /// The view of the value whose store is `store`.
    fn view_of<'a>(store: &'a Self::Store) -> Self::Ref<'a>
    where
        Self: 'a;

    /// The value made of this state.
    fn from_state(state: CausalState<Self::Store>) -> Self;

    /// The state of this value.
    fn into_state(self) -> CausalState<Self::Store>;
}

/// What a mutator of a causal type returns: its delta (`remove`, `clear`, `reset`), or its
/// delta or the error that it could not name a new event (`add`, `write`). So that a closure
/// given to [`ORMap::update`](crate::ORMap::update) can end with either kind of mutator.
pub trait MutatorResult<V> {
    /// The delta, or why the mutator refused.
    fn into_result(self) -> Result<V, CausalityError>;
}

impl<V: CausalCrdt> MutatorResult<V> for V {
    fn into_result(self) -> Result<V, CausalityError> {
        Ok(self)
    }
}

impl<V: CausalCrdt> MutatorResult<V> for Result<V, CausalityError> {
    fn into_result(self) -> Result<V, CausalityError> {
        self
    }
}

/// The causality types are lattices too (their own `join` is this one); the impls live here
/// because the traits sit above the causality layer.
impl Lattice for VersionVector {
    fn join(&mut self, other: &Self) {
        VersionVector::join(self, other);
    }
}

impl Lattice for CausalContext {
    fn join(&mut self, other: &Self) {
        CausalContext::join(self, other);
    }
}
