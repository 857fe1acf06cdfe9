//! [`DotSet`]: a set of dots, the store of one AWSet element (the adds that put it there).
//!
//! ```
//! use crdt_core::{AWSet, ReplicaId};
//!
//! let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut left = AWSet::new();
//! let mut right = AWSet::new();
//! left.add(a, 7);
//! right.add(b, 7);
//! left.join(&right);
//! // Two concurrent adds: the element's dot set holds both.
//! assert_eq!(left.state().store().get(&7).unwrap().len(), 2);
//! # use crdt_core::Lattice;
//! ```
//!
//! Join follows [`DotStore`]: a dot survives unless the other side saw it and dropped it.
//! Usually one dot; concurrent adds of one element keep one each until a later add or remove
//! supersedes them.

use alloc::vec::Vec;
use serde::Serializer;
use smallvec::SmallVec;

use crate::causal::causal_context::CausalContext;
use crate::causal::dot::Dot;
use crate::causal::dot_store::{DotStore, RawDot, StoreEncoding, decode_dot, encode_dot};
use crate::codec::decode_error::DecodeError;

/// A set of dots, ascending.
#[derive(Clone, PartialEq, Eq, Hash, Default, Debug)]
pub struct DotSet(SmallVec<[Dot; 1]>);

impl DotSet {
    /// The set holding `dot` only.
    pub fn single(dot: Dot) -> Self {
        Self(smallvec::smallvec![dot])
    }

    /// Whether `dot` is in the set.
    pub fn contains(&self, dot: &Dot) -> bool {
        self.0.binary_search(dot).is_ok()
    }

    /// The number of dots.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The dots, ascending.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Dot> + '_ {
        self.0.iter().copied()
    }
}

impl DotStore for DotSet {
    fn is_bottom(&self) -> bool {
        self.0.is_empty()
    }

    fn dots(&self) -> impl Iterator<Item = Dot> + '_ {
        self.iter()
    }

    fn join(&mut self, context: &CausalContext, other: &Self, other_context: &CausalContext) {
        self.0
            .retain(|dot| other.contains(dot) || !other_context.contains(dot));
        let before = self.0.len();
        for dot in other.iter() {
            if !context.contains(&dot) && !self.0[..before].contains(&dot) {
                self.0.push(dot);
            }
        }
        if self.0.len() != before {
            self.0.sort_unstable();
        }
    }

    fn unseen_by(&self, context: &CausalContext) -> Self {
        Self(self.iter().filter(|dot| !context.contains(dot)).collect())
    }
}

impl StoreEncoding for DotSet {
    type Raw = Vec<RawDot>;

    fn serialize_with<S: Serializer>(
        &self,
        context: &CausalContext,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(|dot| encode_dot(&dot, context)))
    }

    fn from_raw(raw: Self::Raw, context: &CausalContext) -> Result<Self, DecodeError> {
        let dots = raw
            .into_iter()
            .map(|dot| decode_dot(dot, context))
            .collect::<Result<SmallVec<[Dot; 1]>, _>>()?;
        if !dots.windows(2).all(|pair| pair[0] < pair[1]) {
            return Err(DecodeError::invalid("dot set not sorted or has duplicates"));
        }
        Ok(Self(dots))
    }
}
