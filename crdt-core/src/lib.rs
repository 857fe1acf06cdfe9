//! Delta-state CRDTs: counters, registers, sets and maps that converge whatever order, grouping
//! or duplication their updates arrive in, with the causality machinery they share.
//!
//! ```
//! use crdt_core::{AWSet, Lattice, ReplicaId};
//!
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut at_alice = AWSet::new();
//! let mut at_bob = AWSet::new();
//!
//! // Every mutator returns a delta: a small value of the same type.
//! let delta_a = at_alice.add(alice, "apples").unwrap();
//! let delta_b = at_bob.add(bob, "bread").unwrap();
//!
//! // Ship deltas (or whole states) either way; join is the only merge.
//! at_alice.join(&delta_b);
//! at_bob.join(&delta_a);
//! assert_eq!(at_alice, at_bob);
//! let mut items: Vec<_> = at_alice.iter().collect();
//! items.sort();
//! assert_eq!(items, [&"apples", &"bread"]);
//! ```
//!
//! Layers, lowest first: [`causal`] (replica ids, dots, version vectors, causal contexts, the
//! dot stores causal types are made of, hybrid logical clocks), [`lattice`] (the traits), the
//! type families ([`counter`], [`register`], [`set`], [`map`]), and [`codec`] (the versioned,
//! canonical binary encoding). The re-exports below are for users; the crate itself imports
//! each name from the module that defines it.
//!
//! Without the default `std` feature the crate is `no_std` + `alloc`.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod causal;
pub mod codec;
pub mod counter;
pub mod lattice;
pub mod map;
pub mod register;
pub mod seq;
pub mod set;

pub use causal::causal_context::CausalContext;
pub use causal::causal_state::CausalState;
pub use causal::causality_error::CausalityError;
pub use causal::dot::Dot;
pub use causal::dot_store::{DotStore, Key, StoreEncoding, Value};
pub use causal::hlc::{Clock, HybridClock, Timestamp};
pub use causal::replica_id::ReplicaId;
pub use causal::version_vector::VersionVector;
pub use codec::Codec;
pub use codec::MapValueTag;
pub use codec::decode_error::DecodeError;
pub use codec::encode_error::EncodeError;
pub use counter::causal_counter::{CausalCounter, CausalCounterRef};
pub use counter::gcounter::GCounter;
pub use counter::pncounter::PNCounter;
pub use lattice::{CausalCrdt, DeltaSince, Lattice, MutatorResult};
pub use map::or_map::{ORMap, ORMapRef};
pub use register::lww_register::LwwRegister;
pub use register::mv_register::{MvRegister, MvRegisterRef};
pub use seq::edit_error::EditError;
pub use seq::position_error::PositionError;
pub use seq::rga::Rga;
pub use seq::text::Text;
pub use set::aw_set::{AWSet, AWSetRef};

/// The README's examples, compiled and run as doc tests so they cannot go stale.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
