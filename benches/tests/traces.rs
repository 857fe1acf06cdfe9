//! Every trace vendored in `benches/traces` replays exactly to its `endContent`, and a concurrent trace's
//! deltas converge in any order.

use std::path::PathBuf;

use benches::trace::{Trace, replay_concurrent, replay_sequential};
use crdt_core::{Codec, Lattice, Text};

fn traces() -> Vec<PathBuf> {
    let folder = benches::trace::folder();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.to_string_lossy().ends_with(".json.gz"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 4,
        "expected the vendored traces in {}",
        folder.display()
    );
    paths
}

#[test]
fn every_vendored_trace_replays_to_its_end_content() {
    for path in traces() {
        let trace = Trace::load(&path).expect("trace loads");
        let text = if trace.is_concurrent() {
            replay_concurrent(&trace).expect("replays").merged()
        } else {
            replay_sequential(&trace).expect("replays")
        };
        assert!(
            text.to_string() == trace.end_content,
            "{} does not replay to its endContent",
            path.display()
        );
        let decoded = Text::decode(&text.encode().expect("encodes")).expect("decodes");
        assert_eq!(decoded, text, "{} round-trips", path.display());
    }
}

#[test]
fn concurrent_trace_deltas_converge_in_reverse_and_every_replica_agrees() {
    for path in traces() {
        let trace = Trace::load(&path).expect("trace loads");
        if !trace.is_concurrent() {
            continue;
        }
        let replay = replay_concurrent(&trace).expect("replays");
        let merged = replay.merged();
        let mut backwards = Text::new();
        for delta in replay.deltas.iter().rev() {
            backwards.join(delta);
        }
        assert_eq!(backwards, merged);
        assert_eq!(backwards.to_string(), trace.end_content);
        for replica in &replay.replicas {
            assert_eq!(replica.clone().joined(&merged), merged);
        }
    }
}
