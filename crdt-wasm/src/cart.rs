//! [`Cart`]: a shopping cart, item → quantity (`crdt_sync::object::CounterMap`).
//!
//! ```js
//! const alice = new Cart(), bob = new Cart();
//! bob.merge(alice.add('milk', 2));
//! // Concurrently: Alice removes the milk, Bob adds one more.
//! const removal = alice.remove('milk');
//! const more = bob.add('milk', 1);
//! alice.merge(more); bob.merge(removal);
//! alice.items(); // [{ item: 'milk', quantity: 1 }], and the same at Bob
//! ```
//!
//! Semantics: each quantity is a `crdt_core::CausalCounter` inside an observed-remove map.
//! Concurrent adds of one item add up. Removing an item removes the adds the remover had
//! seen; an add it had not seen stands alone with its own amount. An item stays listed while
//! any add stands, even if concurrent decrements took its quantity to 0 or below. What grows:
//! one entry per add since the item was last removed.

use crdt_core::{CausalCounter, ReplicaId};
use crdt_sync::object::CounterMap;
use wasm_bindgen::prelude::*;

use crate::js_value::{amount, js_error, number};
use crate::wrapper::wrapper;

wrapper! {
    /// A shopping cart of item → quantity; see the module docs for what wins on conflict.
    Cart(CounterMap)
}

#[wasm_bindgen]
impl Cart {
    /// Adds `amount` (an integer; negative to take away) of `item`; returns the delta.
    pub fn add(&mut self, item: String, amount: f64) -> Result<Vec<u8>, JsError> {
        let delta = add(&mut self.value, self.replica, item, amount)?;
        Self::delta(&delta)
    }

    /// Removes `item` as this copy has seen it; returns the delta.
    pub fn remove(&mut self, item: String) -> Result<Vec<u8>, JsError> {
        let delta = self.value.remove(&item);
        Self::delta(&delta)
    }

    /// The quantity of `item`, or `undefined` if it is not in the cart.
    pub fn quantity(&self, item: String) -> Option<f64> {
        self.value
            .get(&item)
            .map(|counter| number(counter.value().into()))
    }

    /// The items in the cart, by name: `[{ item, quantity }]`.
    pub fn items(&self) -> js_sys::Array {
        items(&self.value)
    }
}

/// Adds `amount` of `item` as `replica`; the delta.
pub(crate) fn add(
    cart: &mut CounterMap,
    replica: ReplicaId,
    item: String,
    value: f64,
) -> Result<CounterMap, JsError> {
    let value = amount(value, "amount")?;
    if item.is_empty() {
        return Err(js_error("an item name must not be empty"));
    }
    cart.update(item, |quantity: &mut CausalCounter| {
        quantity.add(replica, value)
    })
    .map_err(js_error)
}

/// `[{ item, quantity }]`, by item name.
pub(crate) fn items(cart: &CounterMap) -> js_sys::Array {
    // The map keeps its keys in no particular order; the page wants them stable.
    let mut items: Vec<&String> = cart.keys().collect();
    items.sort_unstable();
    items
        .into_iter()
        .filter_map(|item| cart.get(item).map(|counter| (item, counter.value())))
        .map(|(item, quantity)| {
            let row = js_sys::Object::new();
            // Setting a property on a fresh plain object cannot fail.
            let _ = js_sys::Reflect::set(&row, &"item".into(), &item.into());
            let _ = js_sys::Reflect::set(&row, &"quantity".into(), &number(quantity.into()).into());
            JsValue::from(row)
        })
        .collect()
}
