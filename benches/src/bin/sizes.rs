//! Encoded sizes, not timings: prints a markdown table of the bytes each state and each delta
//! takes in this toolkit's encoding (`Codec::encode`: 2-byte envelope + postcard payload) and
//! of the `crdts` equivalent under plain `postcard::to_allocvec` (no envelope), with the same
//! 16-byte replica ids on both sides.
//!
//! Run with `cargo run --release -p benches --bin sizes`.

use benches::{
    Actor, TheirSet, actor, item, our_diverged_pair, our_set, replica, their_add,
    their_diverged_pair, their_remove, their_set,
};
use crdt_core::{
    AWSet, Codec, GCounter, HybridClock, Lattice, LwwRegister, MvRegister, ORMap, PNCounter,
};
use crdts::{CmRDT, CvRDT};
use serde::Serialize;

/// Our encoding of `value`, in bytes.
fn ours<T: Codec>(value: &T) -> usize {
    value
        .encode()
        .expect("the toolkit's types always encode")
        .len()
}

/// The `crdts` value under postcard, in bytes.
fn theirs<T: Serialize>(value: &T) -> usize {
    postcard::to_allocvec(value)
        .expect("crdts types serialize")
        .len()
}

/// One row of the table.
struct Row {
    what: String,
    ours: usize,
    theirs: usize,
    /// Divide both sizes by this to print a per-element figure too.
    per: Option<usize>,
}

fn row(what: &str, ours: usize, theirs: usize) -> Row {
    Row {
        what: what.to_owned(),
        ours,
        theirs,
        per: None,
    }
}

/// Three replicas of each counter, with counts of different varint widths.
fn counters(rows: &mut Vec<Row>) {
    let counts = [5, 300, 70_000];
    let mut gcounter = GCounter::new();
    let mut their_gcounter = crdts::GCounter::<Actor>::new();
    let mut pncounter = PNCounter::new();
    let mut their_pncounter = crdts::PNCounter::<Actor>::new();
    for (n, count) in (0..).zip(counts) {
        let _delta = gcounter.increment(replica(n), count);
        their_gcounter.apply(their_gcounter.inc_many(actor(n), count));
        let _delta = pncounter.increment(replica(n), count);
        let _delta = pncounter.decrement(replica(n), count / 2);
        their_pncounter.apply(their_pncounter.inc_many(actor(n), count));
        their_pncounter.apply(their_pncounter.dec_many(actor(n), count / 2));
    }
    rows.push(row(
        "GCounter, 3 replicas (state)",
        ours(&gcounter),
        theirs(&their_gcounter),
    ));
    rows.push(row(
        "PNCounter, 3 replicas (state)",
        ours(&pncounter),
        theirs(&their_pncounter),
    ));

    // Deltas: ours is a counter holding the new total of the replica; crdts' op is a dot
    // (GCounter) or a dot and a direction (PNCounter).
    let delta = gcounter.increment(replica(1), 1);
    let op = their_gcounter.inc(actor(1));
    rows.push(row(
        "GCounter increment delta / op",
        ours(&delta),
        theirs(&op),
    ));
    let delta = pncounter.increment(replica(1), 1);
    let op = their_pncounter.inc(actor(1));
    rows.push(row(
        "PNCounter increment delta / op",
        ours(&delta),
        theirs(&op),
    ));
}

/// A set of 1,000 short strings, its add and remove deltas, and the 100,000-element set of
/// workload 2.
fn sets(rows: &mut Vec<Row>) {
    let set = our_set(replica(0), (0..1_000).map(item));
    let their = their_set(actor(0), (0..1_000).map(item));
    rows.push(Row {
        per: Some(1_000),
        ..row(
            "AWSet of 1,000 strings `item-0000000`…, 1 replica (state)",
            ours(&set),
            theirs(&their),
        )
    });

    // The same elements, added round-robin by 3 replicas that saw each other's adds.
    let mut set: AWSet<String> = AWSet::new();
    let mut their = TheirSet::new();
    for i in 0..1_000 {
        let _delta = set
            .add(replica(i % 3), item(i))
            .expect(benches::COUNTERS_LEFT);
        let _op = their_add(&mut their, actor(i % 3), item(i));
    }
    rows.push(Row {
        per: Some(1_000),
        ..row(
            "AWSet of the same 1,000 strings, added round-robin by 3 replicas (state)",
            ours(&set),
            theirs(&their),
        )
    });

    let delta = set
        .add(replica(1), "item-new".to_owned())
        .expect(benches::COUNTERS_LEFT);
    let op = their_add(&mut their, actor(1), "item-new".to_owned());
    rows.push(row(
        "AWSet add delta / Orswot `Op::Add` (new element)",
        ours(&delta),
        theirs(&op),
    ));
    let delta = set.remove(&item(500));
    let op = their_remove(&mut their, &item(500));
    rows.push(row(
        "AWSet remove delta / Orswot `Op::Rm`",
        ours(&delta),
        theirs(&op),
    ));

    let (mut left, right) = our_diverged_pair(99_000, 500);
    left.join(&right);
    let (mut their_left, their_right) = their_diverged_pair(99_000, 500);
    their_left.merge(their_right);
    rows.push(Row {
        per: Some(100_000),
        ..row(
            "AWSet of 100,000 strings, 2 replicas (workload 2's join)",
            ours(&left),
            theirs(&their_left),
        )
    });
}

