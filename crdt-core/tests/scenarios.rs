//! Named scenarios with their expected outcomes: the semantics each module documents.

use std::cmp::Ordering;

use crdt_core::{
    AWSet, CausalContext, CausalCounter, CausalityError, Codec, DeltaSince, Dot, GCounter,
    HybridClock, Lattice, LwwRegister, MvRegister, ORMap, PNCounter, ReplicaId, Text,
    VersionVector,
};

const ALICE: ReplicaId = ReplicaId::from_u128(0xa11ce);
const BOB: ReplicaId = ReplicaId::from_u128(0xb0b);
const CAROL: ReplicaId = ReplicaId::from_u128(0xca201);

/// Joins `a` and `b` both ways and checks they agree, returning the result.
fn converge<T: Lattice + std::fmt::Debug>(a: &T, b: &T) -> T {
    let ab = a.clone().joined(b);
    let ba = b.clone().joined(a);
    assert_eq!(ab, ba, "replicas did not converge");
    ab
}

#[test]
fn aw_set_concurrent_add_and_remove_of_one_element_add_wins() {
    let mut alice = AWSet::new();
    alice.add(ALICE, "milk").unwrap();
    let mut bob = alice.clone();

    alice.remove(&"milk");
    bob.add(BOB, "milk").unwrap();

    let merged = converge(&alice, &bob);
    assert!(merged.contains(&"milk"));
    assert_eq!(merged.len(), 1);
}

#[test]
fn aw_set_remove_only_removes_the_adds_it_observed() {
    let mut alice = AWSet::new();
    let mut bob = AWSet::new();
    alice.add(ALICE, "eggs").unwrap();
    bob.add(BOB, "eggs").unwrap(); // concurrent add Alice has not seen
    alice.remove(&"eggs"); // removes Alice's add only

    let merged = converge(&alice, &bob);
    assert!(
        merged.contains(&"eggs"),
        "Bob's unobserved add must survive"
    );

    // Once Alice has seen Bob's add, her remove takes both.
    let mut alice = merged.clone();
    alice.remove(&"eggs");
    let merged = converge(&alice, &bob);
    assert!(!merged.contains(&"eggs"));
    // No tombstone: the store is empty, the context remembers.
    assert!(merged.state().store().is_empty());
    assert!(merged.state().context().contains(&Dot::new(BOB, 1)));
}

#[test]
fn aw_set_removed_element_is_not_resurrected_by_a_stale_state() {
    let mut alice = AWSet::new();
    alice.add(ALICE, 1).unwrap();
    let stale = alice.clone();
    alice.remove(&1);
    alice.join(&stale);
    assert!(!alice.contains(&1));
}

#[test]
fn aw_set_delta_arriving_before_its_cause_is_not_lost() {
    let mut alice = AWSet::new();
    let add = alice.add(ALICE, "x").unwrap();
    let remove = alice.remove(&"x");
    let again = alice.add(ALICE, "x").unwrap();

    // Bob receives them backwards.
    let mut bob = AWSet::new();
    bob.join(&again);
    bob.join(&remove);
    bob.join(&add);
    assert_eq!(bob, alice);
    assert!(bob.contains(&"x"));
}

#[test]
fn mv_register_keeps_concurrent_writes_and_a_later_write_supersedes_both() {
    let mut alice = MvRegister::new();
    let mut bob = MvRegister::new();
    alice.write(ALICE, "red").unwrap();
    bob.write(BOB, "blue").unwrap();

    let mut merged = converge(&alice, &bob);
    let mut values: Vec<_> = merged.values().copied().collect();
    values.sort_unstable();
    assert_eq!(values, ["blue", "red"]);

    let delta = merged.write(CAROL, "green").unwrap();
    assert_eq!(merged.values().collect::<Vec<_>>(), [&"green"]);
    // The delta alone carries the supersession to a replica still holding both.
    alice.join(&bob);
    alice.join(&delta);
    assert_eq!(alice.values().collect::<Vec<_>>(), [&"green"]);
}

