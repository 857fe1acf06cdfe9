//! The fuzz targets on stable: every seed in `fuzz/corpus/<target>/` and every crash
//! reproducer in `fuzz/regressions/<target>/` runs through its target's function (by
//! `crdt_fuzz_checks::TARGETS`, the same table the fuzz targets call), and a few hundred
//! pseudo-random inputs run through each target, so that a property broken by a change shows up
//! in `cargo test` without a fuzzer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use crdt_fuzz_checks::{TARGETS, target};

/// `fuzz/`, next to this crate.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Runs every file under `fuzz/<kind>/<target>/` through its target; returns how many files
/// each target ran. A directory that names no target, or a stray file, fails the test: a
/// reproducer that silently stopped running would be worse than none.
fn replay(kind: &str) -> Vec<(String, usize)> {
    let root = fuzz_dir().join(kind);
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(&root) {
        Ok(entries) => entries
            .map(|entry| entry.expect("a readable directory entry").path())
            .filter(|path| !is_hidden(path))
            .collect(),
        Err(error) => panic!("{}: {error}", root.display()),
    };
    dirs.sort();
    let mut failures = Vec::new();
    let mut counts = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default()
            .to_owned();
        assert!(
            dir.is_dir(),
            "{}: only one directory per target belongs here",
            dir.display()
        );
        let run = target(&name).unwrap_or_else(|| {
            let known: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
            panic!(
                "{}: no fuzz target is named {name:?} (known: {known:?})",
                dir.display()
            )
        });
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
            .map(|entry| entry.expect("a readable directory entry").path())
            .filter(|path| !is_hidden(path))
            .collect();
        files.sort();
        for file in &files {
            let data =
                std::fs::read(file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
            if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
                failures.push(file.display().to_string());
            }
        }
        counts.push((name, files.len()));
    }
    assert!(
        failures.is_empty(),
        "{} input(s) fail their target (the panics are printed above):\n{}",
        failures.len(),
        failures.join("\n")
    );
    counts
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with('.'))
}

#[test]
fn every_target_has_seeds_and_they_pass() {
    let counts = replay("corpus");
    for (name, _) in TARGETS {
        assert!(
            counts.iter().any(|(dir, files)| dir == name && *files > 0),
            "fuzz/corpus/{name}/ has no seeds (run `cargo run -p crdt-fuzz-checks --example seed_corpus`)"
        );
    }
}

#[test]
fn crash_reproducers_pass() {
    let dir = fuzz_dir().join("regressions");
    if dir.exists() {
        replay("regressions");
    }
}

/// A few hundred inputs per target from a fixed generator: not a fuzzer, but every property
/// runs on every `cargo test`, on inputs no seed was written for.
#[test]
fn pseudo_random_inputs_pass() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, run) in TARGETS {
        for round in 0..200 {
            let len = (next() % 512) as usize;
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
                panic!("{name} fails on pseudo-random input {round}: {data:02x?}");
            }
        }
    }
}
