//! [`Doc`]: one replica of a collection, with the sync session the page drives.
//!
//! ```js
//! const doc = new Doc('groceries', savedBytesOrUndefined);
//! doc.cartAdd('cart', 'milk', 1);
//! doc.textInsert('note', 0, 'oat milk, please');
//! const ws = new WebSocket(`ws://${location.host}/sync`);
//! ws.binaryType = 'arraybuffer';
//! const flush = () => doc.outgoing(performance.now()).forEach((frame) => ws.send(frame));
//! ws.onopen = () => { doc.connect(token, performance.now()); flush(); };
//! ws.onmessage = (event) => {
//!   doc.receive(new Uint8Array(event.data), performance.now());
//!   flush();
//!   if (doc.takeRemoteChanges().length > 0) render();
//! };
//! ws.onclose = () => doc.disconnect();
//! // And a timer: at doc.nextTimeoutMs(), call doc.tick(performance.now()) and flush().
//! ```
//!
//! A `Doc` holds a `crdt_sync::collection::Collection`: named objects of the wrapper types
//! (a cart, a text, a set, …), each edited through the `Doc`'s methods, which log the delta
//! for the relay. The sync session is `crdt_sync::session::Session`, the same state machine
//! the native client and the relay run: the handshake, delta gossip with acknowledgements and
//! retransmission, and Merkle anti-entropy on connect and every minute. It never touches the
//! network or a clock: the page passes frames in (`receive`), sends what `outgoing` returns,
//! and calls `tick` when `nextTimeoutMs` comes. A session lives as long as one WebSocket;
//! `connect` starts the next one, which repairs whatever the break left out.
//!
//! Edits made while offline are kept and sent on the next connection. `save` returns a
//! snapshot for IndexedDB or localStorage; `new Doc(name, snapshot)` comes back as the same
//! replica. Two live copies must never share a snapshot (they would be one replica making
//! two histories): give each tab its own.

use std::collections::BTreeSet;

use crdt_core::{AWSet, MvRegister, PNCounter, Text};
use crdt_sync::collection::Collection;
use crdt_sync::object::{CounterMap, ObjectType};
use crdt_sync::object_id::ObjectId;
use crdt_sync::session::{Session, SessionConfig};
use crdt_sync::snapshot;
use wasm_bindgen::prelude::*;

use crate::js_value::{js_error, millis, number, object_id, sorted_strings, strings};
use crate::{cart, counter, text};

/// One replica of a collection and its sync session; see the module docs.
#[wasm_bindgen]
pub struct Doc {
    collection: Collection,
    session: Option<Session>,
    /// Objects changed by peers and not yet reported by `takeRemoteChanges`.
    remote_changes: BTreeSet<ObjectId>,
}

#[wasm_bindgen]
impl Doc {
    /// A replica of `collection`: restored from `saved` (bytes `save` returned), or new, with
    /// a fresh random replica id. Throws if `saved` is not a snapshot of this collection.
    #[wasm_bindgen(constructor)]
    pub fn new(collection: String, saved: Option<Vec<u8>>) -> Result<Doc, JsError> {
        let collection = match saved {
            Some(bytes) => snapshot::load(&bytes, &collection).map_err(js_error)?,
            None => Collection::new(collection, crdt_core::ReplicaId::random()),
        };
        Ok(Self {
            collection,
            session: None,
            remote_changes: BTreeSet::new(),
        })
    }

    /// This replica's id.
    #[wasm_bindgen(getter, js_name = replicaId)]
    pub fn replica_id(&self) -> String {
        self.collection.replica().to_string()
    }

    /// The collection's name.
    #[wasm_bindgen(getter)]
    pub fn collection(&self) -> String {
        self.collection.name().to_owned()
    }

    /// A snapshot of this replica to persist; `new Doc(collection, snapshot)` restores it.
    pub fn save(&self) -> Result<Vec<u8>, JsError> {
        snapshot::save(&self.collection).map_err(js_error)
    }

    /// The ids of the objects in the collection, sorted.
    pub fn ids(&self) -> js_sys::Array {
        self.collection
            .iter()
            .map(|(id, _)| JsValue::from_str(id.as_str()))
            .collect()
    }

    /// The ids of objects that peers changed since the last call.
    #[wasm_bindgen(js_name = takeRemoteChanges)]
    pub fn take_remote_changes(&mut self) -> js_sys::Array {
        std::mem::take(&mut self.remote_changes)
            .iter()
            .map(|id| JsValue::from_str(id.as_str()))
            .collect()
    }

