//! `cargo xtask demo` and `cargo xtask test`: the two commands of the README, so that a fresh
//! machine needs nothing but cargo to build, run and check the whole toolkit.

use std::process::{Command, ExitCode};

/// One step of a task: a cargo invocation and what it is for, printed before it runs.
struct Step {
    what: &'static str,
    args: &'static [&'static str],
}

/// Everything CI checks. One package selection (`--workspace`) throughout, so cargo reuses
/// what an earlier step built instead of rebuilding it with other features.
const TEST_STEPS: &[Step] = &[
    Step {
        what: "formatting",
        args: &["fmt", "--all", "--", "--check"],
    },
    Step {
        what: "lints",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    },
    Step {
        what: "tests, examples and doc tests",
        args: &["test", "--workspace"],
    },
    Step {
        what: "benchmarks compile",
        args: &["build", "--workspace", "--benches"],
    },
    Step {
        what: "crdt-core builds without std (no_std + alloc)",
        args: &["build", "--package", "crdt-core", "--no-default-features"],
    },
    Step {
        what: "crdt-sync's sans-IO core builds without the network layer",
        args: &[
            "build",
            "--package",
            "crdt-sync",
            "--no-default-features",
            "--lib",
        ],
    },
];

/// Until the web demo exists, the demo is a terminal shopping cart shared through a relay.
const DEMO_STEPS: &[Step] = &[Step {
    what: "a relay and three clients share a shopping cart; one edits offline, all converge",
    args: &[
        "run",
        "--quiet",
        "--package",
        "crdt-sync",
        "--example",
        "relay_cart",
    ],
}];

fn run(steps: &[Step]) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    for step in steps {
        eprintln!("xtask: {} (cargo {})", step.what, step.args.join(" "));
        let status = Command::new(&cargo).args(step.args).status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("xtask: {} failed ({status})", step.what);
                return ExitCode::FAILURE;
            }
            Err(error) => {
                eprintln!("xtask: could not start cargo: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("demo") => run(DEMO_STEPS),
        Some("test") => run(TEST_STEPS),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|test>\n  demo  run the demo\n  test  everything CI checks"
            );
            ExitCode::FAILURE
        }
    }
}
