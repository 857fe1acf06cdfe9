//! Counters.

pub mod causal_counter;
pub mod gcounter;
pub mod pncounter;