#[test]
fn or_map_concurrent_remove_and_update_keeps_only_the_unobserved_update() {
    // Documented outcome: observed-remove reset. The key survives with exactly the effects the
    // remover had not seen.
    let mut alice: ORMap<&str, AWSet<&str>> = ORMap::new();
    alice
        .update("pantry", |set| set.add(ALICE, "rice"))
        .unwrap();
    alice
        .update("pantry", |set| set.add(ALICE, "beans"))
        .unwrap();
    let mut bob = alice.clone();

    alice.remove(&"pantry");
    bob.update("pantry", |set| set.add(BOB, "salt")).unwrap();
    bob.update("pantry", |set| set.remove(&"rice")).unwrap();

    let merged = converge(&alice, &bob);
    let pantry = merged
        .get(&"pantry")
        .expect("the concurrent update keeps the key");
    assert_eq!(pantry.iter().collect::<Vec<_>>(), [&"salt"]);
}

#[test]
fn or_map_concurrent_remove_and_register_write() {
    let mut alice: ORMap<String, MvRegister<u32>> = ORMap::new();
    alice.update("milk".into(), |q| q.write(ALICE, 1)).unwrap();
    let mut bob = alice.clone();

    alice.remove(&"milk".into());
    bob.update("milk".into(), |q| q.write(BOB, 3)).unwrap();

    let merged = converge(&alice, &bob);
    let milk = merged.get(&"milk".into()).expect("the write survives");
    assert_eq!(milk.values().collect::<Vec<_>>(), [&3]);

    // Without a concurrent update, a remove removes the key everywhere.
    let mut carol = merged.clone();
    carol.remove(&"milk".into());
    assert!(!converge(&carol, &merged).contains_key(&"milk".into()));
}

#[test]
fn cart_concurrent_adds_of_one_item_add_up() {
    let mut alice: ORMap<String, crdt_core::CausalCounter> = ORMap::new();
    let mut bob = alice.clone();
    alice.update("milk".into(), |q| q.add(ALICE, 2)).unwrap();
    bob.update("milk".into(), |q| q.add(BOB, 1)).unwrap();
    let merged = converge(&alice, &bob);
    assert_eq!(merged.get(&"milk".into()).unwrap().value(), 3);
}

#[test]
fn cart_remove_keeps_exactly_the_adds_it_had_not_seen() {
    let mut alice: ORMap<String, crdt_core::CausalCounter> = ORMap::new();
    alice.update("milk".into(), |q| q.add(ALICE, 2)).unwrap();
    let mut bob = alice.clone();
    bob.update("milk".into(), |q| q.add(BOB, 3)).unwrap();
    let mut carol = bob.clone();

    // Carol saw all 5 and removes the milk; Bob, concurrently, takes one away and adds 4.
    carol.remove(&"milk".into());
    bob.update("milk".into(), |q| q.add(BOB, -1)).unwrap();
    bob.update("milk".into(), |q| q.add(BOB, 4)).unwrap();
    let merged = converge(&carol, &bob);
    assert_eq!(merged.get(&"milk".into()).unwrap().value(), 3);

    // Removed again by someone who saw everything, the item is gone everywhere.
    let mut dave = merged.clone();
    dave.remove(&"milk".into());
    assert!(!converge(&dave, &merged).contains_key(&"milk".into()));
}

#[test]
fn or_map_concurrent_updates_of_one_key_merge_by_the_value_type() {
    let mut alice: ORMap<u8, AWSet<u8>> = ORMap::new();
    let mut bob = alice.clone();
    alice.update(1, |set| set.add(ALICE, 10)).unwrap();
    bob.update(1, |set| set.add(BOB, 20)).unwrap();
    let merged = converge(&alice, &bob);
    let set = merged.get(&1).unwrap();
    let mut elements: Vec<_> = set.iter().copied().collect();
    elements.sort_unstable();
    assert_eq!(elements, [10, 20]);
}

