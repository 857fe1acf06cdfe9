//! A diagnostic, not a criterion bench: the cost of joining into an n-element `AWSet` a
//! one-element *state* of a replica that has made k events before (all seen by the big set),
//! next to the cost of joining that replica's one-element *delta*. A state's causal context
//! covers the sender's whole history, a delta's only its own dots, so the two can cost
//! differently; this shows how the cost depends on n and k. Prints the median of 201 joins,
//! each timed alone, per (n, k).
//!
//! It is not a criterion bench because every timed join adds one event to the sender's history,
//! so k would drift with criterion's iteration count; here k moves by at most 402 events.
//!
//! Run with `cargo run --release -p benches --bin state_join`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::{item, our_set, replica};
use crdt_core::{AWSet, Lattice};

/// Joins timed per (n, k); the median is printed.
const REPEATS: usize = 201;

/// The median of `times`.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn main() {
    let sender = replica(1);
    println!("| n | k | one-element state join (median) | one-element delta join (median) |");
    println!("|---:|---:|---:|---:|");
    for n in [1_000, 100_000, 1_000_000] {
        let mut big = our_set(replica(0), (0..n).map(item));
        for k in [10, 1_000, 100_000] {
            // The sender makes k events (add then remove), which the big set sees.
            let mut small: AWSet<String> = AWSet::new();
            for i in 0..k {
                let element = format!("history-{k}-{i}");
                let _delta = small
                    .add(sender, element.clone())
                    .expect(benches::COUNTERS_LEFT);
                let _delta = small.remove(&element);
            }
            big.join(&small);

            let (mut states, mut deltas) = (Vec::new(), Vec::new());
            for (kind, times) in [("state", &mut states), ("delta", &mut deltas)] {
                for repeat in 0..REPEATS {
                    let element = format!("new-{kind}-{k}-{repeat}");
                    let delta = small
                        .add(sender, element.clone())
                        .expect(benches::COUNTERS_LEFT);
                    let state = small.clone();
                    let removal = small.remove(&element);
                    let change = if kind == "state" { &state } else { &delta };
                    let start = Instant::now();
                    big.join(black_box(change));
                    times.push(start.elapsed());
                    big.join(&removal);
                }
            }
            assert_eq!(big.len() as u64, n);
            println!(
                "| {n} | {k} | {:?} | {:?} |",
                median(states),
                median(deltas)
            );
        }
    }
}