    /// Adds `amount` (an integer, negative to take away) of `item` to the cart `id`.
    #[wasm_bindgen(js_name = cartAdd)]
    pub fn cart_add(&mut self, id: &str, item: String, amount: f64) -> Result<(), JsError> {
        self.edit(id, |value: &mut CounterMap, replica| {
            cart::add(value, replica, item, amount)
        })
    }

    /// Removes `item` from the cart `id`, as this replica has seen it.
    #[wasm_bindgen(js_name = cartRemove)]
    pub fn cart_remove(&mut self, id: &str, item: String) -> Result<(), JsError> {
        self.edit(id, |value: &mut CounterMap, _| Ok(value.remove(&item)))
    }

    /// The cart `id`'s items, by name: `[{ item, quantity }]` (empty if there is no such
    /// object). Semantics as for [`crate::Cart`].
    pub fn cart(&self, id: &str) -> Result<js_sys::Array, JsError> {
        Ok(self
            .read::<CounterMap>(id)?
            .map(cart::items)
            .unwrap_or_default())
    }

    /// Inserts `text` before code point `index` of the text `id`.
    #[wasm_bindgen(js_name = textInsert)]
    pub fn text_insert(&mut self, id: &str, index: f64, text: &str) -> Result<(), JsError> {
        self.edit(id, |value: &mut Text, replica| {
            text::insert(value, replica, index, text)
        })
    }

    /// Deletes `count` code points from `index` of the text `id`.
    #[wasm_bindgen(js_name = textDelete)]
    pub fn text_delete(&mut self, id: &str, index: f64, count: f64) -> Result<(), JsError> {
        self.edit(id, |value: &mut Text, replica| {
            text::delete(value, replica, index, count)
        })
    }

    /// The text `id` ("" if there is no such object). Semantics as for [`crate::SharedText`].
    pub fn text(&self, id: &str) -> Result<String, JsError> {
        Ok(self
            .read::<Text>(id)?
            .map(|text| text.chars().collect())
            .unwrap_or_default())
    }

    /// Adds `amount` (an integer, negative to subtract) to the counter `id`.
    #[wasm_bindgen(js_name = counterAdd)]
    pub fn counter_add(&mut self, id: &str, amount: f64) -> Result<(), JsError> {
        self.edit(id, |value: &mut PNCounter, replica| {
            counter::add(value, replica, amount)
        })
    }

    /// The counter `id`'s value (0 if there is no such object). Semantics as for
    /// [`crate::PNCounter`].
    pub fn counter(&self, id: &str) -> Result<f64, JsError> {
        Ok(number(
            self.read::<PNCounter>(id)?.map_or(0, PNCounter::value),
        ))
    }

    /// Writes `value` to the multi-value register `id`, replacing the values seen here.
    #[wasm_bindgen(js_name = registerWrite)]
    pub fn register_write(&mut self, id: &str, value: String) -> Result<(), JsError> {
        self.edit(id, |register: &mut MvRegister<String>, replica| {
            register.write(replica, value).map_err(js_error)
        })
    }

    /// The register `id`'s standing values (none if there is no such object). Semantics as
    /// for [`crate::MvRegister`].
    pub fn register(&self, id: &str) -> Result<js_sys::Array, JsError> {
        Ok(self
            .read::<MvRegister<String>>(id)?
            .map(|register| strings(register.values()))
            .unwrap_or_default())
    }

    /// Adds `value` to the set `id`.
    #[wasm_bindgen(js_name = setAdd)]
    pub fn set_add(&mut self, id: &str, value: String) -> Result<(), JsError> {
        self.edit(id, |set: &mut AWSet<String>, replica| {
            set.add(replica, value).map_err(js_error)
        })
    }

    /// Removes `value` from the set `id`, as this replica has seen it.
    #[wasm_bindgen(js_name = setRemove)]
    pub fn set_remove(&mut self, id: &str, value: String) -> Result<(), JsError> {
        self.edit(id, |set: &mut AWSet<String>, _| Ok(set.remove(&value)))
    }

