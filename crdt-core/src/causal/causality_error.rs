//! [`CausalityError`]: a value that breaks the causality contract.

use core::fmt;

use crate::causal::hlc::Timestamp;

/// A value that breaks the causality contract, which only a replica misusing its identity
/// (two live replicas with one id, or one that forgot its clock) can produce.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CausalityError {
    /// Two different values carry the same timestamp, so one replica id issued it twice.
    DuplicateTimestamp(Timestamp),
}

impl fmt::Display for CausalityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateTimestamp(stamp) => write!(
                f,
                "two different values carry timestamp {}.{} of replica {}: that replica id is used twice",
                stamp.millis, stamp.logical, stamp.replica
            ),
        }
    }
}

impl core::error::Error for CausalityError {}
