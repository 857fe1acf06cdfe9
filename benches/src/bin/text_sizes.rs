//! `text-sizes [TRACE.json.gz]`: replays a sequential editing trace (by default
//! `benches/traces/automerge-paper.json.gz`) into our `Text` and into `yrs`, `automerge`, `loro`
//! and `diamond-types` (driven as in `benches::text_crdts`), checks every result against the
//! trace's `endContent`, and prints two markdown tables: each library's encoded size of the
//! final document (history included), and how much the process's resident memory grew during
//! the replay.
//!
//! The memory of each library and mode is measured in a separate process
//! (`text-sizes memory LIBRARY MODE [TRACE]`, which prints the growth in bytes), so that
//! allocations of one replay cannot be reused by, or counted against, another. The growth is
//! the change in resident set size (`/proc/self/statm`, 4 KiB pages) from just before the
//! replay (trace already loaded) to just after it, with the document still alive: it includes
//! whatever the allocator kept of memory freed during the replay. The peak growth is the
//! process's peak resident set (`VmHWM`, reset through `/proc/self/clear_refs` just before the
//! replay) less the resident set before it.
//!
//! Ours and `diamond-types` have no transactions, so their batched replay is the per-edit one
//! (shown once); `yrs` is replayed per edit only, as one `yrs` transaction over a whole long
//! trace takes minutes (see `YRS_BATCHED` in the `text_traces` bench).

use std::hint::black_box;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use benches::text_crdts::{
    Automerge, DiamondTypes, Loro, TextCrdt, Yrs, bmp_only, replay_per_edit,
};
use benches::trace::{Trace, replay_sequential};
use crdt_core::Codec;
use loro::ExportMode;

/// The libraries, as named on the command line.
const LIBRARIES: [&str; 5] = ["ours", "diamond-types", "yrs", "automerge", "loro"];

/// The replay modes, as named on the command line (see `benches::text_crdts`).
const MODES: [&str; 2] = ["per-edit", "batched"];

/// The size of a page of `/proc/self/statm` (x86-64 and aarch64 Linux defaults).
const PAGE_SIZE: u64 = 4096;

/// The default trace.
fn default_trace() -> PathBuf {
    benches::trace::path("automerge-paper")
}

/// The resident set size of this process, in bytes.
fn resident_bytes() -> Result<u64, String> {
    let statm = std::fs::read_to_string("/proc/self/statm")
        .map_err(|error| format!("/proc/self/statm: {error}"))?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .ok_or_else(|| format!("/proc/self/statm: unexpected contents {statm:?}"))?;
    Ok(pages * PAGE_SIZE)
}

/// The peak resident set size of this process (`VmHWM`), in bytes.
fn peak_resident_bytes() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|error| format!("/proc/self/status: {error}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kilobytes| kilobytes.trim().parse::<u64>().ok())
        .map(|kilobytes| kilobytes * 1024)
        .ok_or_else(|| "/proc/self/status: no VmHWM".to_owned())
}

/// Resets the peak resident set size to the current one (`/proc/self/clear_refs`, Linux 4.0+).
fn reset_peak() -> Result<(), String> {
    std::fs::write("/proc/self/clear_refs", "5")
        .map_err(|error| format!("/proc/self/clear_refs: {error}"))
}

/// Checks that a replay gave the trace's `endContent`.
fn check(library: &str, mode: &str, text: &str, trace: &Trace) -> Result<(), String> {
    if text == trace.end_content {
        Ok(())
    } else {
        Err(format!(
            "{library} ({mode}) replayed to a different text than endContent"
        ))
    }
}

