//! Sets.

pub mod aw_set;
