//! `cargo xtask wasm`: the browser package of `crdt-wasm` in `demo-web/pkg`, with every tool
//! it needs installed first (each only when missing or of the wrong version).

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use crate::Env;

const TARGET: &str = "wasm32-unknown-unknown";

/// The node packages (playwright-core for the end-to-end test, binaryen for wasm-opt).
pub(crate) const NODE_DIR: &str = "demo-web/e2e";

/// What wasm-bindgen writes: the page imports `pkg/crdt_wasm.js`.
const OUT_DIR: &str = "demo-web/pkg";

/// Features the wasm uses and wasm-opt must be told of: Rust's wasm32 target enables LLVM's
/// "generic" CPU (bulk memory, sign extension, non-trapping float-to-int, mutable globals,
/// reference types, multi-value). wasm-opt otherwise refuses to validate the module, and only
/// features the engine already had to support for the unoptimised module are enabled, so the
/// optimised one loads wherever that one did.
const WASM_OPT_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-call-indirect-overlong",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Smallest size, but no inlining of functions into their only caller (which -Oz does at any
/// size): that saves 3% of the raw bytes but costs 11% more gzipped, and servers compress.
/// Names and the producers section are dropped whatever the input kept.
const WASM_OPT_FLAGS: &[&str] = &[
    "-Oz",
    "--one-caller-inline-max-function-size",
    "0",
    "--strip-debug",
    "--strip-producers",
];

/// Size budget of the optimised module, in bytes (raw, gzipped): beyond it, a warning.
const BUDGET: (u64, u64) = (300 * 1024, 120 * 1024);

/// Builds `demo-web/pkg`: target, wasm-bindgen CLI and node packages first, then the crate,
/// its bindings and wasm-opt; prints the module's size.
pub(crate) fn build(env: &Env) -> Result<(), String> {
    ensure_target(env)?;
    let version = ensure_wasm_bindgen(env)?;
    ensure_node_modules(env)?;
    env.run(
        "crdt-wasm for the browser",
        env.cargo().args([
            "build",
            "--package",
            "crdt-wasm",
            "--target",
            TARGET,
            "--profile",
            "wasm-release",
        ]),
    )?;
    let input = env
        .target_dir()
        .join(TARGET)
        .join("wasm-release")
        .join("crdt_wasm.wasm");
    let out_dir = env.root.join(OUT_DIR);
    let wasm = out_dir.join("crdt_wasm_bg.wasm");
    let stamp = out_dir.join(".xtask-stamp");
    let made_from = provenance(env, &input, &version)?;
    // wasm-opt takes a quarter of a minute: skip both steps when cargo left the module as it was.
    let previous = std::fs::read_to_string(&stamp).unwrap_or_default();
    let up_to_date = previous.split_once('\n').is_some_and(|(from, size)| {
        from == made_from
            && out_dir.join("crdt_wasm.js").exists()
            && std::fs::metadata(&wasm).is_ok_and(|metadata| size == metadata.len().to_string())
    });
    if up_to_date {
        eprintln!("xtask: {OUT_DIR} is up to date");
        return report_size(&wasm);
    }
    let _ = std::fs::remove_file(&stamp);
    env.run(
        "JS bindings",
        env.command(env.cargo_bin.join("wasm-bindgen"))
            .args(["--target", "web", "--out-dir", OUT_DIR])
            .arg(&input),
    )?;
    env.run(
        "wasm-opt (binaryen from npm; Debian's breaks wasm-bindgen's output)",
        env.command(env.root.join(NODE_DIR).join("node_modules/.bin/wasm-opt"))
            .args(WASM_OPT_FLAGS)
            .args(WASM_OPT_FEATURES)
            .arg(&wasm)
            .arg("-o")
            .arg(&wasm),
    )?;
    let size = std::fs::metadata(&wasm).map_or(0, |metadata| metadata.len());
    std::fs::write(&stamp, format!("{made_from}\n{size}"))
        .map_err(|error| format!("cannot write {}: {error}", stamp.display()))?;
    report_size(&wasm)
}

/// What the package is made from, in one line: the module cargo built (size and time) and how
/// it is processed, so that any change in either redoes the package.
fn provenance(env: &Env, input: &Path, wasm_bindgen: &str) -> Result<String, String> {
    let metadata = std::fs::metadata(input)
        .map_err(|error| format!("cannot read {}: {error}", input.display()))?;
    let modified = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_nanos());
    let binaryen = env
        .root
        .join(NODE_DIR)
        .join("node_modules/binaryen/package.json");
    let binaryen = std::fs::read_to_string(binaryen).unwrap_or_default();
    let binaryen = binaryen
        .lines()
        .find(|line| line.trim_start().starts_with("\"version\""))
        .unwrap_or_default()
        .trim();
    Ok(format!(
        "{} bytes, modified {modified}; wasm-bindgen {wasm_bindgen}; binaryen {binaryen}; wasm-opt {} {}",
        metadata.len(),
        WASM_OPT_FLAGS.join(" "),
        WASM_OPT_FEATURES.join(" ")
    ))
}

