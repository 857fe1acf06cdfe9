//! Counters.

pub mod gcounter;
pub mod pncounter;
