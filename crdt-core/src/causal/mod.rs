//! Identity and causality, written once and shared by every type: replica ids, dots, version
//! vectors, causal contexts, and the dot stores that causal CRDTs are made of.

pub mod causal_context;
pub mod causal_state;
pub mod causality_error;
mod counter_ranges;
pub mod dot;
pub mod dot_fun;
pub mod dot_map;
pub mod dot_set;
pub mod dot_store;
pub mod hlc;
pub mod replica_id;
pub mod version_vector;
