//! [`CausalState`]: a dot store under the causal context of everything its replica has seen —
//! the shape of every causal CRDT (AWSet, MvRegister, ORMap).
//!
//! ```
//! use crdt_core::{AWSet, Lattice, ReplicaId};
//!
//! let a = ReplicaId::from_u128(1);
//! let mut set = AWSet::new();
//! set.add(a, "tea").unwrap();
//! let delta = set.remove(&"tea");
//! // A remove delta holds nothing, but its context says which adds it saw.
//! assert!(delta.state().store().is_empty());
//! assert!(!delta.state().context().is_empty());
//! assert!(set.is_empty());
//! ```
//!
//! Join: the stores join by the [`DotStore`] rule under both contexts, then the contexts unite.
//! What grows: the context, by one range per gap in each replica's events (usually none);
//! removed entries leave nothing behind in the store.

use alloc::vec::Vec;
use serde::{Deserializer, Serialize, Serializer};

use crate::causal::causal_context::CausalContext;
use crate::causal::causality_error::CausalityError;
use crate::causal::dot::Dot;
use crate::causal::dot_store::{DotStore, StoreEncoding, WithContext};
use crate::causal::replica_id::ReplicaId;
use crate::codec::decode_error::DecodeError;
use crate::codec::raw::{FromRaw, deserialize_via_raw};
use crate::lattice::Lattice;

/// A dot store and the causal context covering every dot it holds.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct CausalState<S> {
    store: S,
    context: CausalContext,
}

impl<S: DotStore> CausalState<S> {
    /// Pairs a store with its context, which must have seen every dot of the store.
    pub(crate) fn new(store: S, context: CausalContext) -> Self {
        debug_assert!(store.dots().all(|dot| context.contains(&dot)));
        Self { store, context }
    }

    /// The store and the context, taken apart.
    pub(crate) fn into_parts(self) -> (S, CausalContext) {
        (self.store, self.context)
    }

    /// The live events.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Every event seen, live or removed.
    pub fn context(&self) -> &CausalContext {
        &self.context
    }

    /// The next dot `replica` should use for a new event here.
    pub(crate) fn next_dot(&self, replica: ReplicaId) -> Result<Dot, CausalityError> {
        self.context.next_dot(replica)
    }

    /// The delta a replica at `remote` lacks: the live dots it has not seen, and a context
    /// that covers what this replica has seen except the live dots `remote` already has —
    /// so the delta removes there exactly what was removed here, and nothing else.
    pub(crate) fn delta_since(&self, remote: &CausalContext) -> Self {
        let store = self.store.unseen_by(remote);
        let mut shared: Vec<Dot> = self
            .store
            .dots()
            .filter(|dot| remote.contains(dot))
            .collect();
        shared.sort_unstable();
        let mut context = self.context.clone();
        context.remove_sorted(shared);
        Self { store, context }
    }
}

impl<S: DotStore> Lattice for CausalState<S> {
    fn join(&mut self, other: &Self) {
        self.store.join(&self.context, &other.store, &other.context);
        self.context.join(&other.context);
    }
}

/// Encoded as `(context, store)`, the store naming replicas by their index in the context.
impl<S: StoreEncoding> Serialize for CausalState<S> {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        (&self.context, WithContext(&self.store, &self.context)).serialize(serializer)
    }
}

impl<S: StoreEncoding> FromRaw for CausalState<S> {
    type Raw = (<CausalContext as FromRaw>::Raw, S::Raw);

    fn from_raw((context, store): Self::Raw) -> Result<Self, DecodeError> {
        let context = CausalContext::from_raw(context)?;
        let store = S::from_raw(store, &context)?;
        Ok(Self { store, context })
    }
}

impl<'de, S: StoreEncoding> serde::Deserialize<'de> for CausalState<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_via_raw(deserializer)
    }
}

/// The impls every causal CRDT newtype over a [`CausalState`] shares: lattice, repair,
/// embedding and encoding all delegate to the state.
macro_rules! causal_crdt_impls {
    (
        $name:ident<$($param:ident),*> where [$($bounds:tt)*],
        store = $store:ty,
        view = $view:ident,
        encodable where [$($codec_bounds:tt)*],
        tag = $tag:expr,
        map_tag = $map_tag:expr
    ) => {
        impl<$($param),*> $name<$($param),*> where $($bounds)* {
            /// The dot store and causal context this value is made of.
            pub fn state(&self) -> &$crate::causal::causal_state::CausalState<$store> {
                &self.state
            }

            /// A read-only view of this value (what an [`ORMap`](crate::ORMap) lends out).
            pub fn view(&self) -> $view<'_, $($param),*> {
                $view(self.state.store())
            }
        }

        impl<$($param),*> Default for $name<$($param),*> where $($bounds)* {
            fn default() -> Self {
                Self { state: Default::default() }
            }
        }

        impl<$($param),*> $crate::lattice::Lattice for $name<$($param),*> where $($bounds)* {
            fn join(&mut self, other: &Self) {
                self.state.join(&other.state);
            }
        }

        impl<$($param),*> $crate::lattice::DeltaSince for $name<$($param),*> where $($bounds)* {
            type Version = $crate::causal::causal_context::CausalContext;

            fn version(&self) -> Self::Version {
                self.state.context().clone()
            }

            fn delta_since(&self, version: &Self::Version) -> Self {
                Self { state: self.state.delta_since(version) }
            }
        }

        impl<$($param),*> $crate::lattice::CausalCrdt for $name<$($param),*> where $($bounds)* {
            type Store = $store;

            type Ref<'a> = $view<'a, $($param),*> where Self: 'a;

            fn view_of<'a>(store: &'a $store) -> $view<'a, $($param),*> where Self: 'a {
                $view(store)
            }

            fn from_state(state: $crate::causal::causal_state::CausalState<$store>) -> Self {
                Self { state }
            }

            fn into_state(self) -> $crate::causal::causal_state::CausalState<$store> {
                self.state
            }
        }

        impl<$($param),*> serde::Serialize for $name<$($param),*> where $($codec_bounds)* {
            fn serialize<Ser: serde::Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
                self.state.serialize(serializer)
            }
        }

        impl<$($param),*> $crate::codec::raw::FromRaw for $name<$($param),*> where $($codec_bounds)* {
            type Raw = <$crate::causal::causal_state::CausalState<$store> as $crate::codec::raw::FromRaw>::Raw;

            fn from_raw(raw: Self::Raw) -> Result<Self, $crate::codec::decode_error::DecodeError> {
                $crate::causal::causal_state::CausalState::from_raw(raw).map(|state| Self { state })
            }
        }

        impl<'de, $($param),*> serde::Deserialize<'de> for $name<$($param),*> where $($codec_bounds)* {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::codec::raw::deserialize_via_raw(deserializer)
            }
        }

        impl<$($param),*> $crate::codec::Codec for $name<$($param),*> where $($codec_bounds)* {
            const TYPE_TAG: u8 = $tag;
            const FORMAT_VERSION: u8 = 1;
        }

        impl<$($param),*> $crate::codec::MapValueTag for $name<$($param),*> where $($bounds)* {
            const MAP_TYPE_TAG: u8 = $map_tag;
        }
    };
}

pub(crate) use causal_crdt_impls;
