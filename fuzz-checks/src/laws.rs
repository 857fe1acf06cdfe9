//! The harness the merge-law targets share: a script of mutations on 2–4 replicas, with an
//! arbitrary delivery schedule of their deltas, and every lattice law checked on the states and
//! deltas it produced.
//!
//! The input is read one byte per decision (a step's kind, a replica, an operand), so that
//! libFuzzer's byte-level mutations map onto small changes of the script. What is checked:
//!
//! - **delta mutators**: `x ⊔ mδ(x) == m(x)` and `mδ(x) ⊔ x == m(x)` for every mutation, and
//!   each type's own local semantics (see its [`Subject::apply`]);
//! - **deliveries**: a delta or a group of deltas is joined in any order, any number of times;
//!   joining it again changes nothing, and the join commutes;
//! - **repair**: `y ⊔ x.delta_since(y.version()) == y ⊔ x`, for the pairs the script syncs
//!   and for a sample of pairs of replicas at the end;
//! - **algebra**: idempotence and bottom as the identity on the states, the last deltas, a
//!   random delta group and the bottom; commutativity (with equal encodings, as the format
//!   promises canonical bytes for equal values) and associativity on a sample of pairs and
//!   triples of them (the input's seed picks which);
//! - **convergence**: delivering every delta to every replica, shuffled and with duplicates,
//!   leaves all replicas equal to each other and to the join of all deltas, and any grouping of
//!   the deltas joins to the same value;
//! - **encoding**: every final state and every delta decodes back to itself, and its encoding
//!   is a fixpoint of decode-then-encode.

use std::fmt::Debug;

use arbitrary::{Arbitrary, Unstructured};
use crdt_core::{Codec, DeltaSince, HybridClock, Lattice, ReplicaId};

/// At most this many mutations per script by default: enough for interesting interleavings,
/// few enough that a run stays well under a millisecond.
pub const MAX_MUTATIONS: usize = 64;

/// Why a mutator in a script cannot run out of event counters: a script makes at most a few
/// hundred events, and the values it mutates are made by scripts.
pub const FEW_EVENTS: &str = "a script's replicas are far from the end of their counters";

/// At most this many steps (mutations, deliveries, syncs) per script.
pub const MAX_STEPS: usize = 256;

/// How many pairs of values the commutativity check samples per script (half as many pairs
/// of replicas for the repair check).
const PAIRS: usize = 12;

/// How many triples the associativity check samples per script.
const TRIPLES: usize = 6;

/// The replica id of replica number `index`: spread over the id space so that the id order
/// is not the index order (ties between concurrent events are broken by id).
pub fn replica_id(index: usize) -> ReplicaId {
    let index = index as u128;
    ReplicaId::from_u128(((index * 97 + 31) & 0xff) << 100 | index)
}

/// One replica of a script: its id, and the hybrid clock of its LWW writes (kept across
/// writes, as a real replica keeps it).
#[derive(Debug)]
pub struct Replica {
    /// Its id.
    pub id: ReplicaId,
    /// Its clock.
    pub clock: HybridClock,
}

impl Replica {
    /// Replica number `index`.
    pub fn new(index: usize) -> Self {
        let id = replica_id(index);
        Self {
            id,
            clock: HybridClock::new(id),
        }
    }
}

/// A type under test: how an operation is drawn from the input and applied on a replica.
pub trait Subject: Lattice + DeltaSince + Codec + Debug {
    /// One mutation.
    type Op: Debug;

    /// The most mutations a script makes (types whose joins cost more make fewer, so that
    /// every target runs hundreds of scripts a second).
    const MAX_MUTATIONS: usize = MAX_MUTATIONS;

    /// Draws an operation. Domains are small (a handful of elements, keys, positions) so that
    /// replicas collide on them often.
    fn op(u: &mut Unstructured<'_>) -> Self::Op;

    /// Applies `op` as `replica`, returning the mutator's delta. Implementations also assert
    /// the mutation's local meaning (an added element is present, an insert is where it was
    /// put), which the lattice laws alone would not notice.
    fn apply(&mut self, replica: &mut Replica, op: &Self::Op) -> Self;

    /// Invariants of a state that has received every delta (no insert waiting for its origin,
    /// say). Nothing by default.
    fn check_settled(&self) {}
}

/// One byte of input; 0 once the input is used up.
pub fn byte(u: &mut Unstructured<'_>) -> u8 {
    u8::arbitrary(u).unwrap_or_default()
}

/// A small deterministic generator (xorshift64*) for the shuffles, seeded from the input so
/// that the fuzzer controls the orders too.
#[derive(Debug)]
pub struct Shuffler(u64);

impl Shuffler {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// A number below `bound` (which must be positive).
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound as u64) as usize
    }

    /// Shuffles `items` in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Panics with `law`'s name and the values that broke it.
