//! [`Dot`]: the unique name of one event, `(replica, counter)`.
//!
//! ```
//! use crdt_core::{Dot, ReplicaId};
//!
//! let alice = ReplicaId::from_u128(1);
//! let first = Dot::new(alice, 1);
//! assert!(first < Dot::new(alice, 2));
//! ```
//!
//! A replica numbers its own events 1, 2, 3, …, so a dot is never reused: two values carrying
//! the same dot are the same event. Dots order by replica, then counter.

use serde::{Deserialize, Serialize};

use crate::causal::replica_id::ReplicaId;

/// The unique name of one event: the `counter`-th event of `replica` (counters start at 1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Dot {
    /// The replica that made the event.
    pub replica: ReplicaId,
    /// Its position among that replica's events, from 1.
    pub counter: u64,
}

impl Dot {
    /// The largest counter a decoded value may carry, so the largest any event has. Far beyond
    /// any real replica's event count, it keeps `counter + 1` from overflowing on bytes a peer
    /// made up. A mutator that would need a greater counter returns
    /// [`CausalityError::CountersExhausted`](crate::CausalityError::CountersExhausted) and
    /// changes nothing, so every state stays decodable.
    pub const MAX_COUNTER: u64 = 1 << 62;

    /// The `counter`-th event of `replica`.
    pub const fn new(replica: ReplicaId, counter: u64) -> Self {
        Self { replica, counter }
    }
}