#[test]
fn lww_register_equal_physical_time_on_two_replicas_is_decided_by_replica_id() {
    let mut alice_clock = HybridClock::new(ALICE);
    let mut bob_clock = HybridClock::new(BOB);
    let mut alice = LwwRegister::new();
    let mut bob = LwwRegister::new();
    alice.set("alice's", &mut alice_clock, &mut || 42).unwrap();
    bob.set("bob's", &mut bob_clock, &mut || 42).unwrap();
    assert_eq!(
        alice.timestamp().unwrap().millis,
        bob.timestamp().unwrap().millis
    );
    assert_ne!(alice.timestamp(), bob.timestamp());

    let merged = converge(&alice, &bob);
    // ALICE (0xa11ce) > BOB (0xb0b) as ids, so Alice's write wins on both replicas.
    assert!(ALICE > BOB);
    assert_eq!(merged.get(), Some(&"alice's"));

    // try_join sees no conflict: the timestamps differ.
    let mut checked = bob.clone();
    assert_eq!(checked.try_join(&alice), Ok(()));
    assert_eq!(checked, merged);
}

#[test]
fn lww_register_write_after_seeing_wins_despite_a_slow_clock() {
    let mut fast = HybridClock::new(ALICE);
    let mut slow = HybridClock::new(BOB);
    let mut register = LwwRegister::new();
    register.set(1, &mut fast, &mut || 1_000_000).unwrap();
    register.set(2, &mut slow, &mut || 5).unwrap(); // Bob's clock is far behind, but he saw the value
    assert_eq!(register.get(), Some(&2));
}

#[test]
fn lww_register_reused_replica_id_is_reported_not_silent() {
    // Two processes wrongly sharing one replica id and clock state.
    let mut first = HybridClock::new(ALICE);
    let mut second = HybridClock::new(ALICE);
    let mut a = LwwRegister::new();
    let mut b = LwwRegister::new();
    a.set("one", &mut first, &mut || 7).unwrap();
    b.set("two", &mut second, &mut || 7).unwrap();
    assert_eq!(a.timestamp(), b.timestamp());

    let mut checked = a.clone();
    assert_eq!(
        checked.try_join(&b),
        Err(CausalityError::DuplicateTimestamp(a.timestamp().unwrap()))
    );
    assert_eq!(checked, a, "a refused join changes nothing");
    // The plain join still converges, deterministically.
    assert_eq!(converge(&a, &b).get(), Some(&"two"));
}

#[test]
fn vector_clocks_in_the_classic_three_process_exchange() {
    // P1: a (local), b (send m1 to P2)
    // P2: c (local), d (receive m1), e (send m2 to P3)
    // P3: f (local), g (receive m2)
    let (p1, p2, p3) = (ALICE, BOB, CAROL);
    let mut clock1 = VersionVector::new();
    let mut clock2 = VersionVector::new();
    let mut clock3 = VersionVector::new();

    clock1.increment(p1).unwrap();
    let a = clock1.clone();
    clock1.increment(p1).unwrap();
    let b = clock1.clone();
    let m1 = b.clone();

    clock2.increment(p2).unwrap();
    let c = clock2.clone();
    clock2.join(&m1);
    clock2.increment(p2).unwrap();
    let d = clock2.clone();
    clock2.increment(p2).unwrap();
    let e = clock2.clone();
    let m2 = e.clone();

    clock3.increment(p3).unwrap();
    let f = clock3.clone();
    clock3.join(&m2);
    clock3.increment(p3).unwrap();
    let g = clock3.clone();

    // Happens-before along message chains, transitively.
    for (earlier, later) in [
        (&a, &b),
        (&a, &d),
        (&b, &d),
        (&c, &d),
        (&d, &e),
        (&b, &g),
        (&a, &g),
        (&f, &g),
        (&c, &g),
    ] {
        assert!(earlier.happened_before(later), "{earlier:?} → {later:?}");
        assert_eq!(earlier.partial_cmp(later), Some(Ordering::Less));
        assert_eq!(later.partial_cmp(earlier), Some(Ordering::Greater));
        assert!(!later.happened_before(earlier));
    }
    // Concurrent: no chain of messages either way.
    for (x, y) in [(&a, &c), (&b, &c), (&f, &a), (&f, &b), (&f, &e), (&f, &d)] {
        assert!(x.concurrent_with(y), "{x:?} ∥ {y:?}");
        assert_eq!(x.partial_cmp(y), None);
        assert!(!x.happened_before(y) && !y.happened_before(x));
    }
    assert_eq!(g.get(&p1), 2);
    assert_eq!(g.get(&p2), 3);
    assert_eq!(g.get(&p3), 2);
    assert_eq!(g.partial_cmp(&g.clone()), Some(Ordering::Equal));
    assert!(!g.concurrent_with(&g));
}

