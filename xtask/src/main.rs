//! `cargo xtask demo`, `cargo xtask test` and their parts: the README's commands, so that a
//! fresh machine needs nothing but cargo (and node, for the web parts) to build, run and check
//! the whole toolkit. Every tool they need beyond that is installed here, idempotently, so that
//! a second run costs a few version checks.

mod e2e;
mod fuzz;
mod packages;
mod self_contained;
mod wasm;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// One step of a task: a cargo invocation and what it is for, printed before it runs.
struct Step {
    what: &'static str,
    args: &'static [&'static str],
}

/// Everything CI checks natively. One package selection (`--workspace`) throughout, so cargo
/// reuses what an earlier step built instead of rebuilding it with other features.
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

/// The browser crate's checks, after its package is built: its tests are gated on wasm32, so
/// the native lint and test steps above never compile them.
const WASM_TEST_STEPS: &[Step] = &[
    Step {
        what: "crdt-wasm's lints on wasm32",
        args: &[
            "clippy",
            "--package",
            "crdt-wasm",
            "--target",
            "wasm32-unknown-unknown",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    },
    Step {
        what: "crdt-wasm's tests, under node (runner: wasm-bindgen-test-runner, .cargo/config.toml)",
        args: &[
            "test",
            "--package",
            "crdt-wasm",
            "--target",
            "wasm32-unknown-unknown",
        ],
    },
];

/// The terminal demo, from before the web page: a relay and three clients in one process.
const TERMINAL_DEMO_STEPS: &[Step] = &[Step {
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

/// Where the tasks run and the tools they call.
struct Env {
    /// The workspace root: every relative path below, and every command's working directory.
    root: PathBuf,
    /// `PATH` with cargo's install directory first, so a tool `cargo install` just put there
    /// is found (by us and by cargo's test runner) even on a machine whose `PATH` lacks it.
    path: OsString,
    /// Where `cargo install` puts binaries.
    cargo_bin: PathBuf,
}

impl Env {
    fn new() -> Self {
        // The xtask's own manifest is one level below the root; the working directory may be
        // anywhere inside the workspace.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lives inside the workspace")
            .to_path_buf();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let cargo_bin = std::env::var_os("CARGO_INSTALL_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("CARGO_HOME").map(PathBuf::from))
            .or_else(|| home.map(|home| home.join(".cargo")))
            .unwrap_or_else(|| PathBuf::from(".cargo"))
            .join("bin");
        let mut dirs = vec![cargo_bin.clone()];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let path = std::env::join_paths(dirs).unwrap_or_else(|_| OsString::from("/usr/bin:/bin"));
        Self {
            root,
            path,
            cargo_bin,
        }
    }

    /// Cargo's target directory: an override in the environment, else the workspace's.
    fn target_dir(&self) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => self.root.join(dir),
            None => self.root.join("target"),
        }
    }

    /// A command run from the root with our `PATH`.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.current_dir(&self.root).env("PATH", &self.path);
        command
    }

    /// Cargo itself: the one that started us, so the same toolchain builds everything.
    fn cargo(&self) -> Command {
        self.command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
    }

    /// Runs `command`, printing `what` and the command line first; fails unless it succeeds.
    fn run(&self, what: &str, command: &mut Command) -> Result<(), String> {
        eprintln!("xtask: {what} ({})", show(command));
        match command.status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("{what} failed ({status})")),
            Err(error) => Err(format!(
                "{what}: could not start {}: {error}",
                command.get_program().to_string_lossy()
            )),
        }
    }

    /// The cargo steps, in order, stopping at the first that fails.
    fn run_steps(&self, steps: &[Step]) -> Result<(), String> {
        for step in steps {
            self.run(step.what, self.cargo().args(step.args))?;
        }
        Ok(())
    }

    /// What `command` prints on stdout when it succeeds; `None` if it cannot start or fails,
    /// which to the callers means "not installed".
    fn output(&self, command: &mut Command) -> Option<String> {
        let output = command.stderr(std::process::Stdio::null()).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// A command line as a person would type it, relative to the root (for the step lines).
fn show(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let program = if program.is_absolute() {
        program.file_name().map(Path::new).unwrap_or(program)
    } else {
        program
    };
    std::iter::once(program.as_os_str())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn test(env: &Env) -> Result<(), String> {
    self_contained::check(env)?;
    packages::ensure_postgres(env)?;
    env.run_steps(TEST_STEPS)?;
    wasm::build(env)?;
    env.run_steps(WASM_TEST_STEPS)?;
    e2e::run(env)?;
    fuzz::smoke(env, fuzz::SMOKE_SECONDS)
}

fn demo(env: &Env, terminal: bool) -> Result<(), String> {
    if terminal {
        return env.run_steps(TERMINAL_DEMO_STEPS);
    }
    wasm::build(env)?;
    eprintln!("xtask: open http://127.0.0.1:8080 (Ctrl-C stops the relay)");
    env.run(
        "the relay serves the web demo",
        env.cargo().args([
            "run",
            "--quiet",
            "--package",
            "crdt-sync",
            "--bin",
            "crdt-relay",
            "--",
            "--listen",
            "127.0.0.1:8080",
            "--static",
            "demo-web",
            "--data-dir",
            "target/demo-data",
        ]),
    )
}

const USAGE: &str = "usage: cargo xtask <demo [--terminal]|test|wasm|e2e|fuzz [SECONDS]>
  demo             build the web demo and serve it at http://127.0.0.1:8080
  demo --terminal  a relay and three clients share a cart in the terminal
  test             everything CI checks
  wasm             build the browser package into demo-web/pkg
  e2e              build it and run the browser end-to-end test
  fuzz [SECONDS]   run every fuzz target for SECONDS (default 20; needs nightly)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = Env::new();
    let result = match args.as_slice() {
        ["demo"] => demo(&env, false),
        ["demo", "--terminal"] => demo(&env, true),
        ["test"] => test(&env),
        ["wasm"] => wasm::build(&env),
        ["e2e"] => wasm::build(&env).and_then(|()| e2e::run(&env)),
        ["fuzz"] => fuzz::smoke(&env, fuzz::SMOKE_SECONDS),
        ["fuzz", seconds] => match seconds.parse() {
            Ok(seconds) => fuzz::smoke(&env, seconds),
            Err(_) => Err(format!("fuzz: {seconds:?} is not a number of seconds")),
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}
