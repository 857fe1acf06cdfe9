//! Workload 2: full-state join of two 100,000-element add-wins sets that differ by 1%, for
//! this toolkit's `AWSet` (`Lattice::join`) and `crdts`' `Orswot` (`CvRDT::merge`).
//!
//! The two replicas (see `benches::our_diverged_pair`): replica 0 adds 99,000 elements, both
//! sides start from that state, then replica 0 adds 500 more on its side and replica 1 adds 500
//! others on its side. Each side holds 99,500 elements; the join holds 100,000.
//!
//! Only the join is timed: the receiving side is cloned in the setup (and, for `crdts`, whose
//! `merge` takes the other state by value, the other side too), and the result is dropped
//! outside the timing. The `*_clone` rows time cloning one side, for scale: that is what a
//! caller pays to keep a state it hands to `crdts`' `merge`.

use std::hint::black_box;
use std::time::Duration;

use benches::{our_diverged_pair, their_diverged_pair};
use crdt_core::Lattice;
use crdts::CvRDT;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

/// Elements both sides share.
const SHARED: u64 = 99_000;
/// Elements each side adds on its own.
const EXTRA: u64 = 500;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("aw_set_full_join_100k");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));

    let (left, right) = our_diverged_pair(SHARED, EXTRA);
    assert_eq!(left.clone().joined(&right).len() as u64, SHARED + 2 * EXTRA);
    group.bench_function("ours_join", |b| {
        b.iter_batched(
            || left.clone(),
            |mut mine| {
                mine.join(black_box(&right));
                mine
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("ours_clone", |b| {
        b.iter_batched(|| (), |()| left.clone(), BatchSize::PerIteration);
    });
    drop((left, right));

    let (left, right) = their_diverged_pair(SHARED, EXTRA);
    let mut check = left.clone();
    check.merge(right.clone());
    assert_eq!(check.read().val.len() as u64, SHARED + 2 * EXTRA);
    drop(check);
    group.bench_function("crdts_merge", |b| {
        b.iter_batched(
            || (left.clone(), right.clone()),
            |(mut mine, theirs)| {
                mine.merge(black_box(theirs));
                mine
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("crdts_clone", |b| {
        b.iter_batched(|| (), |()| left.clone(), BatchSize::PerIteration);
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