/// Replays `trace` into `library` in `mode`, checks the result, and returns the growth of the
/// resident set during the replay (the document still alive) and the growth of its peak.
fn memory(library: &str, mode: &str, trace: &Trace) -> Result<(u64, u64), String> {
    let batched = match mode {
        "per-edit" => false,
        "batched" => true,
        _ => return Err(format!("unknown mode {mode:?}")),
    };
    reset_peak()?;
    let before = resident_bytes()?;
    let (after, text) = match library {
        "ours" => {
            let text = replay_sequential(trace).map_err(|error| error.to_string())?;
            (resident_bytes()?, black_box(text).to_string())
        }
        "diamond-types" => {
            let mut doc = replay_per_edit::<DiamondTypes>(trace);
            (resident_bytes()?, black_box(&mut doc).text())
        }
        "yrs" => {
            // `Yrs::replay_batched` is left out: see `YRS_BATCHED` in the `text_traces` bench.
            let mut doc = replay_per_edit::<Yrs>(trace);
            (resident_bytes()?, black_box(&mut doc).text())
        }
        "automerge" => {
            let mut doc = if batched {
                Automerge::replay_batched(trace)
            } else {
                replay_per_edit::<Automerge>(trace)
            };
            (resident_bytes()?, black_box(&mut doc).text())
        }
        "loro" => {
            let mut doc = if batched {
                Loro::replay_batched(trace)
            } else {
                replay_per_edit::<Loro>(trace)
            };
            (resident_bytes()?, black_box(&mut doc).text())
        }
        _ => return Err(format!("unknown library {library:?}")),
    };
    // The kernel updates the peak lazily: it is at least the resident set seen after the replay.
    let peak = peak_resident_bytes()?.max(after);
    check(library, mode, &text, trace)?;
    Ok((after.saturating_sub(before), peak.saturating_sub(before)))
}

/// One row of the size table: a library's encoding, after the per-edit and the batched replay.
struct SizeRow {
    /// The library.
    library: &'static str,
    /// The encoding (API call).
    encoding: &'static str,
    /// The size after the per-edit replay, in bytes.
    per_edit: usize,
    /// The size after the batched replay, in bytes (the same replay for ours and
    /// `diamond-types`; not measured for `yrs`).
    batched: Option<usize>,
}

/// Replays `trace` into every library in both modes, checks each, and returns the sizes.
fn sizes(trace: &Trace) -> Result<Vec<SizeRow>, String> {
    let mut rows = Vec::new();
    let ours = replay_sequential(trace).map_err(|error| error.to_string())?;
    check("ours", "per-edit", &ours.to_string(), trace)?;
    let encoded = ours.encode().map_err(|error| error.to_string())?.len();
    rows.push(SizeRow {
        library: "ours",
        encoding: "`Codec::encode`",
        per_edit: encoded,
        batched: Some(encoded),
    });
    drop(ours);

    let mut dt = replay_per_edit::<DiamondTypes>(trace);
    check("diamond-types", "per-edit", &dt.text(), trace)?;
    let encoded = dt.encode_full().len();
    rows.push(SizeRow {
        library: "diamond-types",
        encoding: "`oplog.encode(ENCODE_FULL)`",
        per_edit: encoded,
        batched: Some(encoded),
    });
    drop(dt);

    // One `yrs` transaction over a whole long trace takes minutes (see `YRS_BATCHED` in the `text_traces` bench); a `yrs`
    // update holds no transaction boundaries, so its size is the per-edit one either way
    // (checked on automerge-paper: 223,414 bytes both ways).
    let mut per_edit = replay_per_edit::<Yrs>(trace);
    check("yrs", "per-edit", &per_edit.text(), trace)?;
    rows.push(SizeRow {
        library: "yrs",
        encoding: "`encode_state_as_update_v1`",
        per_edit: per_edit.encode_v1().len(),
        batched: None,
    });
    rows.push(SizeRow {
        library: "yrs",
        encoding: "`encode_state_as_update_v2`",
        per_edit: per_edit.encode_v2().len(),
        batched: None,
    });
    drop(per_edit);

    let mut per_edit = replay_per_edit::<Automerge>(trace);
    let mut batched = Automerge::replay_batched(trace);
    check("automerge", "per-edit", &per_edit.text(), trace)?;
    check("automerge", "batched", &batched.text(), trace)?;
    rows.push(SizeRow {
        library: "automerge",
        encoding: "`save()`",
        per_edit: per_edit.doc.save().len(),
        batched: Some(batched.doc.save().len()),
    });
    rows.push(SizeRow {
        library: "automerge",
        encoding: "`save_nocompress()`",
        per_edit: per_edit.doc.save_nocompress().len(),
        batched: Some(batched.doc.save_nocompress().len()),
    });
    drop((per_edit, batched));

    let mut per_edit = replay_per_edit::<Loro>(trace);
    let mut batched = Loro::replay_batched(trace);
    check("loro", "per-edit", &per_edit.text(), trace)?;
    check("loro", "batched", &batched.text(), trace)?;
    for (encoding, mode) in [
        ("`export(ExportMode::Snapshot)`", ExportMode::Snapshot),
        (
            "`export(ExportMode::all_updates())`",
            ExportMode::all_updates(),
        ),
    ] {
        let size = |doc: &Loro| {
            doc.doc
                .export(mode.clone())
                .map(|bytes| bytes.len())
                .map_err(|error| format!("loro export: {error}"))
        };
        rows.push(SizeRow {
            library: "loro",
            encoding,
            per_edit: size(&per_edit)?,
            batched: Some(size(&batched)?),
        });
    }
    Ok(rows)
}

