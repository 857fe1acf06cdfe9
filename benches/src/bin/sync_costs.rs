//! Prints what `crdt-sync` costs on the wire: anti-entropy control bytes and round trips between
//! collections of n objects differing in d, beside the naive "send every (id, digest)" baseline,
//! and gossip among 100 simulated replicas on a lossy network.
//!
//! `cargo run --release -p benches --bin sync-costs [-- --quick]` (`--quick` skips n = 10^6).

use benches::sync::{diverged, naive_control_bytes, reconcile};
use crdt_sync::simulation::{SimConfig, Simulation};

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    println!("## Anti-entropy (gossip off), one round from connect to completion\n");
    println!(
        "| n | d | control bytes | round trips | frames | delta bytes | naive control bytes | naive / ours | 3 × 32 × d |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let sizes: &[u64] = if quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    for &n in sizes {
        let mut differences = vec![0, 1, 100, n / 100];
        differences.dedup();
        for d in differences {
            let (mut left, mut right) = diverged(n, d);
            let cost = reconcile(&mut left, &mut right);
            assert_eq!(
                left.iter().collect::<Vec<_>>(),
                right.iter().collect::<Vec<_>>(),
                "anti-entropy must converge"
            );
            let naive = naive_control_bytes(&left, d);
            println!(
                "| {n} | {d} | {} | {} | {} | {} | {naive} | {:.0}× | {} |",
                cost.control_bytes,
                cost.round_trips,
                cost.frames,
                cost.delta_bytes,
                naive as f64 / cost.control_bytes.max(1) as f64,
                3 * 32 * d
            );
        }
    }

    println!("\n## Gossip: 100 replicas, 4 peers each, 5% loss, one update per 10 ms tick\n");
    println!(
        "| updates | seed | converged | ticks after the last update | frames | bytes | bytes per update |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|");
    for ops in [100, 1_000] {
        for seed in 1..=3 {
            let report = Simulation::new(SimConfig {
                replicas: 100,
                degree: 4,
                loss: 0.05,
                seed,
                ops,
                ..SimConfig::default()
            })
            .run();
            println!(
                "| {ops} | {seed} | {} | {} | {} | {} | {:.0} |",
                report.converged,
                report.rounds_to_converge,
                report.messages,
                report.bytes,
                report.bytes as f64 / ops as f64
            );
        }
    }
}
