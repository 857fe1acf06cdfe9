//! [`LwwRegister`] and [`MvRegister`]: registers of one string.
//!
//! ```js
//! const here = new MvRegister(), there = new MvRegister();
//! const a = here.write('blue'), b = there.write('green');   // concurrent writes
//! here.merge(b); there.merge(a);
//! here.values; // ['blue', 'green'] (in the order of their events), the same at `there`
//! ```
//!
//! Semantics: an `LwwRegister` keeps the write with the greatest hybrid logical timestamp
//! (physical milliseconds from `Date.now()`, a logical counter, then the replica id), so one
//! write wins and the others are gone; two writes never tie. An `MvRegister` keeps every
//! write that no other write had seen: concurrent writes all stay until a write that has seen
//! them replaces them. Neither grows beyond its standing writes.

use crdt_core::HybridClock;
use wasm_bindgen::prelude::*;

use crate::js_value::{js_error, strings};
use crate::wrapper::wrapper;

wrapper! {
    /// A last-writer-wins register of a string; see the module docs.
    LwwRegister(crdt_core::LwwRegister<String>)
}

#[wasm_bindgen]
impl LwwRegister {
    /// Writes `value`, stamped later than anything this copy has seen; returns the delta.
    /// Throws, changing nothing, if this copy holds the greatest timestamp there is.
    pub fn set(&mut self, value: String) -> Result<Vec<u8>, JsError> {
        let delta = set(&mut self.value, self.replica, value)?;
        Self::delta(&delta)
    }

    /// The winning value, or `undefined` if never written.
    #[wasm_bindgen(getter)]
    pub fn value(&self) -> Option<String> {
        self.value.get().cloned()
    }
}

/// Writes `value` as `replica`, with the browser's clock; the delta, or (changing nothing) an
/// error once the register holds the greatest timestamp there is.
pub(crate) fn set(
    register: &mut crdt_core::LwwRegister<String>,
    replica: crdt_core::ReplicaId,
    value: String,
) -> Result<crdt_core::LwwRegister<String>, JsError> {
    // A fresh clock is enough: `set` first observes the register's own timestamp, so the
    // write is stamped after everything this copy has seen.
    let mut clock = HybridClock::new(replica);
    register
        .set(value, &mut clock, &mut || {
            crate::js_value::millis(js_sys::Date::now())
        })
        .map_err(js_error)
}

wrapper! {
    /// A multi-value register of strings; see the module docs.
    MvRegister(crdt_core::MvRegister<String>)
}

#[wasm_bindgen]
impl MvRegister {
    /// Writes `value`, replacing every value this copy has seen; returns the delta.
    pub fn write(&mut self, value: String) -> Result<Vec<u8>, JsError> {
        let delta = self.value.write(self.replica, value).map_err(js_error)?;
        Self::delta(&delta)
    }

    /// Removes every value this copy has seen; returns the delta.
    pub fn clear(&mut self) -> Result<Vec<u8>, JsError> {
        let delta = self.value.clear();
        Self::delta(&delta)
    }

    /// The standing values: one, or several after concurrent writes, or none.
    #[wasm_bindgen(getter)]
    pub fn values(&self) -> js_sys::Array {
        strings(self.value.values())
    }
}
