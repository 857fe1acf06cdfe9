//! Runs the deterministic network simulator and prints whether the replicas converged.
//!
//! ```text
//! cargo run --release -p crdt-sync --example simulate -- --replicas 8 --seed 42 --loss 0.1 \
//!     --dup 0.05 --partition-every 2000 --ops 1000
//! ```
//!
//! Exits with status 1 if the replicas did not converge, 2 on a bad argument.

use std::process::ExitCode;

use crdt_sync::simulation::{SimConfig, Simulation};

const USAGE: &str = "usage: simulate [--replicas N] [--seed S] [--loss P] [--dup P] \
[--partition-every MS] [--restart-every MS] [--ops K] [--objects M] [--degree D]";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok(config) => {
            let shown = format!(
                "replicas={} seed={} loss={} dup={} partition-every={}ms restart-every={}ms ops={} objects={} degree={}",
                config.replicas,
                config.seed,
                config.loss,
                config.duplicate,
                config.partition_every_ms,
                config.restart_every_ms,
                config.ops,
                config.objects,
                config.degree
            );
            let report = Simulation::new(config).run();
            println!("{shown}");
            println!(
                "converged: {}\nrounds: {} ({} after the workload and partitions ended; a round is one 10 ms tick)\nmessages: {}\nbytes: {}\nlost: {}\nduplicated: {}\nrestarts: {}\nanti-entropy rounds completed: {}\nsessions closed by errors: {}",
                report.converged,
                report.rounds,
                report.rounds_to_converge,
                report.messages,
                report.bytes,
                report.lost,
                report.duplicated,
                report.restarts,
                report.rounds_completed,
                report.sessions_failed
            );
            if report.converged {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<SimConfig, String> {
    let mut config = SimConfig {
        replicas: 5,
        ops: 500,
        restart_every_ms: 3_000,
        ..SimConfig::default()
    };
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err("simulate: replicas syncing over a seeded faulty network".into());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |_| format!("{flag}: cannot read {value:?}");
        match flag.as_str() {
            "--replicas" => config.replicas = value.parse().map_err(bad)?,
            "--seed" => config.seed = value.parse().map_err(bad)?,
            "--ops" => config.ops = value.parse().map_err(bad)?,
            "--objects" => config.objects = value.parse().map_err(bad)?,
            "--degree" => config.degree = value.parse().map_err(bad)?,
            "--partition-every" => config.partition_every_ms = value.parse().map_err(bad)?,
            "--restart-every" => config.restart_every_ms = value.parse().map_err(bad)?,
            "--loss" => config.loss = probability(&flag, &value)?,
            "--dup" => config.duplicate = probability(&flag, &value)?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if config.replicas < 2 {
        return Err("--replicas must be at least 2".into());
    }
    Ok(config)
}

fn probability(flag: &str, value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "{flag} must be a probability in [0, 1), got {value:?}"
        )),
    }
}
