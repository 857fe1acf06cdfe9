//! Debian packages the tests need (Chromium for the browser test, PostgreSQL for the shared
//! store's tests), installed when missing: `apt-get install` first, then, if that fails
//! because the package lists are stale or absent (as on a fresh machine), `apt-get update`
//! and again; through sudo unless we are root. Quick when everything is there.

use std::path::Path;

use crate::Env;

/// Where Debian's PostgreSQL server programs live (`/usr/lib/postgresql/<major>/bin`).
const POSTGRES_ROOT: &str = "/usr/lib/postgresql";

/// Installs `package` unless the file `present` shows it is there.
pub(crate) fn ensure(env: &Env, package: &str, what: &str, present: &Path) -> Result<(), String> {
    if present.exists() {
        return Ok(());
    }
    install(env, package, what)
}

fn install(env: &Env, package: &str, what: &str) -> Result<(), String> {
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
    if env.run(what, &mut apt(&["install", "-y", package])).is_ok() {
        return Ok(());
    }
    env.run("package lists", &mut apt(&["update"]))?;
    env.run(what, &mut apt(&["install", "-y", package]))
}

/// Installs Debian's PostgreSQL server unless some version of it is there. The tests start
/// their own throwaway clusters with its `initdb` and `pg_ctl`; the package's own cluster
/// is not used.
pub(crate) fn ensure_postgres(env: &Env) -> Result<(), String> {
    let installed = std::fs::read_dir(POSTGRES_ROOT).is_ok_and(|versions| {
        versions
            .flatten()
            .any(|version| version.path().join("bin").join("initdb").exists())
    });
    if installed {
        return Ok(());
    }
    install(
        env,
        "postgresql",
        "PostgreSQL from Debian (for the shared store's tests)",
    )
}