    /// The set `id`'s elements, sorted (none if there is no such object). Semantics as for
    /// [`crate::AWSet`].
    pub fn set(&self, id: &str) -> Result<js_sys::Array, JsError> {
        Ok(self
            .read::<AWSet<String>>(id)?
            .map(|set| sorted_strings(set.iter()))
            .unwrap_or_default())
    }

    /// Starts a sync session (call it when the WebSocket opens), replacing any earlier one.
    /// `token` is the relay's access token for this collection ("" for none).
    pub fn connect(&mut self, token: String, #[wasm_bindgen(js_name = nowMs)] now_ms: f64) {
        self.disconnect();
        let config = SessionConfig {
            token,
            ..SessionConfig::for_stream()
        };
        self.session = Some(Session::new(&mut self.collection, config, millis(now_ms)));
    }

    /// Ends the session (call it when the WebSocket closes or the page goes offline). Edits
    /// made from now on wait for the next `connect`.
    pub fn disconnect(&mut self) {
        if let Some(peer) = self.session.take().and_then(|session| session.peer()) {
            self.collection.detach_peer(peer);
        }
    }

    /// Handles one binary WebSocket message. A malformed or refused frame never throws: the
    /// session fails (`status()` is "failed", `error()` says why) after queueing an error
    /// frame for the relay. Throws only if there is no session (`connect` first).
    pub fn receive(
        &mut self,
        frame: &[u8],
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
    ) -> Result<(), JsError> {
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| js_error("no session: call connect when the WebSocket opens"))?;
        session.handle_frame(&mut self.collection, frame, millis(now_ms));
        self.remote_changes.extend(self.collection.take_changed());
        Ok(())
    }

    /// The frames to send now, in order (an array of `Uint8Array`; empty without a session).
    pub fn outgoing(&mut self, #[wasm_bindgen(js_name = nowMs)] now_ms: f64) -> js_sys::Array {
        let frames = js_sys::Array::new();
        if let Some(session) = self.session.as_mut() {
            while let Some(frame) = session.poll_transmit(&mut self.collection, millis(now_ms)) {
                frames.push(&js_sys::Uint8Array::from(frame.as_slice()));
            }
        }
        frames
    }

    /// Runs the session's timers that are due: retransmission, timeouts, anti-entropy.
    pub fn tick(&mut self, #[wasm_bindgen(js_name = nowMs)] now_ms: f64) {
        if let Some(session) = self.session.as_mut() {
            session.handle_timeout(&mut self.collection, millis(now_ms));
        }
    }

    /// When to call `tick` next, on the clock of `nowMs`; `undefined` if no timer is set.
    #[wasm_bindgen(js_name = nextTimeoutMs)]
    pub fn next_timeout_ms(&self) -> Option<f64> {
        self.session
            .as_ref()
            .and_then(Session::poll_timeout)
            .map(|at| at as f64)
    }

    /// "offline" (no session), "connecting" (waiting for the relay's handshake), "syncing"
    /// (changes or a repair in flight), "synced" (the relay has everything this replica has
    /// sent and no repair is running), or "failed" (the session ended with an error).
    pub fn status(&self) -> String {
        match &self.session {
            None => "offline",
            Some(session) if session.is_closed() => "failed",
            Some(session) if session.peer().is_none() => "connecting",
            Some(session) if session.is_idle(&self.collection) => "synced",
            Some(_) => "syncing",
        }
        .to_owned()
    }

    /// Why the session failed (`status()` is "failed"), or `undefined`.
    pub fn error(&self) -> Option<String> {
        self.session
            .as_ref()
            .and_then(Session::close_reason)
            .map(ToString::to_string)
    }
}

impl Doc {
    /// Edits the object `id` as a `T` with `edit`, logging the delta for the relay; a refused
    /// edit changes nothing.
    fn edit<T: ObjectType + Clone>(
        &mut self,
        id: &str,
        edit: impl FnOnce(&mut T, crdt_core::ReplicaId) -> Result<T, JsError>,
    ) -> Result<(), JsError> {
        let id = object_id(id)?;
        self.collection.try_update(&id, edit)?;
        // Local edits are not news to the page; remote ones were taken out at `receive`.
        self.collection.take_changed();
        Ok(())
    }

    /// The object `id` as a `T`, if present; throws if it holds another type.
    fn read<T: ObjectType>(&self, id: &str) -> Result<Option<&T>, JsError> {
        let id = object_id(id)?;
        self.collection.get_as::<T>(&id).map_err(js_error)
    }
}
