//! `cargo xtask e2e`, the last step of `cargo xtask test`: two browsers share a cart through a
//! real relay (demo-web/e2e/cart.test.mjs). Expects `wasm::build` to have run.

use std::path::Path;

use crate::Env;
use crate::wasm::NODE_DIR;

/// Debian's Chromium: a browser from the package manager, never one a tool downloads.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Installs Chromium if missing, builds the relay and runs the end-to-end script.
pub(crate) fn run(env: &Env) -> Result<(), String> {
    ensure_chromium(env)?;
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

/// `apt-get install chromium`, after `apt-get update` if the package lists are stale or absent
/// (as on a fresh machine); through sudo unless we are root.
fn ensure_chromium(env: &Env) -> Result<(), String> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    let root = env
        .output(env.command("id").arg("-u"))
        .is_some_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        let mut command = if root {
            env.command("apt-get")
        } else {
            // sudo resets the environment, so the variable goes on its command line.
            let mut sudo = env.command("sudo");
            sudo.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    let what = "Chromium from Debian (for the end-to-end test)";
    if env
        .run(what, &mut apt(&["install", "-y", "chromium"]))
        .is_ok()
    {
        return Ok(());
    }
    env.run("package lists", &mut apt(&["update"]))?;
    env.run(what, &mut apt(&["install", "-y", "chromium"]))
}