#[test]
fn causal_context_compacts_as_gaps_fill() {
    let mut context = CausalContext::new();
    for counter in [5, 3, 1, 4] {
        context.insert(Dot::new(ALICE, counter));
    }
    assert_eq!(context.version_vector().get(&ALICE), 1);
    assert_eq!(
        context.cloud().collect::<Vec<_>>(),
        [3, 4, 5].map(|counter| Dot::new(ALICE, counter))
    );
    assert!(!context.contains(&Dot::new(ALICE, 2)));
    context.insert(Dot::new(ALICE, 2));
    assert_eq!(context.version_vector().get(&ALICE), 5);
    assert_eq!(context.cloud().count(), 0);
    // Compact contexts built in different orders are equal values with equal encodings.
    let in_order: CausalContext = (1..=5).map(|c| Dot::new(ALICE, c)).collect();
    assert_eq!(context, in_order);
    assert_eq!(context.next_dot(ALICE), Ok(Dot::new(ALICE, 6)));
    assert!(context.includes(&in_order) && in_order.includes(&context));
}

#[test]
fn counters_count_every_concurrent_change_once() {
    let mut alice = PNCounter::new();
    let mut bob = PNCounter::new();
    let mut deltas = vec![alice.increment(ALICE, 10), bob.decrement(BOB, 3)];
    deltas.push(alice.decrement(ALICE, 2));
    deltas.push(bob.increment(BOB, 1));
    let merged = converge(&alice, &bob);
    assert_eq!(merged.value(), 10 - 3 - 2 + 1);
    // Deltas delivered twice count once.
    let redelivered = deltas
        .iter()
        .chain(&deltas)
        .fold(PNCounter::new(), |acc, d| acc.joined(d));
    assert_eq!(redelivered, merged);

    // Counts saturate at the largest count the encoding carries, so a saturated counter still
    // travels.
    let mut g = GCounter::new();
    g.increment(ALICE, u64::MAX);
    g.increment(BOB, u64::MAX);
    g.increment(BOB, 1);
    assert_eq!(g.value(), 2 * u128::from(Dot::MAX_COUNTER));
    assert_eq!(GCounter::decode(&g.encode().unwrap()).unwrap(), g);
}

#[test]
fn delta_since_ships_less_than_the_state() {
    let mut alice = AWSet::new();
    for i in 0..1_000u32 {
        alice.add(ALICE, i).unwrap();
    }
    let mut bob = alice.clone();
    alice.add(ALICE, 5_000).unwrap();
    alice.remove(&7);
    let delta = alice.delta_since(&bob.version());
    assert_eq!(delta.len(), 1, "only the new element travels");
    let delta_bytes = delta.encode().unwrap().len();
    let state_bytes = alice.encode().unwrap().len();
    assert!(
        delta_bytes * 20 < state_bytes,
        "delta {delta_bytes} bytes vs state {state_bytes} bytes"
    );
    bob.join(&delta);
    assert_eq!(bob, alice);
    assert!(!bob.contains(&7));
}

#[test]
fn or_map_update_ignores_what_the_closure_returns() {
    let mut cart: ORMap<&str, CausalCounter> = ORMap::new();
    cart.update("milk", |quantity| quantity.add(ALICE, 2))
        .unwrap();
    cart.update("eggs", |quantity| quantity.add(ALICE, 6))
        .unwrap();
    let before = cart.clone();

    // A closure that ignores its argument and returns a fresh value: that value's dot (ALICE, 1)
    // is the milk's, and joined as a delta it would have clashed with it. The map takes its
    // delta from what the closure did to the value, which is nothing.
    let delta = cart
        .update("milk", |_| CausalCounter::new().add(ALICE, 5))
        .unwrap();
    assert_eq!(delta, ORMap::new());
    assert_eq!(cart, before);

    // Returning the value itself (which carries the whole map's context) removes nothing.
    let delta = cart
        .update("milk", |quantity| {
            quantity.add(ALICE, 1)?;
            Ok(quantity.clone())
        })
        .unwrap();
    assert_eq!(cart.get(&"milk").unwrap().value(), 3);
    assert_eq!(cart.get(&"eggs").unwrap().value(), 6);
    let mut elsewhere = before.clone();
    elsewhere.join(&delta);
    assert_eq!(elsewhere, cart, "the delta carries exactly the update");

    // Several mutators in one closure give one delta.
    let mut at_bob = cart.clone();
    let delta = cart
        .update("eggs", |quantity| {
            quantity.reset();
            quantity.add(ALICE, 12)
        })
        .unwrap();
    assert_eq!(cart.get(&"eggs").unwrap().value(), 12);
    at_bob.join(&delta);
    assert_eq!(at_bob, cart);
}

