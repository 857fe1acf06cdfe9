//! `text-ratios [--runs N]`: our `Text` against diamond-types 1.0 on every sequential trace
//! the repository holds (`benches/traces`), in one run, as ratios (ours / diamond-types):
//!
//! - **replay**: a fresh document, one patch at a time (delete, then insert). Ours through
//!   `Text::delete` and `Text::insert`, each returning its delta (dropped); diamond-types
//!   through `ListCRDT::apply_local_operations`, as its own `apply_local` benchmark drives it.
//!   The two alternate, and the median of `--runs` (default 15) is reported.
//! - **encoded**: the final document with its full history, `Codec::encode` against
//!   `OpLog::encode(ENCODE_FULL)` (which compresses the inserted text with LZ4, diamond-types'
//!   default `lz4` feature); for context, diamond-types' size with `compress_content: false`
//!   is also printed.
//! - **heap**: the bytes allocated and not freed by the replay, with the document still
//!   alive, counted by a counting global allocator (`cap`) around the system one.
//!
//! Every replay is checked against the trace's `endContent` before anything is measured.
//! Not a test: run it with `cargo run --release -p benches --bin text-ratios`.

use std::alloc::System;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use benches::text_crdts::{DiamondTypes, TextCrdt, replay_per_edit};
use benches::trace::{self, Trace, replay_sequential};
use cap::Cap;
use crdt_core::Codec;
use diamond_types::list::encoding::{ENCODE_FULL, EncodeOptions};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// The sequential traces, every one the repository holds.
const TRACES: [&str; 3] = ["automerge-paper", "seph-blog1", "sveltecomponent"];

/// What one library gave on one trace.
struct Measured {
    replay: Duration,
    encoded: usize,
    heap: usize,
}

/// diamond-types' `ENCODE_FULL` without its LZ4 compression of the text.
fn encode_full_uncompressed(doc: &DiamondTypes) -> usize {
    let options = EncodeOptions {
        compress_content: false,
        ..ENCODE_FULL
    };
    doc.doc.oplog.encode(options).len()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Bytes held by what `make` returns (counted while it is alive).
fn heap_of<T>(make: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATOR.allocated();
    let value = make();
    let held = ALLOCATOR.allocated().saturating_sub(before);
    (value, held)
}

fn measure(trace: &Trace, runs: usize) -> Result<(Measured, Measured, usize), String> {
    let (ours, ours_heap) = heap_of(|| replay_sequential(trace));
    let ours = ours.map_err(|error| format!("ours: {error}"))?;
    if ours.to_string() != trace.end_content {
        return Err("ours replayed to a different text".into());
    }
    let ours_encoded = ours.encode().map_err(|error| error.to_string())?.len();
    drop(ours);
    let (mut theirs, theirs_heap) = heap_of(|| replay_per_edit::<DiamondTypes>(trace));
    if theirs.text() != trace.end_content {
        return Err("diamond-types replayed to a different text".into());
    }
    let theirs_encoded = theirs.encode_full().len();
    let theirs_uncompressed = encode_full_uncompressed(&theirs);
    drop(theirs);
    let (mut ours_times, mut theirs_times) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = Instant::now();
        let text = replay_sequential(black_box(trace)).map_err(|error| error.to_string())?;
        ours_times.push(started.elapsed());
        drop(black_box(text));
        let started = Instant::now();
        let doc = replay_per_edit::<DiamondTypes>(black_box(trace));
        theirs_times.push(started.elapsed());
        drop(black_box(doc));
    }
    Ok((
        Measured {
            replay: median(ours_times),
            encoded: ours_encoded,
            heap: ours_heap,
        },
        Measured {
            replay: median(theirs_times),
            encoded: theirs_encoded,
            heap: theirs_heap,
        },
        theirs_uncompressed,
    ))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() -> ExitCode {
    let mut runs = 15;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().and_then(|n| n.parse().ok())) {
            ("--runs", Some(n)) if n > 0 => runs = n,
            _ => {
                eprintln!("usage: text-ratios [--runs N]");
                return ExitCode::from(2);
            }
        }
    }
    println!(
        "## Text against diamond-types 1.0 (ours / diamond-types; median of {runs} replays)\n"
    );
    println!(
        "| trace | replay ms | replay ratio | encoded B | encoded ratio | heap MiB | heap ratio | diamond-types encoded without LZ4 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for name in TRACES {
        let path = trace::path(name);
        let trace = match Trace::load(&path) {
            Ok(trace) => trace,
            Err(error) => {
                eprintln!("{}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        };
        match measure(&trace, runs) {
            Ok((ours, theirs, uncompressed)) => println!(
                "| {name} | {:.1} / {:.1} | {:.2}× | {} / {} | {:.2}× | {:.2} / {:.2} | {:.2}× | {uncompressed} |",
                ms(ours.replay),
                ms(theirs.replay),
                ours.replay.as_secs_f64() / theirs.replay.as_secs_f64(),
                ours.encoded,
                theirs.encoded,
                ours.encoded as f64 / theirs.encoded as f64,
                mib(ours.heap),
                mib(theirs.heap),
                ours.heap as f64 / theirs.heap as f64,
            ),
            Err(error) => {
                eprintln!("{name}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
