//! Workload 3: counters and the multi-value register, side by side with `crdts`, with R = 3
//! and R = 8 replicas that have all touched the value.
//!
//! - `*/update`: replica 0 makes one change and a second replica takes it in: ours is the
//!   mutator plus `join` of the returned delta; `crdts` is the op built at replica 0, applied
//!   there and (a clone) at the second replica. GCounter: one increment; PNCounter: one
//!   increment and one decrement; MvRegister: one write (superseding the R concurrent values
//!   every replica had seen).
//! - `*/merge`: full-state join of two replicas' states (ours `join`, `crdts` `merge`); the
//!   receiving state (and for `crdts`, whose `merge` consumes its argument, the other state
//!   too) is cloned in the untimed setup. Counters: two states with R entries each, half of
//!   them ahead on either side. MvRegister: R registers that each wrote one value concurrently
//!   from a shared state, merged into one holding R values (R - 1 merges).

use std::hint::black_box;
use std::time::Duration;

use benches::{Actor, actor, replica};
use crdt_core::{GCounter, Lattice, MvRegister, PNCounter};
use crdts::{CmRDT, CvRDT};
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use criterion::{BenchmarkId, measurement::WallTime};

/// Replica counts.
const REPLICAS: [u64; 2] = [3, 8];

type TheirGCounter = crdts::GCounter<Actor>;
type TheirPNCounter = crdts::PNCounter<Actor>;
type TheirMvReg = crdts::MVReg<u64, Actor>;

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

/// Two of our counters over `r` replicas: every replica counted, and on each side half of the
/// replicas are ahead of the other side.
fn our_gcounters(r: u64) -> (GCounter, GCounter) {
    let (mut left, mut right) = (GCounter::new(), GCounter::new());
    for n in 0..r {
        let _delta = left.increment(replica(n), 1_000 + n);
        let _delta = right.increment(replica(n), 1_000 + n);
        let ahead = if n % 2 == 0 { &mut left } else { &mut right };
        let _delta = ahead.increment(replica(n), 7);
    }
    (left, right)
}

/// The same two counters as [`our_gcounters`], for `crdts`.
fn their_gcounters(r: u64) -> (TheirGCounter, TheirGCounter) {
    let (mut left, mut right) = (TheirGCounter::new(), TheirGCounter::new());
    for n in 0..r {
        left.apply(left.inc_many(actor(n), 1_000 + n));
        right.apply(right.inc_many(actor(n), 1_000 + n));
        let ahead = if n % 2 == 0 { &mut left } else { &mut right };
        ahead.apply(ahead.inc_many(actor(n), 7));
    }
    (left, right)
}

/// Two of our PN-counters over `r` replicas, like [`our_gcounters`] with decrements too.
fn our_pncounters(r: u64) -> (PNCounter, PNCounter) {
    let (mut left, mut right) = (PNCounter::new(), PNCounter::new());
    for n in 0..r {
        for side in [&mut left, &mut right] {
            let _delta = side.increment(replica(n), 1_000 + n);
            let _delta = side.decrement(replica(n), 300 + n);
        }
        let ahead = if n % 2 == 0 { &mut left } else { &mut right };
        let _delta = ahead.increment(replica(n), 7);
        let _delta = ahead.decrement(replica(n), 3);
    }
    (left, right)
}

/// The same two counters as [`our_pncounters`], for `crdts`.
fn their_pncounters(r: u64) -> (TheirPNCounter, TheirPNCounter) {
    let (mut left, mut right) = (TheirPNCounter::new(), TheirPNCounter::new());
    for n in 0..r {
        for side in [&mut left, &mut right] {
            side.apply(side.inc_many(actor(n), 1_000 + n));
            side.apply(side.dec_many(actor(n), 300 + n));
        }
        let ahead = if n % 2 == 0 { &mut left } else { &mut right };
        ahead.apply(ahead.inc_many(actor(n), 7));
        ahead.apply(ahead.dec_many(actor(n), 3));
    }
    (left, right)
}

/// `r` of our registers: from a shared state where replica 0 wrote, replica `n` wrote `n`.
fn our_registers(r: u64) -> Vec<MvRegister<u64>> {
    let mut base = MvRegister::new();
    let _delta = base.write(replica(0), 0).expect(benches::COUNTERS_LEFT);
    (0..r)
        .map(|n| {
            let mut register = base.clone();
            let _delta = register.write(replica(n), n).expect(benches::COUNTERS_LEFT);
            register
        })
        .collect()
}

/// The same registers as [`our_registers`], for `crdts`.
fn their_registers(r: u64) -> Vec<TheirMvReg> {
    let mut base = TheirMvReg::new();
    base.apply(base.write(0, base.read_ctx().derive_add_ctx(actor(0))));
    (0..r)
        .map(|n| {
            let mut register = base.clone();
            register.apply(register.write(n, register.read_ctx().derive_add_ctx(actor(n))));
            register
        })
        .collect()
}

