//! [`DotFun`]: a map from dots to values, the store of an MvRegister (one value per write
//! still standing).
//!
//! ```
//! use crdt_core::{MvRegister, ReplicaId};
//!
//! let mut register = MvRegister::new();
//! register.write(ReplicaId::from_u128(1), "draft");
//! assert_eq!(register.state().store().len(), 1);
//! ```
//!
//! Join follows [`DotStore`]. A dot names one event, so both sides of a join hold the same value
//! under the same dot; the value is never joined or replaced, only kept or dropped (and dropped
//! everywhere if a faulty peer ever sends two values under one dot).

use alloc::vec::Vec;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use smallvec::SmallVec;

use crate::causal::causal_context::CausalContext;
use crate::causal::dot::Dot;
use crate::causal::dot_store::{DotStore, RawDot, StoreEncoding, Value, decode_dot, encode_dot};
use crate::codec::decode_error::DecodeError;

/// Values keyed by the dot of the event that wrote them, ascending by dot.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct DotFun<V>(SmallVec<[(Dot, V); 1]>);

impl<V> Default for DotFun<V> {
    fn default() -> Self {
        Self(SmallVec::new())
    }
}

impl<V> DotFun<V> {
    /// The store holding `value` under `dot` only.
    pub fn single(dot: Dot, value: V) -> Self {
        Self(smallvec::smallvec![(dot, value)])
    }

    /// The value written by the event `dot`, if it still stands.
    pub fn get(&self, dot: &Dot) -> Option<&V> {
        self.position(dot).ok().map(|index| &self.0[index].1)
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `(dot, value)` pairs, ascending by dot.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (Dot, &V)> + '_ {
        self.0.iter().map(|(dot, value)| (*dot, value))
    }

    fn position(&self, dot: &Dot) -> Result<usize, usize> {
        self.0.binary_search_by(|(d, _)| d.cmp(dot))
    }
}

impl<V: Value> DotStore for DotFun<V> {
    fn is_bottom(&self) -> bool {
        self.0.is_empty()
    }

    fn dots(&self) -> impl Iterator<Item = Dot> + '_ {
        self.0.iter().map(|(dot, _)| *dot)
    }

    fn join(&mut self, context: &CausalContext, other: &Self, other_context: &CausalContext) {
        // A dot both hold survives only if both hold the same value. Honest replicas always
        // do (a dot names one write); if a faulty peer sends another value under a known dot,
        // the write is dropped on every replica alike, so they still converge.
        self.0.retain(|(dot, value)| match other.get(dot) {
            Some(theirs) => theirs == value,
            None => !other_context.contains(dot),
        });
        for (dot, value) in other.iter() {
            if !context.contains(&dot)
                && let Err(index) = self.position(&dot)
            {
                self.0.insert(index, (dot, value.clone()));
            }
        }
    }

    fn unseen_by(&self, context: &CausalContext) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(dot, _)| !context.contains(dot))
                .cloned()
                .collect(),
        )
    }
}

impl<V: Value + Serialize + DeserializeOwned> StoreEncoding for DotFun<V> {
    type Raw = Vec<(RawDot, V)>;

    fn serialize_with<S: Serializer>(
        &self,
        context: &CausalContext,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.0
                .iter()
                .map(|(dot, value)| (encode_dot(dot, context), value)),
        )
    }

    fn from_raw(raw: Self::Raw, context: &CausalContext) -> Result<Self, DecodeError> {
        let entries = raw
            .into_iter()
            .map(|(dot, value)| Ok((decode_dot(dot, context)?, value)))
            .collect::<Result<SmallVec<[(Dot, V); 1]>, DecodeError>>()?;
        if !entries.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            return Err(DecodeError::invalid(
                "dot function not sorted or has duplicate dots",
            ));
        }
        Ok(Self(entries))
    }
}