/// Measures `library` in `mode` in a child process (`text-sizes memory ...`): the growth of the
/// resident set and of its peak, in bytes.
fn memory_in_child(
    library: &str,
    mode: &str,
    trace: &std::path::Path,
) -> Result<(u64, u64), String> {
    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    let output = Command::new(exe)
        .args(["memory", library, mode])
        .arg(trace)
        .output()
        .map_err(|error| error.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "memory {library} {mode}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<u64> = stdout
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|error| format!("memory {library} {mode}: {error}"))?;
    match numbers.as_slice() {
        [resident, peak] => Ok((*resident, *peak)),
        _ => Err(format!(
            "memory {library} {mode}: unexpected output {stdout:?}"
        )),
    }
}

/// Formats a byte count with thousands separators.
fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Bytes as MB (10^6 bytes), one decimal.
fn megabytes(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

/// Loads a trace, checking that `yrs`'s UTF-16 offsets equal its codepoint offsets.
fn load(path: &std::path::Path) -> Result<Trace, String> {
    let trace = Trace::load(path).map_err(|error| format!("{}: {error}", path.display()))?;
    if trace.is_concurrent() {
        return Err(format!("{}: not a sequential trace", path.display()));
    }
    if !bmp_only(&trace) {
        return Err(format!(
            "{}: characters outside the BMP (yrs would be addressed wrongly)",
            path.display()
        ));
    }
    Ok(trace)
}

/// The report: both tables.
fn report(path: &std::path::Path) -> Result<(), String> {
    let trace = load(path)?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    println!(
        "Trace {name}: {} transactions, final text {} codepoints.\n",
        thousands(trace.txns.len()),
        thousands(trace.end_content.chars().count())
    );
    println!("Encoded size of the final document (bytes):\n");
    println!("| library | encoding | per-edit replay | batched replay |");
    println!("|---|---|---:|---:|");
    for row in sizes(&trace)? {
        println!(
            "| {} | {} | {} | {} |",
            row.library,
            row.encoding,
            thousands(row.per_edit),
            row.batched.map_or_else(|| "—".to_owned(), thousands)
        );
    }
    drop(trace);
    println!(
        "\nResident memory growth during the replay, document alive at the end / at the peak \
         (MB, one process each):\n"
    );
    println!("| library | per-edit replay | per-edit peak | batched replay | batched peak |");
    println!("|---|---:|---:|---:|---:|");
    for library in LIBRARIES {
        let mut cells = Vec::new();
        for mode in MODES {
            let same = matches!(library, "ours" | "diamond-types") && mode == "batched";
            if same || (library == "yrs" && mode == "batched") {
                cells.extend(["—".to_owned(), "—".to_owned()]);
                continue;
            }
            let (resident, peak) = memory_in_child(library, mode, path)?;
            cells.extend([megabytes(resident), megabytes(peak)]);
        }
        println!("| {library} | {} |", cells.join(" | "));
    }
    Ok(())
}

/// Prints the usage.
fn usage() -> ExitCode {
    eprintln!("usage: text-sizes [TRACE.json.gz]");
    eprintln!(
        "       text-sizes memory {{{}}} {{{}}} [TRACE.json.gz]",
        LIBRARIES.join("|"),
        MODES.join("|")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => report(&default_trace()),
        [flag] if flag == "-h" || flag == "--help" => {
            usage();
            return ExitCode::SUCCESS;
        }
        [path] => report(&PathBuf::from(path)),
        [command, library, mode, rest @ ..] if command == "memory" && rest.len() <= 1 => {
            let path = rest.first().map_or_else(default_trace, PathBuf::from);
            load(&path)
                .and_then(|trace| memory(library, mode, &trace))
                .map(|(resident, peak)| println!("{resident} {peak}"))
        }
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("text-sizes: {error}");
            ExitCode::FAILURE
        }
    }
}
