//! `cargo xtask fuzz [SECONDS]`: builds every cargo-fuzz target of `fuzz/` and runs each for a
//! bounded time, when a nightly toolchain is there
//! (libFuzzer's instrumentation needs it). The seed corpora and every crash reproducer are
//! replayed on stable by `cargo test` (crdt-fuzz-checks' `replay` test) whatever the toolchain.

use std::process::Command;

use crate::Env;

/// How long each target runs by default.
pub(crate) const SMOKE_SECONDS: u64 = 20;

/// Builds the targets and runs each for `seconds`; skipped, with a note, without nightly.
pub(crate) fn smoke(env: &Env, seconds: u64) -> Result<(), String> {
    if env.output(&mut nightly(env, &["--version"])).is_none() {
        eprintln!(
            "xtask: no nightly toolchain: the fuzz targets are skipped (their corpora and \
             regressions still replay on stable)"
        );
        return Ok(());
    }
    if env
        .output(&mut nightly(env, &["fuzz", "--version"]))
        .is_none()
    {
        env.run(
            "cargo-fuzz, for nightly",
            &mut nightly(env, &["install", "cargo-fuzz", "--locked"]),
        )?;
    }
    env.run(
        "fuzz targets build",
        &mut nightly(env, &["fuzz", "build", "--fuzz-dir", "fuzz"]),
    )?;
    let listing = env
        .output(&mut nightly(env, &["fuzz", "list", "--fuzz-dir", "fuzz"]))
        .ok_or("cargo fuzz list failed")?;
    let targets: Vec<&str> = listing.split_whitespace().collect();
    if targets.is_empty() {
        return Err("cargo fuzz list found no fuzz target".to_owned());
    }
    for target in targets {
        // libFuzzer adds what it finds to the first corpus directory: a scratch one, so the
        // committed seeds stay small.
        let scratch = env.target_dir().join("fuzz-corpus").join(target);
        std::fs::create_dir_all(&scratch)
            .map_err(|error| format!("{}: {error}", scratch.display()))?;
        let seeds = env.root.join("fuzz").join("corpus").join(target);
        let mut command = nightly(env, &["fuzz", "run", "--fuzz-dir", "fuzz", target]);
        command.arg(&scratch);
        if seeds.is_dir() {
            command.arg(&seeds);
        }
        command.args([
            "--".to_owned(),
            format!("-max_total_time={seconds}"),
            "-rss_limit_mb=2048".to_owned(),
            "-timeout=20".to_owned(),
            "-print_final_stats=1".to_owned(),
        ]);
        env.run(&format!("fuzz {target} for {seconds} s"), &mut command)
            .map_err(|error| {
                format!(
                    "{error}: the reproducer is under fuzz/artifacts/{target}/; see fuzz/README.md"
                )
            })?;
    }
    Ok(())
}

/// `cargo` of the nightly toolchain with `args`. Through `rustup run`, and without the
/// variables the stable `cargo xtask` set, which would point the nested cargo at stable.
fn nightly(env: &Env, args: &[&str]) -> Command {
    let mut command = env.command("rustup");
    command
        .args(["run", "nightly", "cargo"])
        .args(args)
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC");
    command
}
