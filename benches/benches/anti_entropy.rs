//! Wall time of one anti-entropy round (connect to completion, gossip off) between collections
//! of n counters that differ in d, beside the naive baseline's work: hashing and encoding every
//! (id, digest). Wire costs (bytes, round trips) come from the `sync-costs` binary; this bench
//! times the same exchange.

use std::hint::black_box;
use std::time::Duration;

use benches::sync::{diverged, naive_control_bytes, reconcile};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};

fn anti_entropy(c: &mut Criterion) {
    let mut group = c.benchmark_group("anti_entropy");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for n in [10_000u64, 100_000] {
        let mut differences = vec![0, 1, 100, n / 100];
        differences.dedup();
        for d in differences {
            let (left, right) = diverged(n, d);
            group.bench_with_input(BenchmarkId::new(format!("merkle/n={n}"), d), &d, |b, _| {
                b.iter_batched(
                    || (left.clone(), right.clone()),
                    // Returned, so that dropping the collections is not timed.
                    |(mut left, mut right)| {
                        let cost = reconcile(&mut left, &mut right);
                        (black_box(cost), left, right)
                    },
                    BatchSize::LargeInput,
                );
            });
            group.bench_with_input(BenchmarkId::new(format!("naive/n={n}"), d), &d, |b, &d| {
                b.iter(|| black_box(naive_control_bytes(&left, d)));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, anti_entropy);
criterion_main!(benches);
