//! The repository holds everything its own build, tests and benchmarks read: no tracked file may
//! refer to the folder that sits beside the project's checkout on the team's machines, because
//! a user's clone has no such folder (the editing traces are vendored in `benches/traces`).

use std::path::{Path, PathBuf};

use crate::Env;

/// What no tracked file may contain. Built from two halves so that this file does not itself
/// contain the reference it forbids.
fn forbidden() -> String {
    ["..", "/shared"].concat()
}

/// Fails naming every tracked file (and its first offending line) that refers to the forbidden
/// folder.
pub(crate) fn check(env: &Env) -> Result<(), String> {
    eprintln!(
        "xtask: no tracked file refers to {} (a clone has no such folder)",
        forbidden()
    );
    let needle = forbidden();
    let mut offenders = Vec::new();
    for path in tracked_files(env)? {
        // Binary files (the gzipped traces) are not text that could name a path.
        let Ok(text) = std::fs::read_to_string(env.root.join(&path)) else {
            continue;
        };
        if let Some((number, line)) = text
            .lines()
            .enumerate()
            .find(|(_, line)| line.contains(&needle))
        {
            offenders.push(format!(
                "{}:{}: {}",
                path.display(),
                number + 1,
                line.trim()
            ));
        }
    }
    if offenders.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "tracked files refer to {needle}, which a clone of the repository does not have:\n  {}",
            offenders.join("\n  ")
        ))
    }
}

/// The files git tracks, relative to the root.
fn tracked_files(env: &Env) -> Result<Vec<PathBuf>, String> {
    let output = env
        .command("git")
        .args(["ls-files", "-z"])
        .output()
        .map_err(|error| format!("could not run git ls-files: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "git ls-files failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output
        .stdout
        .split(|&byte| byte == 0)
        .filter(|name| !name.is_empty())
        .map(|name| Path::new(&*String::from_utf8_lossy(name)).to_path_buf())
        .collect())
}
