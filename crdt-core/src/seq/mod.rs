//! Sequences: the replicated growable array and text over it.

mod delete_log;
pub mod edit_error;
pub mod position_error;
pub mod rga;
mod span;
mod span_tree;
pub mod text;
