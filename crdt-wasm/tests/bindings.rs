//! The bindings as JS sees them, run in node by wasm-bindgen-test: values in and out, errors
//! thrown with messages, and two `Doc`s syncing through frames passed by hand, as a page does.

#![cfg(target_arch = "wasm32")]

use crdt_wasm::{AWSet, Cart, Doc, GCounter, LwwRegister, MvRegister, PNCounter, SharedText};
use wasm_bindgen::{JsCast, JsError, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

/// The message of a thrown error.
fn message(error: JsError) -> String {
    JsValue::from(error)
        .dyn_into::<js_sys::Error>()
        .expect("a JS Error")
        .message()
        .into()
}

/// `[{ item, quantity }]` as Rust pairs.
fn rows(items: js_sys::Array) -> Vec<(String, f64)> {
    items
        .iter()
        .map(|row| {
            let item = js_sys::Reflect::get(&row, &"item".into()).unwrap();
            let quantity = js_sys::Reflect::get(&row, &"quantity".into()).unwrap();
            (item.as_string().unwrap(), quantity.as_f64().unwrap())
        })
        .collect()
}

fn texts(values: js_sys::Array) -> Vec<String> {
    values
        .iter()
        .map(|value| value.as_string().unwrap())
        .collect()
}

#[wasm_bindgen_test]
fn cart_concurrent_adds_add_up_and_a_remove_keeps_unseen_adds() {
    let mut alice = Cart::new(None).unwrap();
    let mut bob = Cart::new(None).unwrap();
    assert_ne!(alice.replica_id(), bob.replica_id());
    bob.merge(&alice.add("milk".into(), 2.0).unwrap()).unwrap();

    let from_alice = alice.add("milk".into(), 1.0).unwrap();
    let from_bob = bob.add("milk".into(), 1.0).unwrap();
    assert!(alice.merge(&from_bob).unwrap());
    assert!(bob.merge(&from_alice).unwrap());
    assert_eq!(rows(alice.items()), [("milk".to_owned(), 4.0)]);

    let removal = alice.remove("milk".into()).unwrap();
    let unseen = bob.add("milk".into(), 5.0).unwrap();
    alice.merge(&unseen).unwrap();
    bob.merge(&removal).unwrap();
    assert_eq!(rows(alice.items()), [("milk".to_owned(), 5.0)]);
    assert_eq!(rows(bob.items()), rows(alice.items()));
    assert_eq!(bob.quantity("milk".into()), Some(5.0));
    assert_eq!(bob.quantity("tea".into()), None);

    // Joining the same delta again changes nothing.
    assert!(!alice.merge(&unseen).unwrap());
    // A whole state restores under a new replica id.
    let copy = Cart::decode(&alice.encode().unwrap(), None).unwrap();
    assert_eq!(rows(copy.items()), rows(alice.items()));
    assert_ne!(copy.replica_id(), alice.replica_id());
}

#[wasm_bindgen_test]
fn carts_and_sets_list_in_name_order_on_every_replica() {
    let names = [
        "zucchini", "apples", "milk", "bread", "eggs", "cheese", "coffee", "dates",
    ];
    let mut sorted = names.map(str::to_owned);
    sorted.sort();
    let mut cart = Cart::new(None).unwrap();
    let mut set = AWSet::new(None).unwrap();
    let mut doc = Doc::new("groceries".into(), None).unwrap();
    for name in names {
        cart.add(name.into(), 1.0).unwrap();
        set.add(name.into()).unwrap();
        doc.set_add("tags", name.into()).unwrap();
    }
    let listed: Vec<String> = rows(cart.items())
        .into_iter()
        .map(|(item, _)| item)
        .collect();
    assert_eq!(listed, sorted);
    assert_eq!(texts(set.values()), sorted);
    assert_eq!(texts(doc.set("tags").unwrap()), sorted);
}

#[wasm_bindgen_test]
fn bad_input_throws_errors_with_messages_and_changes_nothing() {
    let mut cart = Cart::new(None).unwrap();
    cart.add("milk".into(), 1.0).unwrap();
    let before = cart.encode().unwrap();

    let error = message(cart.add("milk".into(), 1.5).unwrap_err());
    assert!(error.contains("integer"), "{error}");
    assert!(message(cart.add("milk".into(), f64::NAN).unwrap_err()).contains("integer"));
    assert!(message(cart.add(String::new(), 1.0).unwrap_err()).contains("empty"));
    let error = message(cart.merge(&[1, 2, 3]).unwrap_err());
    assert!(!error.is_empty());
    // Another type's encoding is refused too.
    let counter = GCounter::new(None).unwrap();
    assert!(cart.merge(&counter.encode().unwrap()).is_err());
    assert!(message(Cart::new(Some("not-a-uuid".into())).unwrap_err()).contains("replica id"));
    assert_eq!(cart.encode().unwrap(), before);
}

#[wasm_bindgen_test]
fn shared_text_counts_code_points_and_merges_concurrent_inserts() {
    let mut here = SharedText::new(None).unwrap();
    let mut there = SharedText::new(None).unwrap();
    there.merge(&here.insert(0.0, "h😀llo").unwrap()).unwrap();
    assert_eq!(here.length(), 5.0);

    let a = here.delete(1.0, 1.0).unwrap();
    let b = there.insert(5.0, " world").unwrap();
    let c = here.insert(1.0, "e").unwrap();
    there.merge(&a).unwrap();
    there.merge(&c).unwrap();
    here.merge(&b).unwrap();
    assert_eq!(here.to_js_string(), "hello world");
    assert_eq!(there.to_js_string(), "hello world");

    let error = message(here.insert(99.0, "x").unwrap_err());
    assert!(!error.is_empty());
    assert!(here.delete(-1.0, 1.0).is_err());
    assert_eq!(here.to_js_string(), "hello world");
}

#[wasm_bindgen_test]
fn counters_registers_and_sets() {
    let mut up = GCounter::new(None).unwrap();
    let mut other = GCounter::new(None).unwrap();
    other.merge(&up.increment(3.0).unwrap()).unwrap();
    up.merge(&other.increment(4.0).unwrap()).unwrap();
    assert_eq!(up.value(), 7.0);
    assert!(up.increment(-1.0).is_err());

    let mut balance = PNCounter::new(None).unwrap();
    balance.add(5.0).unwrap();
    balance.add(-8.0).unwrap();
    assert_eq!(balance.value(), -3.0);

    let mut last = LwwRegister::new(None).unwrap();
    assert_eq!(last.value(), None);
    let mut other_last = LwwRegister::new(None).unwrap();
    other_last
        .merge(&last.set("first".into()).unwrap())
        .unwrap();
    last.merge(&other_last.set("second".into()).unwrap())
        .unwrap();
    assert_eq!(last.value().as_deref(), Some("second"));

    let mut colour = MvRegister::new(None).unwrap();
    let mut other_colour = MvRegister::new(None).unwrap();
    let blue = colour.write("blue".into()).unwrap();
    let green = other_colour.write("green".into()).unwrap();
    colour.merge(&green).unwrap();
    other_colour.merge(&blue).unwrap();
    let mut values = texts(colour.values());
    values.sort();
    assert_eq!(values, ["blue", "green"]);
    colour.write("red".into()).unwrap();
    assert_eq!(texts(colour.values()), ["red"]);

    let mut fruit = AWSet::new(None).unwrap();
    let mut other_fruit = AWSet::new(None).unwrap();
    other_fruit
        .merge(&fruit.add("apple".into()).unwrap())
        .unwrap();
    let removal = fruit.remove("apple".into()).unwrap();
    let again = other_fruit.add("apple".into()).unwrap();
    fruit.merge(&again).unwrap();
    other_fruit.merge(&removal).unwrap();
    assert!(fruit.has("apple".into()) && other_fruit.has("apple".into()));
    assert_eq!(texts(fruit.values()), ["apple"]);
    assert_eq!(fruit.size(), 1);
}

/// Passes frames between two connected docs until neither has anything to send.
fn exchange(a: &mut Doc, b: &mut Doc, now: f64) {
    for _ in 0..100 {
        let to_b = a.outgoing(now);
        let to_a = b.outgoing(now);
        if to_b.length() == 0 && to_a.length() == 0 {
            return;
        }
        for frame in to_b.iter() {
            b.receive(&js_sys::Uint8Array::from(frame).to_vec(), now)
                .unwrap();
        }
        for frame in to_a.iter() {
            a.receive(&js_sys::Uint8Array::from(frame).to_vec(), now)
                .unwrap();
        }
    }
    panic!("the docs kept sending after 100 exchanges");
}

#[wasm_bindgen_test]
fn two_docs_sync_online_and_after_offline_edits() {
    let mut alice = Doc::new("groceries".into(), None).unwrap();
    let mut bob = Doc::new("groceries".into(), None).unwrap();
    assert_eq!(alice.status(), "offline");
    alice.cart_add("cart", "milk".into(), 1.0).unwrap();

    alice.connect(String::new(), 0.0);
    bob.connect(String::new(), 0.0);
    assert_eq!(alice.status(), "connecting");
    exchange(&mut alice, &mut bob, 1.0);
    assert_eq!(rows(bob.cart("cart").unwrap()), [("milk".to_owned(), 1.0)]);
    assert_eq!(texts(bob.take_remote_changes()), ["cart"]);
    assert_eq!(bob.take_remote_changes().length(), 0);
    assert_eq!(alice.status(), "synced");
    assert_eq!(bob.status(), "synced");

    // Offline, both change the same item and the note.
    alice.disconnect();
    bob.disconnect();
    alice.cart_add("cart", "milk".into(), 2.0).unwrap();
    bob.cart_add("cart", "milk".into(), 1.0).unwrap();
    bob.cart_remove("cart", "milk".into()).unwrap();
    alice.text_insert("note", 0.0, "oat").unwrap();
    bob.text_insert("note", 0.0, "milk: ").unwrap();
    assert!(alice.text_insert("note", 10.0, "x").is_err());

    alice.connect(String::new(), 2.0);
    bob.connect(String::new(), 2.0);
    exchange(&mut alice, &mut bob, 3.0);
    // Bob's remove had seen the first 1 and his own 1, not Alice's 2.
    assert_eq!(
        rows(alice.cart("cart").unwrap()),
        [("milk".to_owned(), 2.0)]
    );
    assert_eq!(rows(bob.cart("cart").unwrap()), [("milk".to_owned(), 2.0)]);
    assert_eq!(alice.text("note").unwrap(), bob.text("note").unwrap());
    assert_eq!(alice.text("note").unwrap().len(), "oatmilk: ".len());
    assert_eq!(alice.save().unwrap().len(), alice.save().unwrap().len());
}

#[wasm_bindgen_test]
fn a_saved_doc_comes_back_as_the_same_replica_with_its_edits() {
    let mut doc = Doc::new("groceries".into(), None).unwrap();
    doc.cart_add("cart", "bread".into(), 2.0).unwrap();
    doc.set_add("tags", "weekly".into()).unwrap();
    doc.counter_add("visits", 3.0).unwrap();
    doc.register_write("owner", "ada".into()).unwrap();
    let saved = doc.save().unwrap();

    let mut back = Doc::new("groceries".into(), Some(saved.clone())).unwrap();
    assert_eq!(back.replica_id(), doc.replica_id());
    assert_eq!(
        rows(back.cart("cart").unwrap()),
        [("bread".to_owned(), 2.0)]
    );
    assert_eq!(texts(back.set("tags").unwrap()), ["weekly"]);
    assert_eq!(back.counter("visits").unwrap(), 3.0);
    assert_eq!(texts(back.register("owner").unwrap()), ["ada"]);
    assert_eq!(texts(back.ids()), ["cart", "owner", "tags", "visits"]);
    back.cart_add("cart", "bread".into(), 1.0).unwrap();
    assert_eq!(
        rows(back.cart("cart").unwrap()),
        [("bread".to_owned(), 3.0)]
    );

    // Reading or editing an object as another type is refused.
    assert!(back.text("cart").is_err());
    assert!(back.text_insert("cart", 0.0, "x").is_err());

    let error = message(Doc::new("other".into(), Some(saved.clone())).err().unwrap());
    assert!(error.contains("other"), "{error}");
    for cut in [0, 5, 9, saved.len() - 1] {
        assert!(Doc::new("groceries".into(), Some(saved[..cut].to_vec())).is_err());
    }
    let mut flipped = saved.clone();
    flipped[3] ^= 0xff;
    assert!(Doc::new("groceries".into(), Some(flipped)).is_err());
}

#[wasm_bindgen_test]
fn a_bad_frame_fails_the_session_without_throwing() {
    let mut doc = Doc::new("groceries".into(), None).unwrap();
    assert!(doc.receive(&[1, 2, 3], 0.0).is_err(), "no session yet");
    doc.connect("token".into(), 0.0);
    assert_eq!(doc.outgoing(0.0).length(), 1, "the handshake");
    doc.receive(&[0xff; 16], 1.0).unwrap();
    assert_eq!(doc.status(), "failed");
    let reason = doc.error().unwrap();
    assert!(!reason.is_empty());
    // The error frame for the relay.
    assert_eq!(doc.outgoing(1.0).length(), 1);
    doc.disconnect();
    assert_eq!(doc.status(), "offline");
    assert_eq!(doc.error(), None);
    assert!(doc.next_timeout_ms().is_none());
}
