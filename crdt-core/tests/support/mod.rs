//! The law harness shared by the test files: random operation histories on 2–5 replicas, and
//! every lattice law checked on the states and deltas they produce, for any type.

#![allow(dead_code)] // each test file uses the part of the harness it needs

use std::fmt::Debug;

use crdt_core::{
    AWSet, Codec, DeltaSince, GCounter, HybridClock, Lattice, LwwRegister, MvRegister, ORMap,
    PNCounter, ReplicaId,
};
use quickcheck::{Arbitrary, Gen};

/// The replica id of replica number `index`: spread over the id space so the replica order is
/// not the index order.
pub fn replica(index: u8) -> ReplicaId {
    let spread = u128::from(index.wrapping_mul(97).wrapping_add(31));
    ReplicaId::from_u128(spread << 100 | u128::from(index))
}

/// Why a mutation in a history cannot fail: its replicas make a few hundred events at most, far
/// from the end of their counters.
pub const FRESH_COUNTERS: &str = "a history's replicas are far from the end of their counters";

/// A type under test: how a random operation is applied on a replica.
pub trait Subject: Lattice + DeltaSince + Codec + Debug + 'static {
    /// A random operation.
    type Op: Arbitrary + Debug;

    /// Whether join stays commutative even when a faulty peer sends an event it already sent
    /// with other contents (true for the dot stores; a sequence keeps the copy it has).
    const RESOLVES_CONFLICTING_EVENTS: bool = true;

    /// Applies `op` as replica `replica`; returns the delta the mutator returned.
    fn apply(&mut self, replica: ReplicaId, op: &Self::Op) -> Self;
}

/// One step of a history.
#[derive(Clone, Debug)]
pub enum Step<Op> {
    /// A replica applies an operation.
    Mutate { replica: u8, op: Op },
    /// `to` receives `from`'s full state.
    SyncState { from: u8, to: u8 },
    /// `to` receives the delta `from` computes from `to`'s version.
    SyncDelta { from: u8, to: u8 },
}

/// A random history on 2–5 replicas, and a seed for the shuffles the laws need.
#[derive(Clone, Debug)]
pub struct History<Op> {
    pub replicas: u8,
    pub steps: Vec<Step<Op>>,
    pub seed: u64,
}

impl<Op: Arbitrary> Arbitrary for Step<Op> {
    fn arbitrary(g: &mut Gen) -> Self {
        let (a, b) = (u8::arbitrary(g) % 5, u8::arbitrary(g) % 5);
        match u8::arbitrary(g) % 8 {
            0 => Step::SyncState { from: a, to: b },
            1 => Step::SyncDelta { from: a, to: b },
            _ => Step::Mutate {
                replica: a,
                op: Op::arbitrary(g),
            },
        }
    }
}

impl<Op: Arbitrary> Arbitrary for History<Op> {
    fn arbitrary(g: &mut Gen) -> Self {
        Self {
            replicas: 2 + u8::arbitrary(g) % 4,
            steps: Vec::arbitrary(g),
            seed: u64::arbitrary(g),
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let (replicas, seed) = (self.replicas, self.seed);
        Box::new(self.steps.shrink().map(move |steps| Self {
            replicas,
            steps,
            seed,
        }))
    }
}

/// What a history produced.
pub struct Run<T> {
    /// The final state of each replica.
    pub states: Vec<T>,
    /// Every delta a mutator returned, in order.
    pub deltas: Vec<T>,
}

/// Plays `history`, checking on the way that each mutator's delta takes the old state to the
/// new one (`x ⊔ mδ(x) = m(x)`) and that each delta sync equals the full-state sync.
pub fn play<T: Subject>(history: &History<T::Op>) -> Result<Run<T>, String> {
    let n = history.replicas;
    let mut states: Vec<T> = (0..n).map(|_| T::default()).collect();
    let mut deltas = Vec::new();
    for step in &history.steps {
        match step {
            Step::Mutate { replica: r, op } => {
                let index = usize::from(r % n);
                let before = states[index].clone();
                let delta = states[index].apply(replica(r % n), op);
                if before.clone().joined(&delta) != states[index] {
                    return Err(format!(
                        "delta-mutator law broken by {op:?}:\n before {before:?}\n delta {delta:?}\n after {:?}",
                        states[index]
                    ));
                }
                deltas.push(delta);
            }
            Step::SyncState { from, to } => {
                let source = states[usize::from(from % n)].clone();
                states[usize::from(to % n)].join(&source);
            }
            Step::SyncDelta { from, to } => {
                let (from, to) = (usize::from(from % n), usize::from(to % n));
                let delta = states[from].delta_since(&states[to].version());
                let full = states[to].clone().joined(&states[from]);
                states[to].join(&delta);
                if states[to] != full {
                    return Err(format!(
                        "delta_since law broken: delta {delta:?}\n gave {:?}\n full join {full:?}",
                        states[to]
                    ));
                }
            }
        }
    }
    Ok(Run { states, deltas })
}

fn check(ok: bool, law: &str, detail: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{law}: {}", detail()))
    }
}

