//! Merge laws of the add-wins set [`AWSet`], through the [`laws`](crate::laws) harness, on a
//! domain of six elements so that concurrent adds and removes of one element are common.
//!
//! Each mutation must mean what it says locally: an added element is present, a removed one
//! absent, a cleared set empty.

use arbitrary::Unstructured;
use crdt_core::AWSet;

use crate::laws::{FEW_EVENTS, Replica, Subject, byte, check_laws};

/// The fuzz target: a law script for `AWSet<u8>`.
pub fn aw_set(data: &[u8]) {
    check_laws::<AWSet<u8>>(&mut Unstructured::new(data));
}

/// An operation on a set.
#[derive(Debug)]
pub enum SetOp {
    /// Add the element.
    Add(u8),
    /// Remove the adds of the element seen here.
    Remove(u8),
    /// Remove every add seen here.
    Clear,
}

impl Subject for AWSet<u8> {
    type Op = SetOp;

    fn op(u: &mut Unstructured<'_>) -> SetOp {
        match byte(u) {
            0..=24 => SetOp::Clear,
            tag @ 25..=109 => SetOp::Remove(tag % 6),
            tag => SetOp::Add(tag % 6),
        }
    }

    fn apply(&mut self, replica: &mut Replica, op: &SetOp) -> Self {
        let delta = match *op {
            SetOp::Add(value) => self.add(replica.id, value).expect(FEW_EVENTS),
            SetOp::Remove(value) => self.remove(&value),
            SetOp::Clear => self.clear(),
        };
        match *op {
            SetOp::Add(value) => assert!(self.contains(&value), "{op:?}"),
            SetOp::Remove(value) => assert!(!self.contains(&value), "{op:?}"),
            SetOp::Clear => assert!(self.is_empty() && self.iter().next().is_none(), "{op:?}"),
        }
        assert_eq!(self.iter().count(), self.len());
        delta
    }
}
