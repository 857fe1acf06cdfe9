//! [`AWSet`]: an add-wins set of strings.
//!
//! ```js
//! const here = new AWSet(), there = new AWSet();
//! there.merge(here.add('apples'));
//! const removal = here.remove('apples');   // concurrently:
//! const again = there.add('apples');
//! here.merge(again); there.merge(removal);
//! here.has('apples'); // true: the add the remove had not seen wins
//! ```
//!
//! Semantics: an element is present while an add of it stands. A remove takes away the adds
//! this copy had seen, so on a concurrent add and remove the add wins. There are no
//! tombstones: what is kept is one event per standing add, and removes are remembered only by
//! the causal context, which grows with the number of replicas.

use wasm_bindgen::prelude::*;

use crate::js_value::{js_error, sorted_strings};
use crate::wrapper::wrapper;

wrapper! {
    /// An add-wins observed-remove set of strings; see the module docs.
    AWSet(crdt_core::AWSet<String>)
}

#[wasm_bindgen]
impl AWSet {
    /// Adds `value`; returns the delta.
    pub fn add(&mut self, value: String) -> Result<Vec<u8>, JsError> {
        let delta = self.value.add(self.replica, value).map_err(js_error)?;
        Self::delta(&delta)
    }

    /// Removes `value` as this copy has seen it; returns the delta.
    pub fn remove(&mut self, value: String) -> Result<Vec<u8>, JsError> {
        let delta = self.value.remove(&value);
        Self::delta(&delta)
    }

    /// Whether `value` is present.
    pub fn has(&self, value: String) -> bool {
        self.value.contains(&value)
    }

    /// The elements, in sorted order.
    #[wasm_bindgen(getter)]
    pub fn values(&self) -> js_sys::Array {
        sorted_strings(self.value.iter())
    }

    /// The number of elements.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> usize {
        self.value.len()
    }
}
