//! Maps.

pub mod or_map;
