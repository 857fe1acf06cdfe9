//! [`SharedText`]: plain text that several replicas edit at once (`crdt_core::Text`, ordered by
//! FugueMax).
//!
//! ```js
//! const here = new SharedText(), there = new SharedText();
//! there.merge(here.insert(0, 'hello'));
//! const a = here.insert(5, ' world'), b = there.insert(0, 'Say: ');   // concurrently
//! here.merge(b); there.merge(a);
//! here.toString(); // 'Say: hello world', the same at `there`
//! ```
//!
//! Semantics: positions and lengths count Unicode code points (as `Array.from(text)` does),
//! not UTF-16 units. Every inserted character keeps its identity, so concurrent inserts all
//! stay, each where its author put it; concurrent inserts at one place are ordered the same
//! way on every replica, and concurrent runs of text typed at one place are never interleaved,
//! whichever direction each was typed in (FugueMax: Weidner and Kleppmann, "The Art of the
//! Fugue", 2023, arXiv:2305.00583; `crdt_core::Rga` states the guarantee exactly). A delete
//! removes the characters its author saw; what grows is the record of deleted characters'
//! identities (runs of them, compactly).

use crdt_core::{ReplicaId, Text};
use wasm_bindgen::prelude::*;

use crate::js_value::{count, js_error};
use crate::wrapper::wrapper;

wrapper! {
    /// Collaborative plain text; see the module docs.
    SharedText(Text)
}

#[wasm_bindgen]
impl SharedText {
    /// Inserts `text` before code point `index` (0 ..= length); returns the delta.
    pub fn insert(&mut self, index: f64, text: &str) -> Result<Vec<u8>, JsError> {
        let delta = insert(&mut self.value, self.replica, index, text)?;
        Self::delta(&delta)
    }

    /// Deletes `count` code points from `index`; returns the delta.
    pub fn delete(&mut self, index: f64, count: f64) -> Result<Vec<u8>, JsError> {
        let delta = delete(&mut self.value, self.replica, index, count)?;
        Self::delta(&delta)
    }

    /// The length in code points.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> f64 {
        self.value.len() as f64
    }

    /// The text.
    #[wasm_bindgen(js_name = toString)]
    pub fn to_js_string(&self) -> String {
        self.value.chars().collect()
    }
}

/// Inserts `text` at code point `index` as `replica`; the delta.
pub(crate) fn insert(
    value: &mut Text,
    replica: ReplicaId,
    index: f64,
    text: &str,
) -> Result<Text, JsError> {
    let index = count(index, "index")?;
    value.insert(replica, index, text).map_err(js_error)
}

/// Deletes `length` code points from `index` as `replica`; the delta.
pub(crate) fn delete(
    value: &mut Text,
    replica: ReplicaId,
    index: f64,
    length: f64,
) -> Result<Text, JsError> {
    let index = count(index, "index")?;
    let length = count(length, "count")?;
    value.delete(replica, index, length).map_err(js_error)
}
