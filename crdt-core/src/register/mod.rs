//! Registers: a single value, replaced by writes.

pub mod lww_register;
pub mod mv_register;
