//! Golden byte vectors: the encoding of small values, pinned, so the format (FORMAT.md) cannot
//! change by accident. A deliberate change bumps the type's format version and updates both.

use crdt_core::{
    AWSet, CausalContext, Codec, Dot, GCounter, HybridClock, Lattice, LwwRegister, MvRegister,
    ORMap, PNCounter, ReplicaId, VersionVector,
};

const A: ReplicaId = ReplicaId::from_u128(1);
const B: ReplicaId = ReplicaId::from_u128(2);
/// Replica ids `A` and `B` as written: 15 zero bytes, then 1 or 2.
const ID_A: &str = "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01";
const ID_B: &str = "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02";

fn bytes(hex: &str) -> Vec<u8> {
    let hex = hex.replace("A", ID_A).replace("B", ID_B);
    hex.split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).expect("hex byte"))
        .collect()
}

fn pinned<T: Codec + PartialEq + std::fmt::Debug>(value: &T, expected: &str) {
    let expected = bytes(expected);
    assert_eq!(value.encode().unwrap(), expected, "encoding of {value:?}");
    assert_eq!(
        &T::decode(&expected).unwrap(),
        value,
        "decoding of the pinned bytes"
    );
}

#[test]
fn version_vector() {
    let mut clock = VersionVector::new();
    clock.increment(B).unwrap();
    clock.increment(A).unwrap();
    clock.increment(B).unwrap();
    // tag 1, v1, 2 entries sorted by id: (A, 1), (B, 2)
    pinned(&clock, "01 01 02 A 01 B 02");
}

#[test]
fn causal_context() {
    let context: CausalContext = [5, 1, 2].map(|c| Dot::new(A, c)).into_iter().collect();
    // tag 2, v1, 1 replica: A with 2 ranges: 1..=2 (version vector), 5..=5 (cloud)
    pinned(&context, "02 01 01 A 02 01 02 05 05");
}

#[test]
fn gcounter() {
    let mut counter = GCounter::new();
    counter.increment(A, 5);
    pinned(&counter, "03 01 01 A 05");
}

#[test]
fn pncounter() {
    let mut counter = PNCounter::new();
    counter.increment(A, 3);
    counter.decrement(B, 300);
    // increments [(A, 3)], decrements [(B, 300 = varint ac 02)]
    pinned(&counter, "04 01 01 A 03 01 B ac 02");
}

#[test]
fn lww_register() {
    let mut register = LwwRegister::new();
    register
        .set("hi".to_string(), &mut HybridClock::new(A), &mut || 1000)
        .unwrap();
    // Some, timestamp (1000 = e8 07, logical 0, A), "hi"
    pinned(&register, "05 01 01 e8 07 00 A 02 68 69");
}

#[test]
fn mv_register() {
    let mut register = MvRegister::new();
    register.write(A, 7u8).unwrap();
    let mut other = MvRegister::new();
    other.write(B, 9u8).unwrap();
    register.join(&other);
    // context [A: 1..=1, B: 1..=1]; values [((0, 1), 7), ((1, 1), 9)]
    pinned(
        &register,
        "06 01 02 A 01 01 01 B 01 01 01 02 00 01 07 01 01 09",
    );
}

#[test]
fn aw_set() {
    let mut set = AWSet::new();
    set.add(A, "x".to_string()).unwrap();
    set.add(B, "y".to_string()).unwrap();
    set.add(A, "z".to_string()).unwrap();
    set.remove(&"z".to_string());
    // context [A: 1..=2, B: 1..=1]; elements ["x": {(0, 1)}, "y": {(1, 1)}]; "z" left no trace
    pinned(
        &set,
        "07 01 02 A 01 01 02 B 01 01 01 02 01 78 01 00 01 01 79 01 01 01",
    );
}

#[test]
fn or_map() {
    let mut map: ORMap<String, MvRegister<u8>> = ORMap::new();
    map.update("k".into(), |quantity| quantity.write(B, 4))
        .unwrap();
    // context [B: 1..=1]; entries ["k": [((0, 1), 4)]]
    pinned(&map, "08 01 01 B 01 01 01 01 01 6b 01 00 01 04");
}

#[test]
fn text() {
    let mut text = crdt_core::Text::new();
    text.insert(A, 0, "hey").unwrap();
    text.delete(A, 0, 1).unwrap();
    // tag 10, v2; replicas [A]; context [A: 1..=4];
    // runs: (step 0, gap 0, left Start, right End, Deleted(1)) = tombstone "h" at A:1,
    //       (step 0, gap 0, left Back(1), right End, Live("ey")) at A:2..=3;
    // deletes: (step 0, gap 3, Own(-3 zigzag 05), Range(1)) = A:4 deleted A:1
    pinned(
        &text,
        "0a 02 01 A 01 A 01 01 04 02 00 00 00 00 01 01 00 00 01 01 00 00 02 65 79 01 00 03 00 05 00 01",
    );
}

#[test]
fn text_with_right_origins() {
    let mut text = crdt_core::Text::new();
    text.insert(A, 0, "ab").unwrap(); // A:1..=2
    let mut other = text.clone();
    other.insert(B, 1, "X").unwrap(); // B:1, between a and b
    text.delete(A, 0, 1).unwrap(); // A:3 deletes a
    text.insert(A, 0, "Y").unwrap(); // A:4, before the tombstone of a
    text.join(&other);
    assert_eq!(text.to_string(), "YXb");
    // tag 10, v2; replicas [A, B]; context [A: 1..=4, B: 1..=1]; 4 runs, in id order:
    //   A:1     (0, 0, Start, End, Deleted(1))              00 00 00 00 01 01
    //   A:2     (0, 0, Back(1), End, Live("b"))             00 00 01 01 00 00 01 62
    //   A:4     (0, gap 1, Start, Back(3) = A:1, Live("Y")) 00 01 00 01 03 00 01 59
    //   B:1     (step 1, 0, Other(0, 1), Other(0, 2), "X")  01 00 02 00 01 02 00 02 00 01 58
    // 1 delete run: A:3 (0, gap 2, Own(-2 zigzag 03), Range(1)) 00 02 00 03 00 01
    pinned(
        &text,
        "0a 02 02 A B 02 A 01 01 04 B 01 01 01 04 \
         00 00 00 00 01 01 \
         00 00 01 01 00 00 01 62 \
         00 01 00 01 03 00 01 59 \
         01 00 02 00 01 02 00 02 00 01 58 \
         01 00 02 00 03 00 01",
    );
}

#[test]
fn rga() {
    let mut list: crdt_core::Rga<u8> = crdt_core::Rga::new();
    list.insert(B, 0, [7, 8]).unwrap(); // B:1..=2
    list.insert(B, 1, [9]).unwrap(); // B:3, between 7 and 8
    // tag 9, v2; replicas [B]; context [B: 1..=3]; runs:
    //   B:1..=2 (0, 0, Start, End, Live([7, 8]))  00 00 00 00 00 02 07 08
    //   B:3     (0, 0, Back(2), Back(1), [9])      00 00 01 02 01 01 00 01 09
    // no delete run
    pinned(
        &list,
        "09 02 01 B 01 B 01 01 03 02 00 00 00 00 00 02 07 08 00 00 01 02 01 01 00 01 09 00",
    );
}