#[track_caller]
fn law(holds: bool, law: &str, detail: impl FnOnce() -> String) {
    assert!(holds, "{law} broken:\n{}", detail());
}

/// Checks that `value` survives its encoding: it decodes back equal, and its bytes are a
/// fixpoint of decode-then-encode.
#[track_caller]
pub fn round_trip<T: Codec + PartialEq + Debug>(value: &T) {
    let bytes = value
        .encode()
        .unwrap_or_else(|error| panic!("{value:?} does not encode: {error}"));
    let back = T::decode(&bytes).unwrap_or_else(|error| {
        panic!("{value:?} encodes to {bytes:02x?}, which does not decode: {error}")
    });
    law(back == *value, "encode/decode identity", || {
        format!(" value {value:?}\n back {back:?}")
    });
    let again = back.encode().unwrap_or_else(|error| {
        panic!("{back:?}, decoded from a valid encoding, does not encode: {error}")
    });
    law(again == bytes, "canonical re-encoding", || {
        format!(" {bytes:02x?}\n re-encodes as {again:02x?}")
    });
}

/// Runs one script for `T` from the input and checks every law on what it produced.
pub fn check_laws<T: Subject>(u: &mut Unstructured<'_>) {
    let n = 2 + usize::from(byte(u) % 3);
    let mut shuffler = Shuffler::new(u64::arbitrary(u).unwrap_or_default());
    let mut replicas: Vec<Replica> = (0..n).map(Replica::new).collect();
    let mut states: Vec<T> = (0..n).map(|_| T::default()).collect();
    let mut deltas: Vec<T> = Vec::new();

    let mut steps = 0;
    while !u.is_empty() && steps < MAX_STEPS && deltas.len() < T::MAX_MUTATIONS {
        steps += 1;
        let kind = byte(u);
        match kind {
            0..=127 => {
                let at = usize::from(byte(u)) % n;
                let op = T::op(u);
                let before = states[at].clone();
                let delta = states[at].apply(&mut replicas[at], &op);
                let after = &states[at];
                law(
                    before.clone().joined(&delta) == *after,
                    "x ⊔ mδ(x) == m(x)",
                    || format!(" op {op:?}\n x {before:?}\n mδ(x) {delta:?}\n m(x) {after:?}"),
                );
                law(
                    delta.clone().joined(&before) == *after,
                    "mδ(x) ⊔ x == m(x)",
                    || format!(" op {op:?}\n x {before:?}\n mδ(x) {delta:?}\n m(x) {after:?}"),
                );
                deltas.push(delta);
            }
            128..=191 => {
                let to = usize::from(byte(u)) % n;
                let which = usize::from(byte(u));
                if let Some(delta) = deltas.get(which % deltas.len().max(1)) {
                    deliver(&mut states[to], delta);
                }
            }
            192..=215 => {
                // A delta group: consecutive deltas joined before they travel, as a sync
                // layer joins a log interval.
                let to = usize::from(byte(u)) % n;
                let first = usize::from(byte(u)) % deltas.len().max(1);
                let count = 1 + usize::from(byte(u) % 8);
                let group = deltas
                    .iter()
                    .skip(first)
                    .take(count)
                    .fold(T::default(), |group, delta| group.joined(delta));
                deliver(&mut states[to], &group);
            }
            216..=235 => {
                let (from, to) = (usize::from(byte(u)) % n, usize::from(byte(u)) % n);
                let source = states[from].clone();
                deliver(&mut states[to], &source);
            }
            _ => {
                let (from, to) = (usize::from(byte(u)) % n, usize::from(byte(u)) % n);
                let repaired = check_repair(&states[from], &states[to]);
                states[to] = repaired;
            }
        }
    }

    let everything = deltas
        .iter()
        .fold(T::default(), |all, delta| all.joined(delta));
    check_algebra(&states, &deltas, &mut shuffler);
    check_groupings(&deltas, &everything, &mut shuffler);
    for _ in 0..PAIRS / 2 {
        let (x, y) = (shuffler.below(n), shuffler.below(n));
        check_repair(&states[x], &states[y]);
    }

    // Everything to everyone, shuffled, with a few duplicates.
    let mut order: Vec<usize> = (0..deltas.len()).collect();
    if !deltas.is_empty() {
        for _ in 0..shuffler.below(5) {
            order.push(shuffler.below(deltas.len()));
        }
    }
    for (index, state) in states.iter_mut().enumerate() {
        shuffler.shuffle(&mut order);
        for &which in &order {
            state.join(&deltas[which]);
        }
        law(*state == everything, "convergence", || {
            format!(
                " replica {index} after every delta {state:?}\n join of every delta {everything:?}"
            )
        });
        state.check_settled();
    }
    round_trip(&everything);
    for delta in &deltas {
        round_trip(delta);
    }
}