/// Every law, on the states and deltas of one history.
pub fn all_laws<T: Subject>(history: &History<T::Op>) -> Result<(), String> {
    let Run { states, deltas } = play::<T>(history)?;
    let mut shuffler = fastrand::Rng::with_seed(history.seed);
    let everything = states
        .iter()
        .fold(T::default(), |acc, state| acc.joined(state));

    // Values to check the algebraic laws on: the states, a few deltas and the bottom.
    let mut values: Vec<&T> = states.iter().collect();
    values.extend(deltas.iter().rev().take(3));
    let bottom = T::default();
    values.push(&bottom);

    for &a in &values {
        check(a.clone().joined(a) == *a, "idempotence", || {
            format!("{a:?}")
        })?;
        check(
            a.clone().joined(&bottom) == *a,
            "bottom is the identity",
            || format!("{a:?}"),
        )?;
        for &b in &values {
            let ab = a.clone().joined(b);
            let ba = b.clone().joined(a);
            check(ab == ba, "commutativity", || {
                format!("\n a {a:?}\n b {b:?}\n a⊔b {ab:?}\n b⊔a {ba:?}")
            })?;
            check(ab.encode() == ba.encode(), "canonical encoding", || {
                format!("{ab:?} and {ba:?} are equal but encode differently")
            })?;
        }
    }
    for (a, b, c) in [(0, 1, 2), (2, 0, 1), (1, 2, 3)] {
        let (a, b, c) = (values[a], values[b], values[c % values.len()]);
        let left = a.clone().joined(b).joined(c);
        let right = a.clone().joined(&b.clone().joined(c));
        check(left == right, "associativity", || {
            format!("\n a {a:?}\n b {b:?}\n c {c:?}\n (a⊔b)⊔c {left:?}\n a⊔(b⊔c) {right:?}")
        })?;
    }

    // Deltas join with deltas: any grouping into delta groups gives the same result.
    let all_deltas = deltas.iter().fold(T::default(), |acc, d| acc.joined(d));
    check(
        all_deltas == everything,
        "deltas join to the full join",
        || format!("\n deltas {all_deltas:?}\n states {everything:?}"),
    )?;
    let mut groups = Vec::new();
    let mut group = T::default();
    for delta in &deltas {
        group.join(delta);
        if shuffler.usize(..3) == 0 {
            groups.push(std::mem::take(&mut group));
        }
    }
    groups.push(group);
    shuffler.shuffle(&mut groups);
    let grouped = groups.iter().fold(T::default(), |acc, g| acc.joined(g));
    check(
        grouped == everything,
        "delta groups join to the full join",
        || format!("\n grouped {grouped:?}\n states {everything:?}"),
    )?;

    // Any delivery order, with duplicates, into any replica converges to the full join.
    let mut delivery: Vec<&T> = deltas.iter().chain(deltas.iter().take(5)).collect();
    shuffler.shuffle(&mut delivery);
    for start in &states {
        let delivered = delivery
            .iter()
            .fold((*start).clone(), |acc, d| acc.joined(d));
        let expected = start.clone().joined(&everything);
        check(
            delivered == expected,
            "shuffled duplicated delivery",
            || format!("\n delivered {delivered:?}\n expected {expected:?}"),
        )?;
    }

    // Repair: what x sends a replica at y's version brings y to x ⊔ y.
    for x in &states {
        for y in &states {
            let repaired = y.clone().joined(&x.delta_since(&y.version()));
            let expected = y.clone().joined(x);
            check(repaired == expected, "delta_since", || {
                format!("\n x {x:?}\n y {y:?}\n repaired {repaired:?}\n expected {expected:?}")
            })?;
        }
    }

    // Encoding round trips, for states and deltas.
    for value in values.iter().copied().chain(&deltas) {
        let bytes = value.encode().map_err(|e| e.to_string())?;
        let back = T::decode(&bytes).map_err(|e| format!("decode of {value:?} failed: {e}"))?;
        check(back == *value, "encode/decode identity", || {
            format!("{value:?} came back as {back:?}")
        })?;
    }
    Ok(())
}

