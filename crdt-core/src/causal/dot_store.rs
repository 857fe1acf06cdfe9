//! [`DotStore`]: the part of a causal CRDT that holds live events, keyed by their dots.
//!
//! A causal CRDT is a dot store paired with a [`CausalContext`] (see
//! [`CausalState`](crate::causal::causal_state::CausalState)). The join rule, written once here
//! for every store: a dot survives if both sides hold it, or if one side holds it and the other
//! has never seen it. A dot one side has seen but no longer holds was removed there, and the
//! removal wins over the stale copy. So removed elements need no tombstones: the context
//! remembers that they were seen. Three stores cover every causal type of this crate:
//! [`DotSet`](crate::causal::dot_set::DotSet) (AWSet elements),
//! [`DotFun`](crate::causal::dot_fun::DotFun) (MvRegister values) and
//! [`DotMap`](crate::causal::dot_map::DotMap) (AWSet and ORMap keys, nesting any store).
//!
//! ```
//! use crdt_core::{AWSet, ReplicaId};
//!
//! // AWSet is a DotMap<element, DotSet> under a causal context.
//! let mut set = AWSet::new();
//! let delta = set.add(ReplicaId::from_u128(1), "milk").unwrap();
//! assert_eq!(delta.state().store().len(), 1);
//! ```

use core::fmt::Debug;
use core::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::causal::causal_context::CausalContext;
use crate::causal::dot::Dot;
use crate::codec::decode_error::DecodeError;

/// A store of live dots (possibly with values, possibly nested under keys).
pub trait DotStore: Clone + Default + PartialEq + Debug {
    /// Whether the store holds no dot (the bottom of the lattice).
    fn is_bottom(&self) -> bool;

    /// Every dot held, in no particular order.
    fn dots(&self) -> impl Iterator<Item = Dot> + '_;

    /// Joins `(other, other_context)` into `(self, context)`; the caller then unites the
    /// contexts. Both stores must hold only dots of their own context.
    fn join(&mut self, context: &CausalContext, other: &Self, other_context: &CausalContext);

    /// The part of the store whose dots `context` has not seen.
    fn unseen_by(&self, context: &CausalContext) -> Self;
}

/// The encoding of a dot store whose keys and values are serializable.
pub trait StoreEncoding: DotStore {
    /// The unvalidated encoded shape, checked by [`StoreEncoding::from_raw`].
    type Raw: DeserializeOwned;

    /// Serializes the store, naming replicas by their index in `context` (which holds every
    /// dot of the store) so each replica id is written once per value.
    fn serialize_with<S: Serializer>(
        &self,
        context: &CausalContext,
        serializer: S,
    ) -> Result<S::Ok, S::Error>;

    /// Checks a decoded raw store against its invariants and against `context`.
    fn from_raw(raw: Self::Raw, context: &CausalContext) -> Result<Self, DecodeError>;
}

/// A store paired with the context its replica indexes refer to, for serializing nested stores.
pub(crate) struct WithContext<'a, S>(pub(crate) &'a S, pub(crate) &'a CausalContext);

impl<S: StoreEncoding> Serialize for WithContext<'_, S> {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        self.0.serialize_with(self.1, serializer)
    }
}

/// A dot as encoded inside a value: (index of its replica in the context, counter).
pub(crate) type RawDot = (u32, u64);

/// The encoded form of `dot`. The context holds every dot of its store, so the replica has an
/// index; `u32::MAX` (which decoding rejects) would only mark a broken invariant.
pub(crate) fn encode_dot(dot: &Dot, context: &CausalContext) -> RawDot {
    let index = context
        .replica_index(&dot.replica)
        .and_then(|index| u32::try_from(index).ok())
        .unwrap_or(u32::MAX);
    (index, dot.counter)
}

/// Decodes a dot and checks that `context` has seen it.
pub(crate) fn decode_dot(
    (index, counter): RawDot,
    context: &CausalContext,
) -> Result<Dot, DecodeError> {
    let replica = usize::try_from(index)
        .ok()
        .and_then(|index| context.replica_at(index))
        .ok_or(DecodeError::invalid(
            "dot names a replica missing from the context",
        ))?;
    let dot = Dot::new(replica, counter);
    if context.contains(&dot) {
        Ok(dot)
    } else {
        Err(DecodeError::invalid(
            "store holds a dot its context has not seen",
        ))
    }
}

/// What a dot map can use as a key (an AWSet element, an ORMap key): hashed for lookups, and
/// ordered so that encodings are canonical. To encode, it must also be
/// `Serialize + DeserializeOwned`.
pub trait Key: Ord + Hash + Clone + Debug {}

impl<T: Ord + Hash + Clone + Debug> Key for T {}

/// What a dot function can hold (an MvRegister value). To encode, it must also be
/// `Serialize + DeserializeOwned`.
pub trait Value: Clone + PartialEq + Debug {}

impl<T: Clone + PartialEq + Debug> Value for T {}
