//! Merge laws of the observed-remove map [`ORMap`], through the [`laws`](crate::laws) harness:
//! maps of [`MvRegister`]s, of [`CausalCounter`]s (a cart), of [`AWSet`]s, and a map of maps of
//! registers (the first input byte picks one). Keys come from a domain of four, so concurrent
//! updates and removes of one key are common; values are mutated by their own type's
//! operations, with that type's local checks.
//!
//! Each map mutation must mean what it says locally: after an update the key holds exactly what
//! the value's own mutator made of it (no entry if that has no live event: a clear, a reset), a
//! removed key is absent, a cleared map empty.

use arbitrary::Unstructured;
use crdt_core::{
    AWSet, CausalCounter, CausalCrdt, DotStore, MapValueTag, MvRegister, ORMap, StoreEncoding,
};

use crate::laws::{FEW_EVENTS, Replica, Subject, byte, check_laws};

/// The fuzz target: a law script for one of the four map shapes.
pub fn or_map(data: &[u8]) {
    let mut u = Unstructured::new(data);
    match byte(&mut u) % 4 {
        0 => check_laws::<ORMap<u8, MvRegister<u8>>>(&mut u),
        1 => check_laws::<ORMap<u8, CausalCounter>>(&mut u),
        2 => check_laws::<ORMap<u8, AWSet<u8>>>(&mut u),
        _ => check_laws::<ORMap<u8, ORMap<u8, MvRegister<u8>>>>(&mut u),
    }
}

/// An operation on a map whose values take operations `Inner`.
#[derive(Debug)]
pub enum MapOp<Inner> {
    /// Mutate the value under the key (created empty if absent).
    Update(u8, Inner),
    /// Remove the events of the key seen here.
    Remove(u8),
    /// Remove every key seen here.
    Clear,
}

impl<V> Subject for ORMap<u8, V>
where
    V: Subject + CausalCrdt<Store: StoreEncoding> + MapValueTag,
{
    type Op = MapOp<V::Op>;

    fn op(u: &mut Unstructured<'_>) -> Self::Op {
        match byte(u) {
            0..=19 => MapOp::Clear,
            tag @ 20..=79 => MapOp::Remove(tag % 4),
            tag => MapOp::Update(tag % 4, V::op(u)),
        }
    }

    fn apply(&mut self, replica: &mut Replica, op: &Self::Op) -> Self {
        let mut mutated = None;
        let delta = match op {
            MapOp::Update(key, inner) => self
                .update(*key, |value| {
                    let delta = value.apply(replica, inner);
                    mutated = Some(value.clone());
                    delta
                })
                .expect(FEW_EVENTS),
            MapOp::Remove(key) => self.remove(key),
            MapOp::Clear => self.clear(),
        };
        match op {
            MapOp::Update(key, _) => {
                // The map holds what the value's own mutator made of it, under the map's
                // context; a value left without live events is no entry at all.
                let mutated = mutated.map(|value| value.into_state());
                let expected = mutated.filter(|state| !state.store().is_bottom());
                let held = self.get(key);
                assert_eq!(
                    held,
                    expected.as_ref().map(|state| V::view_of(state.store())),
                    "{op:?}"
                );
                assert_eq!(held.is_some(), self.contains_key(key));
            }
            MapOp::Remove(key) => assert!(!self.contains_key(key), "{op:?}"),
            MapOp::Clear => assert!(self.is_empty() && self.keys().next().is_none(), "{op:?}"),
        }
        assert_eq!(self.keys().count(), self.len());
        delta
    }
}
