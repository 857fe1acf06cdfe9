//! Workload 1: joining a one-element change from another replica into a big add-wins set of
//! n = 1,000 / 100,000 / 1,000,000 string elements, for this toolkit's `AWSet` and `crdts`'
//! `Orswot`. The cost should not grow linearly with n.
//!
//! Method. The big set is built once per n (replica 0 adds `item(0..n)`), outside any timing.
//! A second, small replica (replica 1) produces the changes: for each one it adds a fresh
//! element (named to sort at a pseudo-random position among the big set's elements, which
//! matters to ordered maps; hashed maps do not care) and at once removes it again
//! locally, so its own state stays small. Changes are made in chunks of [`CHUNK`], untimed;
//! the chunk is then applied to the big set, timed; then it is undone, untimed, so the big set
//! never holds more than n + [`CHUNK`] elements (+10% at n = 1,000, +0.01% at n = 10^6) and
//! every timed change is distinct and new. Nothing big is ever cloned. Rows:
//!
//! - `ours_delta`: `AWSet::join` of the delta returned by replica 1's `add`.
//! - `crdts_op`: `Orswot::apply` of replica 1's `Op::Add` (crdts' op-based path; ops must be
//!   delivered exactly in causal order, which deltas and states need not be).
//! - `crdts_merge`: `Orswot::merge` of replica 1's whole state right after its add (crdts has
//!   no delta-state API; its state of one element also says that replica 1 removed its earlier
//!   elements, so each merge also drops the previous change). `merge` takes its argument by
//!   value: the small state is cloned before the timing.
//!
//! What is timed is the join / apply / merge call itself. Ours borrows the delta, which is
//! dropped after the timing; `crdts`' `apply` and `merge` consume their argument, so their
//! figures include disposing of what is left of it (for `apply`, one small `Vec` buffer: the
//! element `String` itself moves into the set, where ours clones it).

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::{
    TheirSet, actor, item, item_between, mix, our_set, replica, their_add, their_remove, their_set,
};
use crdt_core::{AWSet, Lattice, ReplicaId};
use crdts::{CmRDT, CvRDT};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};

/// How many changes are applied between two undos.
const CHUNK: u64 = 100;

/// The set sizes.
const SIZES: [u64; 3] = [1_000, 100_000, 1_000_000];

/// Replica 1 of our set: makes fresh one-element changes and forgets them locally.
struct OurSource {
    replica: ReplicaId,
    state: AWSet<String>,
    made: u64,
    n: u64,
    /// The remove deltas undoing the changes applied since the last undo.
    undo: Vec<AWSet<String>>,
}

impl OurSource {
    fn new(n: u64) -> Self {
        Self {
            replica: replica(1),
            state: AWSet::new(),
            made: 0,
            n,
            undo: Vec::new(),
        }
    }

    /// The delta of a fresh add; keeps the delta of its removal for the undo.
    fn next(&mut self) -> AWSet<String> {
        self.made += 1;
        let element = item_between(mix(self.made) % self.n, self.made);
        let delta = self
            .state
            .add(self.replica, element.clone())
            .expect(benches::COUNTERS_LEFT);
        self.undo.push(self.state.remove(&element));
        delta
    }
}

/// Replica 1 of the `crdts` set: the same changes as [`OurSource`].
struct TheirSource {
    state: TheirSet,
    made: u64,
    n: u64,
    /// The removes undoing the changes applied since the last undo.
    undo: Vec<TheirOp>,
}

type TheirOp = crdts::orswot::Op<String, benches::Actor>;

/// One change of the `crdts` set, in its two shapes, and the op that undoes it.
struct TheirChange {
    add: TheirOp,
    state: TheirSet,
    remove: TheirOp,
}

impl TheirSource {
    fn new(n: u64) -> Self {
        Self {
            state: TheirSet::new(),
            made: 0,
            n,
            undo: Vec::new(),
        }
    }

    fn next(&mut self) -> TheirChange {
        self.made += 1;
        let element = item_between(mix(self.made) % self.n, self.made);
        let add = their_add(&mut self.state, actor(1), element.clone());
        let state = self.state.clone();
        let remove = their_remove(&mut self.state, &element);
        TheirChange { add, state, remove }
    }
}

/// Times `apply` over `iters` changes made by `make`, in chunks of [`CHUNK`]; after each chunk
/// `undo` runs untimed. `world` is what the three share (the big set and the source). What
/// `apply` returns (our delta, which `join` only borrows) is dropped after the timing.
fn chunked<W, C, R>(
    iters: u64,
    world: &mut W,
    make: impl Fn(&mut W) -> C,
    apply: impl Fn(&mut W, C) -> R,
    undo: impl Fn(&mut W),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let count = left.min(CHUNK);
        let changes: Vec<C> = (0..count).map(|_| make(world)).collect();
        let mut spent: Vec<R> = Vec::with_capacity(changes.len());
        let start = Instant::now();
        for change in changes {
            spent.push(apply(world, black_box(change)));
        }
        total += start.elapsed();
        drop(spent);
        undo(world);
        left -= count;
    }
    total
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sampling_mode(SamplingMode::Auto);
}

fn bench_ours(c: &mut Criterion) {
    let mut group = c.benchmark_group("aw_set_delta");
    configure(&mut group);
    for n in SIZES {
        let big = our_set(replica(0), (0..n).map(item));
        let mut world = (big, OurSource::new(n));

        group.bench_function(BenchmarkId::new("ours_delta", n), |b| {
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    &mut world,
                    |(_, source)| source.next(),
                    |(big, _), delta| {
                        big.join(&delta);
                        delta
                    },
                    |(big, source)| {
                        for removal in source.undo.drain(..) {
                            big.join(&removal);
                        }
                    },
                )
            });
        });
        assert_eq!(world.0.len() as u64, n);
    }
    group.finish();
}

fn bench_theirs(c: &mut Criterion) {
    let mut group = c.benchmark_group("aw_set_delta");
    for n in SIZES {
        configure(&mut group);
        let big = their_set(actor(0), (0..n).map(item));
        let mut world = (big, TheirSource::new(n));

        group.bench_function(BenchmarkId::new("crdts_op", n), |b| {
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    &mut world,
                    |(_, source)| {
                        let change = source.next();
                        source.undo.push(change.remove);
                        change.add
                    },
                    |(big, _), op| big.apply(op),
                    |(big, source)| {
                        for op in source.undo.drain(..) {
                            big.apply(op);
                        }
                    },
                )
            });
        });
        assert_eq!(world.0.read().val.len() as u64, n);

        if n >= 1_000_000 {
            // Each merge rebuilds the whole entry map (~0.1 s here): take fewer samples.
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.bench_function(BenchmarkId::new("crdts_merge", n), |b| {
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    &mut world,
                    |(_, source)| source.next().state,
                    |(big, _), state| big.merge(state),
                    |(big, source)| big.merge(source.state.clone()),
                )
            });
        });
        assert_eq!(world.0.read().val.len() as u64, n);
    }
    group.finish();
}

criterion_group!(benches, bench_ours, bench_theirs);
criterion_main!(benches);
