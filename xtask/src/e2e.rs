//! `cargo xtask e2e`, the last step of `cargo xtask test`: two browsers share a cart through a
//! real relay (demo-web/e2e/cart.test.mjs). Expects `wasm::build` to have run.

use std::path::Path;

use crate::wasm::NODE_DIR;
use crate::{Env, packages};

/// Debian's Chromium: a browser from the package manager, never one a tool downloads.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Installs Chromium if missing, builds the relay and runs the end-to-end script.
pub(crate) fn run(env: &Env) -> Result<(), String> {
    packages::ensure(
        env,
        "chromium",
        "Chromium from Debian (for the end-to-end test)",
        Path::new(CHROMIUM),
    )?;
    // Exactly the build of `cargo test --workspace`, which builds the relay for crdt-sync's
    // tests: after that step this only finds everything fresh. A narrower selection
    // (`-p crdt-sync`, or `build` without the dev-dependencies' features) would resolve other
    // features and rebuild crdt-sync and much of its tree.
    env.run(
        "the relay (the debug build the tests use)",
        env.cargo()
            .args(["test", "--workspace", "--no-run", "--quiet"]),
    )?;
    let target = env.target_dir();
    let relay = target.join("debug").join("crdt-relay");
    let out_dir = target.join("e2e");
    env.run(
        "end-to-end: two browsers share a cart through the relay",
        env.command("node")
            .arg(Path::new(NODE_DIR).join("cart.test.mjs"))
            .env("RELAY_BIN", &relay)
            .env("SITE_DIR", env.root.join("demo-web"))
            .env("OUT_DIR", &out_dir)
            .env("CHROMIUM", CHROMIUM),
    )
}