// ---- The types under test and their random operations. ----

/// A small element domain, so that operations collide often.
fn small(g: &mut Gen) -> u8 {
    u8::arbitrary(g) % 6
}

#[derive(Clone, Debug)]
pub struct Increment(pub u8);

impl Arbitrary for Increment {
    fn arbitrary(g: &mut Gen) -> Self {
        Self(small(g))
    }
}

impl Subject for GCounter {
    type Op = Increment;

    fn apply(&mut self, replica: ReplicaId, op: &Increment) -> Self {
        self.increment(replica, u64::from(op.0))
    }
}

#[derive(Clone, Debug)]
pub enum CounterOp {
    Increment(u8),
    Decrement(u8),
}

impl Arbitrary for CounterOp {
    fn arbitrary(g: &mut Gen) -> Self {
        if bool::arbitrary(g) {
            Self::Increment(small(g))
        } else {
            Self::Decrement(small(g))
        }
    }
}

impl Subject for PNCounter {
    type Op = CounterOp;

    fn apply(&mut self, replica: ReplicaId, op: &CounterOp) -> Self {
        match *op {
            CounterOp::Increment(by) => self.increment(replica, u64::from(by)),
            CounterOp::Decrement(by) => self.decrement(replica, u64::from(by)),
        }
    }
}

/// A write at a physical time: small times make equal-millisecond writes common.
#[derive(Clone, Debug)]
pub struct TimedWrite {
    pub value: u8,
    pub millis: u8,
}

impl Arbitrary for TimedWrite {
    fn arbitrary(g: &mut Gen) -> Self {
        Self {
            value: small(g),
            millis: u8::arbitrary(g) % 4,
        }
    }
}

impl Subject for LwwRegister<u8> {
    type Op = TimedWrite;

    fn apply(&mut self, replica: ReplicaId, op: &TimedWrite) -> Self {
        // A fresh clock is enough here: `set` observes the register's own timestamp first.
        let mut clock = HybridClock::new(replica);
        self.set(op.value, &mut clock, &mut || u64::from(op.millis))
            .expect("a few milliseconds are far from the end of the clock's range")
    }
}

#[derive(Clone, Debug)]
pub enum RegisterOp {
    Write(u8),
    Clear,
}

impl Arbitrary for RegisterOp {
    fn arbitrary(g: &mut Gen) -> Self {
        if u8::arbitrary(g) % 5 == 0 {
            Self::Clear
        } else {
            Self::Write(small(g))
        }
    }
}

impl Subject for MvRegister<u8> {
    type Op = RegisterOp;

    fn apply(&mut self, replica: ReplicaId, op: &RegisterOp) -> Self {
        match *op {
            RegisterOp::Write(value) => self.write(replica, value).expect(FRESH_COUNTERS),
            RegisterOp::Clear => self.clear(),
        }
    }
}

#[derive(Clone, Debug)]
pub enum SetOp {
    Add(u8),
    Remove(u8),
    Clear,
}

impl Arbitrary for SetOp {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 9 {
            0 => Self::Clear,
            1..=3 => Self::Remove(small(g)),
            _ => Self::Add(small(g)),
        }
    }
}

impl Subject for AWSet<u8> {
    type Op = SetOp;

