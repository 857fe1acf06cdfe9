//! WebAssembly bindings of the CRDT toolkit, so that a browser tab is a full peer.
//!
//! ```js
//! import init, { Doc, Cart } from './pkg/crdt_wasm.js';
//! await init();
//!
//! // One replica of the collection "groceries", synced through a relay.
//! const doc = new Doc('groceries');
//! doc.cartAdd('cart', 'milk', 2);
//! const ws = new WebSocket(`ws://${location.host}/sync`);
//! ws.binaryType = 'arraybuffer';
//! const flush = () => doc.outgoing(performance.now()).forEach((frame) => ws.send(frame));
//! ws.onopen = () => { doc.connect('', performance.now()); flush(); };
//! ws.onmessage = (event) => { doc.receive(new Uint8Array(event.data), performance.now()); flush(); };
//! ws.onclose = () => doc.disconnect();
//! localStorage.setItem('groceries', btoa(String.fromCharCode(...doc.save())));
//!
//! // The types alone, exchanging deltas by any means.
//! const mine = new Cart(), theirs = new Cart();
//! theirs.merge(mine.add('bread', 1));
//! console.log(theirs.items()); // [{ item: 'bread', quantity: 1 }]
//! ```
//!
//! Two layers, each a thin shell over the Rust crates:
//! - The types ([`Cart`], [`SharedText`], [`AWSet`], [`GCounter`], [`PNCounter`],
//!   [`LwwRegister`], [`MvRegister`]): concrete, non-generic wrappers (wasm-bindgen cannot
//!   export generics) whose mutators return the delta as bytes, which `merge` joins anywhere (`merge` is
//!   crdt-core's `join`, under the name JavaScript libraries use).
//!   Their semantics are crdt-core's, stated on each wrapper.
//! - [`Doc`]: one replica of a crdt-sync collection of such objects, with the sans-IO sync
//!   session of `crdt_sync::session`. The page owns the WebSocket and the timers and passes
//!   bytes in and out; `save` gives a snapshot to keep in IndexedDB or localStorage.
//!
//! Values cross as plain JS values (strings, numbers, arrays, objects); every failure is a
//! thrown JS `Error` with a message, never a panic, whatever bytes come in. The generated
//! TypeScript definitions (`crdt_wasm.d.ts`) carry these docs.

#![deny(missing_docs)]

mod cart;
mod counter;
mod doc;
mod js_value;
mod register;
mod set;
mod text;
mod wrapper;

pub use cart::Cart;
pub use counter::{GCounter, PNCounter};
pub use doc::Doc;
pub use register::{LwwRegister, MvRegister};
pub use set::AWSet;
pub use text::SharedText;