/// `rustup target add` goes to the network even when the target is there, so ask first.
fn ensure_target(env: &Env) -> Result<(), String> {
    let installed = env.output(
        env.command("rustup")
            .args(["target", "list", "--installed"]),
    );
    match installed {
        Some(list) if list.lines().any(|line| line.trim() == TARGET) => Ok(()),
        Some(_) => env.run(
            "the wasm32 target",
            env.command("rustup").args(["target", "add", TARGET]),
        ),
        None => {
            // A toolchain without rustup: the build below says clearly if the target is missing.
            eprintln!("xtask: rustup not found; assuming the {TARGET} target is installed");
            Ok(())
        }
    }
}

/// wasm-bindgen's CLI must be exactly the version of the `wasm-bindgen` crate the module was
/// built with (it refuses otherwise); Cargo.lock says which. The same install provides
/// `wasm-bindgen-test-runner`, the runner `cargo test --target wasm32-unknown-unknown` uses.
fn ensure_wasm_bindgen(env: &Env) -> Result<String, String> {
    let version = locked_version(&env.root.join("Cargo.lock"), "wasm-bindgen")?;
    let installed = |tool: &str| {
        env.output(env.command(env.cargo_bin.join(tool)).arg("--version"))
            .is_some_and(|line| line.split_whitespace().nth(1) == Some(version.as_str()))
    };
    if installed("wasm-bindgen") && installed("wasm-bindgen-test-runner") {
        return Ok(version);
    }
    // No --locked: the CLI's own lock file does not build with this toolchain.
    env.run(
        &format!("wasm-bindgen-cli {version}, as Cargo.lock pins wasm-bindgen (takes minutes)"),
        env.cargo()
            .args(["install", "wasm-bindgen-cli", "--version", &version]),
    )?;
    if installed("wasm-bindgen") {
        Ok(version)
    } else {
        Err(format!(
            "wasm-bindgen {version} is still not in {} after installing it",
            env.cargo_bin.display()
        ))
    }
}

/// The version of `package` in a Cargo.lock; it must be there exactly once.
fn locked_version(lock_file: &Path, package: &str) -> Result<String, String> {
    let lock = std::fs::read_to_string(lock_file)
        .map_err(|error| format!("cannot read {}: {error}", lock_file.display()))?;
    let name_line = format!("name = \"{package}\"");
    let mut versions = Vec::new();
    for entry in lock.split("[[package]]") {
        let mut lines = entry.lines().map(str::trim);
        if lines.clone().any(|line| line == name_line) {
            let version = lines.find_map(|line| line.strip_prefix("version = "));
            if let Some(version) = version {
                versions.push(version.trim_matches('"').to_owned());
            }
        }
    }
    match versions.as_slice() {
        [version] => Ok(version.clone()),
        [] => Err(format!(
            "{} has no {package} package: is crdt-wasm a workspace member?",
            lock_file.display()
        )),
        _ => Err(format!(
            "{} has several versions of {package} ({}); the CLI can match only one",
            lock_file.display(),
            versions.join(", ")
        )),
    }
}

/// `npm ci` when node_modules is missing or older than the package files: it deletes and
/// reinstalls everything, so it is skipped when nothing changed.
fn ensure_node_modules(env: &Env) -> Result<(), String> {
    let dir = env.root.join(NODE_DIR);
    let modified = |file: &str| {
        std::fs::metadata(dir.join(file))
            .and_then(|metadata| metadata.modified())
            .ok()
    };
    // npm writes this hidden lock file last, after a complete install.
    let installed = modified("node_modules/.package-lock.json");
    let wanted = [modified("package-lock.json"), modified("package.json")]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let complete = dir.join("node_modules/.bin/wasm-opt").exists()
        && dir.join("node_modules/playwright-core").exists();
    if complete && installed.is_some_and(|installed| installed >= wanted) {
        return Ok(());
    }
    env.run(
        &format!("node packages of {NODE_DIR} (wasm-opt, playwright-core)"),
        env.command("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
    )
}

fn report_size(wasm: &Path) -> Result<(), String> {
    let bytes =
        std::fs::read(wasm).map_err(|error| format!("cannot read {}: {error}", wasm.display()))?;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let gzipped = gzip
        .write_all(&bytes)
        .and_then(|()| gzip.finish())
        .map_err(|error| format!("cannot gzip {}: {error}", wasm.display()))?;
    let (raw, zipped) = (bytes.len() as u64, gzipped.len() as u64);
    eprintln!(
        "xtask: {OUT_DIR}/crdt_wasm_bg.wasm is {raw} bytes ({:.1} KiB), {zipped} bytes gzipped ({:.1} KiB)",
        raw as f64 / 1024.0,
        zipped as f64 / 1024.0
    );
    if raw > BUDGET.0 || zipped > BUDGET.1 {
        eprintln!(
            "xtask: warning: over the budget of {} KiB raw, {} KiB gzipped",
            BUDGET.0 / 1024,
            BUDGET.1 / 1024
        );
    }
    Ok(())
}