/// Joins `delta` into `state`, checking that the join commutes and that joining it again
/// changes nothing.
fn deliver<T: Subject>(state: &mut T, delta: &T) {
    let before = state.clone();
    state.join(delta);
    let other_way = delta.clone().joined(&before);
    law(other_way == *state, "commutativity of a delivery", || {
        format!(" x {before:?}\n d {delta:?}\n x ⊔ d {state:?}\n d ⊔ x {other_way:?}")
    });
    let again = state.clone().joined(delta);
    law(again == *state, "idempotence of a delivery", || {
        format!(" x ⊔ d {state:?}\n d {delta:?}\n (x ⊔ d) ⊔ d {again:?}")
    });
}

/// What `x` sends a replica at `y`'s version brings it to `y ⊔ x`; returns that.
fn check_repair<T: Subject>(x: &T, y: &T) -> T {
    let delta = x.delta_since(&y.version());
    let repaired = y.clone().joined(&delta);
    let expected = y.clone().joined(x);
    law(
        repaired == expected,
        "y ⊔ x.delta_since(y.version()) == y ⊔ x",
        || {
            format!(
                " x {x:?}\n y {y:?}\n delta {delta:?}\n repaired {repaired:?}\n y ⊔ x {expected:?}"
            )
        },
    );
    repaired
}

/// The algebraic laws on the states, the last deltas, a random delta group and the bottom.
fn check_algebra<T: Subject>(states: &[T], deltas: &[T], shuffler: &mut Shuffler) {
    let bottom = T::default();
    let mut group = T::default();
    for delta in deltas {
        if shuffler.below(2) == 0 {
            group.join(delta);
        }
    }
    let mut values: Vec<&T> = states.iter().collect();
    values.extend(deltas.iter().rev().take(3));
    values.push(&group);
    values.push(&bottom);

    for &a in &values {
        law(a.clone().joined(a) == *a, "idempotence", || {
            format!(" {a:?}")
        });
        law(a.clone().joined(&bottom) == *a, "a ⊔ ⊥ == a", || {
            format!(" {a:?}")
        });
        law(bottom.clone().joined(a) == *a, "⊥ ⊔ a == a", || {
            format!(" {a:?}")
        });
    }
    // A sample of the pairs and triples, chosen by the input's seed: every pair of a script
    // would cost more than the script, and the fuzzer runs many scripts.
    for _ in 0..PAIRS {
        let a = values[shuffler.below(values.len())];
        let b = values[shuffler.below(values.len())];
        let ab = a.clone().joined(b);
        let ba = b.clone().joined(a);
        law(ab == ba, "commutativity", || {
            format!(" a {a:?}\n b {b:?}\n a ⊔ b {ab:?}\n b ⊔ a {ba:?}")
        });
        let (left, right) = (ab.encode().ok(), ba.encode().ok());
        law(left == right, "equal values encode identically", || {
            format!(" a ⊔ b {ab:?} as {left:02x?}\n b ⊔ a {ba:?} as {right:02x?}")
        });
    }
    for _ in 0..TRIPLES {
        let a = values[shuffler.below(values.len())];
        let b = values[shuffler.below(values.len())];
        let c = values[shuffler.below(values.len())];
        let left = a.clone().joined(b).joined(c);
        let right = a.clone().joined(&b.clone().joined(c));
        law(left == right, "associativity", || {
            format!(" a {a:?}\n b {b:?}\n c {c:?}\n (a ⊔ b) ⊔ c {left:?}\n a ⊔ (b ⊔ c) {right:?}")
        });
    }
}

/// Deltas cut into random groups, each joined, the groups joined in a random order, give the
/// join of all deltas.
fn check_groupings<T: Subject>(deltas: &[T], everything: &T, shuffler: &mut Shuffler) {
    let mut groups = Vec::new();
    let mut group = T::default();
    for delta in deltas {
        group.join(delta);
        if shuffler.below(3) == 0 {
            groups.push(std::mem::take(&mut group));
        }
    }
    groups.push(group);
    shuffler.shuffle(&mut groups);
    let grouped = groups.iter().fold(T::default(), |all, g| all.joined(g));
    law(
        grouped == *everything,
        "delta groups join to the join of all deltas",
        || format!(" grouped {grouped:?}\n all {everything:?}"),
    );
}
