//! `trace-replay FILE.json.gz [--out FILE]`: replays an editing trace into `Text` replicas,
//! checks the result against the trace's `endContent`, optionally writes the final text, and
//! prints the number of patches, the wall time of the replay and the encoded size.
//!
//! Sequential traces replay edit by edit on one replica; concurrent ones with one replica per
//! agent, merged at the end (see `benches::trace`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use benches::trace::{Trace, replay_concurrent, replay_sequential};
use crdt_core::{Codec, Text};

fn usage() -> ExitCode {
    eprintln!("usage: trace-replay FILE.json[.gz] [--out FILE]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut input: Option<PathBuf> = None;
    let mut output: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => match args.next() {
                Some(path) => output = Some(path.into()),
                None => return usage(),
            },
            "-h" | "--help" => {
                usage();
                return ExitCode::SUCCESS;
            }
            _ if input.is_none() => input = Some(arg.into()),
            _ => return usage(),
        }
    }
    let Some(input) = input else {
        return usage();
    };
    let trace = match Trace::load(&input) {
        Ok(trace) => trace,
        Err(error) => {
            eprintln!("{}: {error}", input.display());
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let replayed: Result<Text, _> = if trace.is_concurrent() {
        replay_concurrent(&trace).map(|replay| replay.merged())
    } else {
        replay_sequential(&trace)
    };
    let elapsed = started.elapsed();
    let text = match replayed {
        Ok(text) => text,
        Err(error) => {
            eprintln!("{}: {error}", input.display());
            return ExitCode::FAILURE;
        }
    };
    let content = text.to_string();
    let encoded = match text.encode() {
        Ok(bytes) => bytes.len(),
        Err(error) => {
            eprintln!("encoding failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &output
        && let Err(error) = std::fs::write(path, &content)
    {
        eprintln!("{}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    let matches = content == trace.end_content;
    println!("trace:        {}", input.display());
    println!(
        "kind:         {}",
        if trace.is_concurrent() {
            "concurrent"
        } else {
            "sequential"
        }
    );
    println!("transactions: {}", trace.txns.len());
    println!("patches:      {}", trace.patch_count());
    println!("replay time:  {:.1} ms", elapsed.as_secs_f64() * 1e3);
    println!("final length: {} codepoints", text.len());
    println!("spans stored: {}", text.as_rga().span_count());
    println!("encoded size: {encoded} bytes");
    println!(
        "endContent:   {}",
        if matches { "matches" } else { "DIFFERS" }
    );
    if matches {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
