//! `cargo xtask fuzz [SECONDS]`: a smoke run of every cargo-fuzz target in `fuzz/` (see
//! `fuzz/README.md`), each for a few seconds from its seed corpus, failing with the crash file
//! if one is found. Fuzzing needs a nightly toolchain (libFuzzer's instrumentation); without
//! one it is skipped, not failed, since stable already replays every seed and crash
//! reproducer (`cargo test -p crdt-fuzz-checks`, part of `cargo xtask test`). cargo-fuzz is
//! installed the first time (`cargo +nightly install cargo-fuzz --locked`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Env;

/// Seconds per target when none are given: enough to run every seed and mutate a little.
pub(crate) const SMOKE_SECONDS: u64 = 20;

/// The cargo-fuzz package, from the root.
const FUZZ_DIR: &str = "fuzz";

/// libFuzzer's options for every run: the memory cap the README uses, and a per-input time
/// limit far above any target's slowest input, so that a hang is reported as one.
const LIBFUZZER_OPTIONS: &[&str] = &["-rss_limit_mb=2048", "-timeout=10", "-print_final_stats=1"];

/// Builds every fuzz target and runs each for `seconds` (libFuzzer's `-max_total_time`) on a
/// scratch corpus under the target directory plus its seeds in `fuzz/corpus/<target>/`.
/// Without a nightly toolchain it prints that fuzzing is skipped and succeeds. A crash fails it
/// with the path of the crash file (libFuzzer writes it to `fuzz/artifacts/<target>/`).
pub(crate) fn smoke(env: &Env, seconds: u64) -> Result<(), String> {
    if env.output(nightly(env).arg("--version")).is_none() {
        eprintln!(
            "xtask: no nightly toolchain (`rustup toolchain install nightly`): fuzzing skipped"
        );
        return Ok(());
    }
    ensure_cargo_fuzz(env)?;
    // No sanitizer: the code is safe Rust (unsafe is forbidden), where AddressSanitizer finds
    // little and costs most of the speed; `--sanitizer address` by hand checks the crates
    // below us.
    env.run(
        "fuzz targets (nightly, libFuzzer)",
        nightly(env).args([
            "fuzz",
            "build",
            "--fuzz-dir",
            FUZZ_DIR,
            "--sanitizer",
            "none",
        ]),
    )?;
    for target in targets(&env.root)? {
        let scratch = env.target_dir().join("fuzz-corpus").join(&target);
        std::fs::create_dir_all(&scratch)
            .map_err(|error| format!("{}: {error}", scratch.display()))?;
        let seeds = env.root.join(FUZZ_DIR).join("corpus").join(&target);
        let artifacts = env.root.join(FUZZ_DIR).join("artifacts").join(&target);
        let before = files(&artifacts);
        // libFuzzer prints a line per new input: thousands per run, kept in a log so that
        // CI's output shows the figures, and the whole story only when something broke.
        let log_path = env
            .target_dir()
            .join("fuzz-logs")
            .join(format!("{target}.log"));
        let log = create_log(&log_path)?;
        let mut command = nightly(env);
        command
            .args(["fuzz", "run", "--fuzz-dir", FUZZ_DIR, "--sanitizer", "none"])
            .arg(&target)
            .arg(&scratch)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .args(LIBFUZZER_OPTIONS)
            .stdout(log.try_clone().map_err(|error| error.to_string())?)
            .stderr(log);
        let run = env.run(&format!("fuzz {target} for {seconds} s"), &mut command);
        let output = std::fs::read_to_string(&log_path).unwrap_or_default();
        let found: Vec<PathBuf> = files(&artifacts).difference(&before).cloned().collect();
        if run.is_ok() && found.is_empty() {
            eprintln!("xtask: {target}: {}", final_stats(&output));
        } else {
            // The seed comes first in the log: with it, `-seed=N` replays the run's choices.
            let seed = output
                .lines()
                .find(|line| line.contains("Seed: "))
                .unwrap_or("no seed line");
            eprintln!(
                "xtask: {seed}; the end of {}:\n{}",
                log_path.display(),
                last_lines(&output, 60)
            );
        }
        if let Some(crash) = found.first() {
            return Err(format!(
                "fuzz target {target} failed on {}; minimize it (`cargo +nightly fuzz tmin \
                 --sanitizer none {target} FILE`), copy it to fuzz/regressions/{target}/ \
                 under a name that says what broke, and `cargo test -p crdt-fuzz-checks` \
                 replays it",
                crash.display()
            ));
        }
        run?;
    }
    Ok(())
}

/// Creates (or empties) the log file at `path`, and its directory.
fn create_log(path: &Path) -> Result<std::fs::File, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    }
    std::fs::File::create(path).map_err(|error| format!("{}: {error}", path.display()))
}

/// libFuzzer's closing figures (`-print_final_stats=1`) in one line.
fn final_stats(output: &str) -> String {
    let stat = |name: &str| {
        output
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map_or("?", str::trim)
            .to_owned()
    };
    format!(
        "{} inputs run, {} exec/s, peak RSS {} MB",
        stat("stat::number_of_executed_units"),
        stat("stat::average_exec_per_sec"),
        stat("stat::peak_rss_mb")
    )
}

/// The last `count` lines of `text`.
fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// `cargo +nightly`: through rustup's proxy on `PATH`, not the cargo running us (a toolchain's
/// own cargo does not understand `+nightly`), and without the toolchain variables `cargo
/// xtask` may have set, which would pin the stable toolchain's tools.
fn nightly(env: &Env) -> Command {
    let mut command = env.command("cargo");
    command.arg("+nightly");
    for variable in ["CARGO", "RUSTUP_TOOLCHAIN", "RUSTC", "RUSTDOC"] {
        command.env_remove(variable);
    }
    command
}

/// Installs cargo-fuzz unless `cargo +nightly fuzz` already answers.
fn ensure_cargo_fuzz(env: &Env) -> Result<(), String> {
    if env
        .output(nightly(env).args(["fuzz", "--version"]))
        .is_some()
    {
        return Ok(());
    }
    env.run(
        "cargo-fuzz (once)",
        nightly(env).args(["install", "cargo-fuzz", "--locked"]),
    )
}

/// The fuzz targets: one file each in `fuzz/fuzz_targets/`, named after the target.
fn targets(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join(FUZZ_DIR).join("fuzz_targets");
    let entries = std::fs::read_dir(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let mut targets: Vec<String> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .collect();
    targets.sort();
    if targets.is_empty() {
        return Err(format!("{}: no fuzz targets", dir.display()));
    }
    Ok(targets)
}

/// The files in `dir` (none if it does not exist yet).
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.is_file())
                .collect()
        })
        .unwrap_or_default()
}