/// Register and map deltas, after three replicas have written.
fn registers_and_maps(rows: &mut Vec<Row>) {
    // Three replicas write; replica 0 sees the other two's concurrent writes, then writes.
    let mut register = MvRegister::new();
    let mut their_register = crdts::MVReg::<u64, Actor>::new();
    for n in 0..3 {
        let mut at_n = MvRegister::new();
        let _delta = at_n.write(replica(n), n).expect(benches::COUNTERS_LEFT);
        register.join(&at_n);
        let mut their_at_n = crdts::MVReg::<u64, Actor>::new();
        their_at_n.apply(their_at_n.write(n, their_at_n.read_ctx().derive_add_ctx(actor(n))));
        their_register.merge(their_at_n);
    }
    let delta = register
        .write(replica(0), 42)
        .expect(benches::COUNTERS_LEFT);
    let op = their_register.write(42, their_register.read_ctx().derive_add_ctx(actor(0)));
    rows.push(row(
        "MvRegister write delta / MVReg `Op::Put` (over 3 concurrent values)",
        ours(&delta),
        theirs(&op),
    ));

    // A cart: item → quantity, edited by three replicas; then replica 1 sets milk to 3.
    let mut map: ORMap<String, MvRegister<u64>> = ORMap::new();
    let mut their_map = crdts::Map::<String, crdts::MVReg<u64, Actor>, Actor>::new();
    for (n, key) in (0..3).zip(["milk", "eggs", "bread"]) {
        let _delta = map
            .update(key.to_owned(), |quantity| quantity.write(replica(n), 1))
            .expect(benches::COUNTERS_LEFT);
        let context = their_map.read_ctx().derive_add_ctx(actor(n));
        let op = their_map.update(key, context, |quantity, context| quantity.write(1, context));
        their_map.apply(op);
    }
    let delta = map
        .update("milk".to_owned(), |quantity| quantity.write(replica(1), 3))
        .expect(benches::COUNTERS_LEFT);
    let context = their_map.read_ctx().derive_add_ctx(actor(1));
    let op = their_map.update("milk", context, |quantity, context| {
        quantity.write(3, context)
    });
    rows.push(row(
        "ORMap<String, MvRegister<u64>> update delta / Map `Op::Up` (3 keys, 3 replicas)",
        ours(&delta),
        theirs(&op),
    ));

    // Last-writer-wins: crdts' marker is given the same fields as our timestamp.
    let mut clock = HybridClock::new(replica(2));
    let mut lww = LwwRegister::new();
    let delta = lww
        .set("tuesday".to_owned(), &mut clock, &mut || 1_760_000_000_000)
        .expect("a 2025 time is far from the end of the clock's range");
    let stamp = delta.timestamp().expect("just set");
    let their_lww = crdts::LWWReg {
        val: "tuesday".to_owned(),
        marker: (stamp.millis, stamp.logical, *stamp.replica.as_bytes()),
    };
    rows.push(row(
        "LwwRegister<String> set delta / LWWReg (marker = same timestamp)",
        ours(&delta),
        theirs(&their_lww),
    ));
}

fn main() {
    let mut rows = Vec::new();
    counters(&mut rows);
    sets(&mut rows);
    registers_and_maps(&mut rows);

    println!("| value | ours (bytes) | crdts + postcard (bytes) | ours / crdts |");
    println!("|---|---:|---:|---:|");
    for Row {
        what,
        ours,
        theirs,
        per,
    } in rows
    {
        let ratio = ours as f64 / theirs as f64;
        match per {
            None => println!("| {what} | {ours} | {theirs} | {ratio:.2} |"),
            Some(per) => {
                let (ours_each, theirs_each) =
                    (ours as f64 / per as f64, theirs as f64 / per as f64);
                println!(
                    "| {what} | {ours} ({ours_each:.2}/element) | {theirs} ({theirs_each:.2}/element) | {ratio:.2} |"
                );
            }
        }
    }
}