#[test]
fn or_map_lends_its_values_without_copying_the_map() {
    let mut shelves: ORMap<u8, AWSet<&str>> = ORMap::new();
    shelves.update(1, |set| set.add(ALICE, "tea")).unwrap();
    shelves.update(2, |set| set.add(BOB, "rice")).unwrap();
    shelves.update(2, |set| set.add(BOB, "beans")).unwrap();
    let shelf = shelves.get(&2).unwrap();
    assert!(shelf.contains(&"rice") && shelf.len() == 2);
    let mut entries: Vec<(u8, usize)> = shelves.iter().map(|(k, set)| (*k, set.len())).collect();
    entries.sort();
    assert_eq!(entries, [(1, 1), (2, 2)]);
    // A view of a value and the value's own view agree.
    let mut alone = AWSet::new();
    alone.add(ALICE, "tea").unwrap();
    assert_eq!(
        shelves.get(&1).unwrap().iter().collect::<Vec<_>>(),
        alone.view().iter().collect::<Vec<_>>()
    );
    assert!(shelves.get(&3).is_none());
}

#[test]
fn replica_ids_that_share_a_prefix_print_differently() {
    let one = ReplicaId::from_bytes([0xab; 16]);
    let mut bytes = [0xab; 16];
    bytes[15] = 0xac;
    let other = ReplicaId::from_bytes(bytes);
    assert_ne!(format!("{one:?}"), format!("{other:?}"));
    let mut middle = [0xab; 16];
    middle[8] = 0;
    assert_ne!(
        format!("{one:?}"),
        format!("{:?}", ReplicaId::from_bytes(middle))
    );
    assert_eq!(format!("{:?}", ReplicaId::from_u128(0xa11ce)), "Ra11ce");
}

#[test]
fn the_causally_stable_version_is_what_every_replica_has_seen() {
    let at = |entries: &[(ReplicaId, u64)]| entries.iter().copied().collect::<VersionVector>();
    let alice = at(&[(ALICE, 5), (BOB, 2)]);
    let bob = at(&[(ALICE, 3), (BOB, 4), (CAROL, 1)]);
    let carol = at(&[(ALICE, 4), (BOB, 2), (CAROL, 1)]);
    assert_eq!(
        VersionVector::causally_stable([&alice, &bob, &carol]),
        at(&[(ALICE, 3), (BOB, 2)])
    );
    assert_eq!(VersionVector::causally_stable([&bob]), bob);
    assert_eq!(VersionVector::causally_stable([]), VersionVector::new());

    // Compacting at it keeps every replica able to integrate what is still to come.
    let mut at_alice = Text::new();
    at_alice.insert(ALICE, 0, "abcdef").unwrap();
    let mut at_bob = at_alice.clone();
    at_alice.delete(ALICE, 4, 2).unwrap(); // no element was inserted after "ef"
    at_bob.join(&at_alice);
    let late = at_bob.insert(BOB, 1, "X").unwrap(); // Alice has not seen it yet
    let stable = VersionVector::causally_stable([
        &at_alice.context().version_vector(),
        &at_bob.context().version_vector(),
    ]);
    // "f" goes; "e" stays: it follows the visible "d", so an insert after "d" names it as
    // its right origin.
    assert_eq!(at_alice.compact(&stable), 1);
    at_alice.join(&late);
    assert_eq!(at_alice.to_string(), "aXbcd");
    let after_d = at_bob.insert(BOB, 5, "!").unwrap();
    at_alice.join(&after_d);
    assert_eq!(at_alice.to_string(), "aXbcd!");
    assert_eq!(at_alice.pending(), 0);
}