    fn apply(&mut self, replica: ReplicaId, op: &SetOp) -> Self {
        match *op {
            SetOp::Add(value) => self.add(replica, value).expect(FRESH_COUNTERS),
            SetOp::Remove(value) => self.remove(&value),
            SetOp::Clear => self.clear(),
        }
    }
}

#[derive(Clone, Debug)]
pub enum CausalCounterOp {
    Add(i8),
    Reset,
}

impl Arbitrary for CausalCounterOp {
    fn arbitrary(g: &mut Gen) -> Self {
        if u8::arbitrary(g) % 5 == 0 {
            Self::Reset
        } else {
            Self::Add(i8::arbitrary(g))
        }
    }
}

impl Subject for crdt_core::CausalCounter {
    type Op = CausalCounterOp;

    fn apply(&mut self, replica: ReplicaId, op: &CausalCounterOp) -> Self {
        match *op {
            CausalCounterOp::Add(amount) => {
                self.add(replica, i64::from(amount)).expect(FRESH_COUNTERS)
            }
            CausalCounterOp::Reset => self.reset(),
        }
    }
}

/// An operation on an ORMap whose values take operations `Inner`.
#[derive(Clone, Debug)]
pub enum MapOp<Inner> {
    Update(u8, Inner),
    Remove(u8),
    Clear,
}

impl<Inner: Arbitrary> Arbitrary for MapOp<Inner> {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 10 {
            0 => Self::Clear,
            1..=3 => Self::Remove(small(g) % 4),
            _ => Self::Update(small(g) % 4, Inner::arbitrary(g)),
        }
    }
}

impl<V> Subject for ORMap<u8, V>
where
    V: Subject + crdt_core::CausalCrdt<Store: crdt_core::StoreEncoding> + crdt_core::MapValueTag,
{
    type Op = MapOp<V::Op>;

    fn apply(&mut self, replica: ReplicaId, op: &Self::Op) -> Self {
        match op {
            MapOp::Update(key, inner) => self
                .update(*key, |value| value.apply(replica, inner))
                .expect(FRESH_COUNTERS),
            MapOp::Remove(key) => self.remove(key),
            MapOp::Clear => self.clear(),
        }
    }
}

/// Runs [`all_laws`] for `T` on `tests` random histories.
pub fn check_laws<T: Subject>(tests: u64) {
    fn property<T: Subject>(history: History<T::Op>) -> quickcheck::TestResult {
        match all_laws::<T>(&history) {
            Ok(()) => quickcheck::TestResult::passed(),
            Err(message) => quickcheck::TestResult::error(message),
        }
    }
    quickcheck::QuickCheck::new()
        .tests(tests)
        .rng(Gen::new(40))
        .quickcheck(property::<T> as fn(History<T::Op>) -> quickcheck::TestResult);
}

/// An edit of a sequence; positions are reduced modulo the length when applied.
#[derive(Clone, Debug)]
pub enum SeqOp {
    Insert { pos: u8, items: Vec<u8> },
    Delete { pos: u8, len: u8 },
}

impl Arbitrary for SeqOp {
    fn arbitrary(g: &mut Gen) -> Self {
        if u8::arbitrary(g) % 3 == 0 {
            Self::Delete {
                pos: u8::arbitrary(g),
                len: 1 + u8::arbitrary(g) % 3,
            }
        } else {
            let count = 1 + usize::from(u8::arbitrary(g) % 3);
            Self::Insert {
                pos: u8::arbitrary(g),
                items: (0..count).map(|_| small(g)).collect(),
            }
        }
    }
}

impl Subject for crdt_core::Rga<u8> {
    type Op = SeqOp;
    const RESOLVES_CONFLICTING_EVENTS: bool = false;

    fn apply(&mut self, replica: ReplicaId, op: &SeqOp) -> Self {
        let len = self.len();
        let result = match op {
            SeqOp::Insert { pos, items } => {
                self.insert(replica, u64::from(*pos) % (len + 1), items.iter().copied())
            }
            SeqOp::Delete { pos, len: count } => {
                if len == 0 {
                    return Self::default();
                }
                let pos = u64::from(*pos) % len;
                self.delete(replica, pos, u64::from(*count).min(len - pos))
            }
        };
        result.expect("positions are reduced into range")
    }
}
