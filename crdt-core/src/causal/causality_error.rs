//! [`CausalityError`]: a value that breaks the causality contract.

use core::fmt;

use crate::causal::dot::Dot;
use crate::causal::hlc::Timestamp;
use crate::causal::replica_id::ReplicaId;

/// A value that breaks the causality contract, or an event or timestamp that cannot be issued
/// without breaking it. Only a replica misusing its identity (two live replicas with one id, or
/// one that forgot its clock), or one pushed to the end of its counters or its clock's range
/// (by forged events of its id), gets here.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CausalityError {
    /// Two different values carry the same timestamp, so one replica id issued it twice.
    DuplicateTimestamp(Timestamp),
    /// The replica has used every event counter the encoding carries (up to
    /// [`Dot::MAX_COUNTER`]), so a new event could not be named without reusing a dot or making
    /// a state no decoder accepts. Nothing was changed. Honest replicas never get here (2^62
    /// events); a peer can, by forging events of this replica's id. Continue under a fresh
    /// replica id.
    CountersExhausted {
        /// The replica whose counters ran out.
        replica: ReplicaId,
    },
    /// The clock of `replica` stands at `(u64::MAX ms, u32::MAX)`, the greatest timestamp
    /// there is, so it has nothing greater to issue. Going on would mean going backwards.
    ClockExhausted {
        /// The replica whose clock it is.
        replica: ReplicaId,
    },
}

impl fmt::Display for CausalityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateTimestamp(stamp) => write!(
                f,
                "two different values carry timestamp {}.{} of replica {}: that replica id is used twice",
                stamp.millis, stamp.logical, stamp.replica
            ),
            Self::CountersExhausted { replica } => write!(
                f,
                "replica {replica} has used every event counter (up to {}): continue under a fresh replica id",
                Dot::MAX_COUNTER
            ),
            Self::ClockExhausted { replica } => write!(
                f,
                "the hybrid logical clock of replica {replica} reached the end of its range \
                 ({} ms, logical {}): no greater timestamp exists",
                u64::MAX,
                u32::MAX
            ),
        }
    }
}

impl core::error::Error for CausalityError {}
