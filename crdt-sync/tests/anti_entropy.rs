//! Anti-entropy on its own (gossip off) repairs replicas that diverged arbitrarily, exchanging
//! only deltas for the objects that differ.

mod support;

use crdt_core::{AWSet, GCounter, MvRegister, ReplicaId, Text};
use crdt_sync::collection::Collection;
use crdt_sync::object::{Object, RegisterMap};
use crdt_sync::object_id::ObjectId;
use crdt_sync::session::SessionConfig;
use crdt_sync::simulation::SimRng;
use support::{End, pump};

fn id(index: u64) -> ObjectId {
    ObjectId::new(format!("obj/{index:05}")).unwrap()
}

/// Applies `edits` random edits on objects `0..objects` of a replica; object `i` has type `i % 5`.
fn edit(collection: &mut Collection, rng: &mut SimRng, objects: u64, edits: usize) {
    for _ in 0..edits {
        let which = rng.below(objects);
        let pick = rng.next_u64();
        let word = format!("w{}", pick % 9);
        let id = id(which);
        let result = match which % 5 {
            0 => collection
                .update(&id, |c: &mut GCounter, me| c.increment(me, 1 + pick % 4))
                .map(drop),
            1 => collection
                .update(&id, |s: &mut AWSet<String>, me| {
                    if pick.is_multiple_of(3) {
                        Ok(s.remove(&word))
                    } else {
                        s.add(me, word)
                    }
                })
                .map(drop),
            2 => collection
                .update(&id, |r: &mut MvRegister<String>, me| r.write(me, word))
                .map(drop),
            3 => collection
                .update(&id, |m: &mut RegisterMap, me| {
                    if pick.is_multiple_of(4) {
                        Ok(m.remove(&word))
                    } else {
                        m.update(word, |r| r.write(me, format!("{pick}")))
                    }
                })
                .map(drop),
            _ => collection
                .update(&id, |t: &mut Text, me| {
                    let len = t.len();
                    if pick.is_multiple_of(3) && len > 0 {
                        t.delete(me, pick % len, 1).unwrap_or_default()
                    } else {
                        t.insert(me, pick % (len + 1), &word).unwrap_or_default()
                    }
                })
                .map(drop),
        };
        result.unwrap();
    }
}

fn without_gossip() -> SessionConfig {
    SessionConfig {
        gossip: false,
        anti_entropy_every_ms: 0,
        ..SessionConfig::default()
    }
}

fn connect(left: Collection, right: Collection, config: SessionConfig) -> (End, End) {
    (End::open(left, config.clone()), End::open(right, config))
}

fn joined(left: &Collection, right: &Collection) -> Vec<(ObjectId, Object)> {
    let mut all: std::collections::BTreeMap<ObjectId, Object> = left
        .iter()
        .map(|(id, object)| (id.clone(), object.clone()))
        .collect();
    for (id, object) in right.iter() {
        match all.get_mut(id) {
            Some(mine) => {
                mine.join(object).unwrap();
            }
            None => {
                all.insert(id.clone(), object.clone());
            }
        }
    }
    all.into_iter().collect()
}

fn copy_as(collection: &Collection, replica: u128) -> Collection {
    Collection::from_objects(
        "c",
        ReplicaId::from_u128(replica),
        collection
            .iter()
            .map(|(id, object)| (id.clone(), object.clone())),
    )
}

fn contents(collection: &Collection) -> Vec<(ObjectId, Object)> {
    collection
        .iter()
        .map(|(id, object)| (id.clone(), object.clone()))
        .collect()
}

#[test]
fn anti_entropy_alone_converges_replicas_that_diverged_arbitrarily() {
    for seed in 0..12 {
        let mut rng = SimRng::new(seed);
        let objects = [3, 40, 700][seed as usize % 3];
        let mut left = Collection::new("c", ReplicaId::from_u128(1));
        let right = Collection::new("c", ReplicaId::from_u128(2));
        // A shared past, then divergence: some objects on one side only, some edited on both.
        edit(&mut left, &mut rng, objects, 300);
        let (mut a, mut b) = connect(left, right, without_gossip());
        pump(&mut a, &mut b, 0, 200);
        assert_eq!(contents(&a.collection), contents(&b.collection));
        let (mut left, mut right) = (a.collection, b.collection);
        edit(&mut left, &mut rng, objects * 2, 200);
        edit(&mut right, &mut rng, objects * 2, 200);
        let expected = joined(&left, &right);
        assert_ne!(contents(&left), contents(&right));

        let (mut a, mut b) = connect(left, right, without_gossip());
        let exchange = pump(&mut a, &mut b, 0, 200);
        for (id, object) in &expected {
            assert_eq!(
                a.collection.get(id),
                Some(object),
                "seed {seed} {id}: {exchange:?}"
            );
        }
        assert_eq!(
            contents(&a.collection),
            expected,
            "seed {seed}: {exchange:?}"
        );
        assert_eq!(contents(&b.collection), expected, "seed {seed}");
        assert_eq!(a.session.stats().delta_frames_out, 0, "gossip was off");
        assert!(a.session.stats().rounds_completed + b.session.stats().rounds_completed > 0);
    }
}

#[test]
fn an_in_sync_check_is_one_round_trip_under_100_bytes() {
    let mut rng = SimRng::new(5);
    let mut left = Collection::new("c", ReplicaId::from_u128(1));
    edit(&mut left, &mut rng, 5_000, 20_000);
    let right = copy_as(&left, 2);
    let (mut a, mut b) = connect(left, right, without_gossip());
    pump(&mut a, &mut b, 0, 10); // handshake (and a first, already settled, round)

    let before = a.session.stats().bytes_out + b.session.stats().bytes_out;
    a.session.start_anti_entropy(&mut a.collection, 1);
    let exchange = pump(&mut a, &mut b, 1, 10);
    assert_eq!(exchange.round_trips(), 1, "{exchange:?}");
    assert!(exchange.bytes < 100, "{exchange:?}");
    assert_eq!(
        a.session.stats().bytes_out + b.session.stats().bytes_out - before,
        exchange.bytes as u64
    );
}

#[test]
fn one_differing_object_among_thousands_is_found_in_a_few_round_trips() {
    let mut rng = SimRng::new(9);
    let mut left = Collection::new("c", ReplicaId::from_u128(1));
    edit(&mut left, &mut rng, 20_000, 40_000);
    let mut right = copy_as(&left, 2);
    let changed = id(12_345);
    right
        .update(&changed, |c: &mut GCounter, me| c.increment(me, 1))
        .unwrap();
    let (mut a, mut b) = connect(left, right, without_gossip());
    let exchange = pump(&mut a, &mut b, 0, 40);
    assert_eq!(a.collection.get(&changed), b.collection.get(&changed));
    assert!(exchange.round_trips() <= 6, "{exchange:?}");
    assert!(exchange.bytes < 4_000, "{exchange:?}");
}