/// `merge/ours`: a full-state join of `right` into a clone of `left` (cloned untimed).
fn merge_ours<T: Lattice>(group: &mut BenchmarkGroup<'_, WallTime>, r: u64, left: T, right: T) {
    group.bench_function(BenchmarkId::new("merge/ours", r), |b| {
        b.iter_batched(
            || left.clone(),
            |mut mine| {
                mine.join(black_box(&right));
                mine
            },
            BatchSize::SmallInput,
        );
    });
}

/// `merge/crdts`: the same with `crdts`' state merge (both sides cloned untimed, as it takes
/// the other side by value).
fn merge_theirs<T: CvRDT + Clone>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    r: u64,
    left: T,
    right: T,
) {
    group.bench_function(BenchmarkId::new("merge/crdts", r), |b| {
        b.iter_batched(
            || (left.clone(), right.clone()),
            |(mut mine, theirs)| {
                mine.merge(black_box(theirs));
                mine
            },
            BatchSize::SmallInput,
        );
    });
}

fn gcounter(c: &mut Criterion) {
    let mut group = c.benchmark_group("gcounter");
    configure(&mut group);
    for r in REPLICAS {
        let (mut here, mut there) = our_gcounters(r);
        group.bench_function(BenchmarkId::new("update/ours", r), |b| {
            b.iter(|| {
                let delta = here.increment(replica(0), 1);
                there.join(black_box(&delta));
            });
        });
        let (mut here, mut there) = their_gcounters(r);
        group.bench_function(BenchmarkId::new("update/crdts", r), |b| {
            b.iter(|| {
                let op = here.inc(actor(0));
                here.apply(op);
                there.apply(black_box(op));
            });
        });

        let (left, right) = our_gcounters(r);
        merge_ours(&mut group, r, left, right);
        let (left, right) = their_gcounters(r);
        merge_theirs(&mut group, r, left, right);
    }
    group.finish();
}

fn pncounter(c: &mut Criterion) {
    let mut group = c.benchmark_group("pncounter");
    configure(&mut group);
    for r in REPLICAS {
        let (mut here, mut there) = our_pncounters(r);
        group.bench_function(BenchmarkId::new("update/ours", r), |b| {
            b.iter(|| {
                let delta = here.increment(replica(0), 2);
                there.join(black_box(&delta));
                let delta = here.decrement(replica(0), 1);
                there.join(black_box(&delta));
            });
        });
        let (mut here, mut there) = their_pncounters(r);
        group.bench_function(BenchmarkId::new("update/crdts", r), |b| {
            b.iter(|| {
                let op = here.inc_many(actor(0), 2);
                here.apply(op.clone());
                there.apply(black_box(op));
                let op = here.dec(actor(0));
                here.apply(op.clone());
                there.apply(black_box(op));
            });
        });

        let (left, right) = our_pncounters(r);
        merge_ours(&mut group, r, left, right);
        let (left, right) = their_pncounters(r);
        merge_theirs(&mut group, r, left, right);
    }
    group.finish();
}

fn mv_register(c: &mut Criterion) {
    let mut group = c.benchmark_group("mv_register");
    configure(&mut group);
    for r in REPLICAS {
        let registers = our_registers(r);
        let merged = registers
            .iter()
            .fold(MvRegister::new(), |all, one| all.joined(one));
        assert_eq!(merged.values().len() as u64, r);
        let (mut here, mut there) = (merged.clone(), merged);
        let mut value = 0;
        group.bench_function(BenchmarkId::new("update/ours", r), |b| {
            b.iter(|| {
                value += 1;
                let delta = here.write(replica(0), value).expect(benches::COUNTERS_LEFT);
                there.join(black_box(&delta));
            });
        });
        assert_eq!(there.values().collect::<Vec<_>>(), [&value]);

        let registers_theirs = their_registers(r);
        let mut merged = TheirMvReg::new();
        for register in registers_theirs.iter().cloned() {
            merged.merge(register);
        }
        assert_eq!(merged.read().val.len() as u64, r);
        let (mut here, mut there) = (merged.clone(), merged);
        let mut value = 0;
        group.bench_function(BenchmarkId::new("update/crdts", r), |b| {
            b.iter(|| {
                value += 1;
                let op = here.write(value, here.read_ctx().derive_add_ctx(actor(0)));
                here.apply(op.clone());
                there.apply(black_box(op));
            });
        });
        assert_eq!(there.read().val, [value]);

        group.bench_function(BenchmarkId::new("merge/ours", r), |b| {
            b.iter_batched(
                || registers[0].clone(),
                |mut all| {
                    for one in &registers[1..] {
                        all.join(black_box(one));
                    }
                    all
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::new("merge/crdts", r), |b| {
            b.iter_batched(
                || registers_theirs.clone(),
                |all| {
                    let mut all = all.into_iter();
                    let mut merged = all.next().unwrap_or_default();
                    for one in all {
                        merged.merge(black_box(one));
                    }
                    merged
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, gcounter, pncounter, mv_register);
criterion_main!(benches);
