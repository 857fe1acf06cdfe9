//! [`GCounter`] and [`PNCounter`]: counters of events that are never removed.
//!
//! ```js
//! const here = new PNCounter(), there = new PNCounter();
//! there.merge(here.add(5));
//! here.merge(there.add(-2));
//! here.value; // 3
//! ```
//!
//! Semantics: each replica counts its own increments (and, for `PNCounter`, decrements); the
//! value is the sum over replicas, so concurrent changes all count. Nothing is ever lost or
//! removed; what grows is one entry per replica that changed the counter. Values beyond 2^53
//! are rounded when read as JS numbers.

use wasm_bindgen::prelude::*;

use crate::js_value::{amount, count, number};
use crate::wrapper::wrapper;

wrapper! {
    /// A grow-only counter; see the module docs.
    GCounter(crdt_core::GCounter)
}

#[wasm_bindgen]
impl GCounter {
    /// Adds `by` (a non-negative integer); returns the delta.
    pub fn increment(&mut self, by: f64) -> Result<Vec<u8>, JsError> {
        let by = count(by, "an increment")?;
        let delta = self.value.increment(self.replica, by);
        Self::delta(&delta)
    }

    /// The sum of every replica's increments.
    #[wasm_bindgen(getter)]
    pub fn value(&self) -> f64 {
        // Exact below 2^53, which no count of increments of safe integers here passes soon.
        self.value.value() as f64
    }
}

wrapper! {
    /// A counter that goes up and down; see the module docs.
    PNCounter(crdt_core::PNCounter)
}

#[wasm_bindgen]
impl PNCounter {
    /// Adds `amount` (an integer, negative to subtract); returns the delta.
    pub fn add(&mut self, amount: f64) -> Result<Vec<u8>, JsError> {
        let delta = add(&mut self.value, self.replica, amount)?;
        Self::delta(&delta)
    }

    /// Increments minus decrements, over every replica.
    #[wasm_bindgen(getter)]
    pub fn value(&self) -> f64 {
        number(self.value.value())
    }
}

/// Adds a signed `value` to `counter` as `replica`; the delta.
pub(crate) fn add(
    counter: &mut crdt_core::PNCounter,
    replica: crdt_core::ReplicaId,
    value: f64,
) -> Result<crdt_core::PNCounter, JsError> {
    let value = amount(value, "amount")?;
    Ok(if value >= 0 {
        counter.increment(replica, value.unsigned_abs())
    } else {
        counter.decrement(replica, value.unsigned_abs())
    })
}
