//! Real editing traces (`benches/traces`) replayed into our `Text` and, side by side, into `yrs`
//! (Yjs), `automerge`, `loro` and `diamond-types` (see `benches::text_crdts` for how each is
//! driven and addressed in codepoints).
//!
//! - `text_local/<trace>`: local replay of a sequential trace (automerge-paper, seph-blog1,
//!   sveltecomponent) into a fresh document, one patch at a time (delete, then insert). Ours is
//!   `replay_sequential` (every edit also returns its delta). For `yrs`, `automerge` and `loro`
//!   two variants: `per edit` (every trace transaction is one library transaction / change /
//!   commit, as in a live editor) and `batched` (one transaction for the whole trace;
//!   `yrs batched` only on sveltecomponent, see [`YRS_BATCHED`]).
//!   `diamond-types`, like ours, has no transactions.
//! - `text_merge/friendsforever/txn-updates`: the concurrent trace (2 agents) first replayed
//!   with one replica per agent (untimed), then every transaction's update (26,078 of them)
//!   integrated into a fresh document. Ours: `join` of every delta, from memory (`ours
//!   (in-memory deltas)`) and decoded from bytes (`ours`); the others decode their encoded
//!   updates and apply them with their batch API (`yrs`: one transaction; `automerge`:
//!   `apply_changes_batch`; `loro`: `import_batch`; `diamond-types`: add every op to the log,
//!   then one branch merge).
//! - `text_merge/friendsforever/replica-states`: the same, from each replica's whole encoded
//!   state instead (ours: `Text::decode` and `join`; `yrs`: full v1 update; `automerge`:
//!   `save()`; `loro`: all updates; `diamond-types`: full oplog encoding).
//!
//! Before any timing, every replay and merge is run once and its text asserted equal to the
//! trace's `endContent`, so every library is measured doing the same, correct work. The
//! timed closures return the document, which is dropped outside the timing.

use std::hint::black_box;
use std::time::Duration;

use benches::text_crdts::{
    Automerge, DiamondTypes, Loro, TextCrdt, Yrs, bmp_only, merge_into_fresh,
    replay_concurrent_with, replay_per_edit,
};
use benches::trace::{self, Trace, replay_concurrent, replay_sequential};
use crdt_core::{Codec, Lattice, Text};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};

/// The sequential traces of the local-replay group.
const SEQUENTIAL: [&str; 3] = ["automerge-paper", "seph-blog1", "sveltecomponent"];

/// The traces on which `yrs batched` runs: one `yrs` transaction over a whole trace grows
/// superlinearly (on this machine, seph-blog1 takes about 90 s and automerge-paper about 175 s,
/// against 9 s and 7 s per edit), far beyond this bench's budget.
const YRS_BATCHED: [&str; 1] = ["sveltecomponent"];

/// The concurrent trace of the merge group.
const CONCURRENT: &str = "friendsforever";

/// Loads the vendored trace `name` (`benches/traces`).
fn load(name: &str) -> Trace {
    let path = trace::path(name);
    Trace::load(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Few samples and short windows: one replay takes 10 ms to seconds.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
}

/// Asserts that `library`'s replay of `trace` gave its `endContent`.
fn check(library: &str, trace_name: &str, text: &str, trace: &Trace) {
    assert!(
        text == trace.end_content,
        "{library} replayed {trace_name} to a different text ({} vs {} chars)",
        text.chars().count(),
        trace.end_content.chars().count()
    );
}

/// Benches the per-edit replay of a library, after checking it once.
fn bench_per_edit<T: TextCrdt>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    trace: &Trace,
) {
    check(T::NAME, name, &replay_per_edit::<T>(trace).text(), trace);
    group.bench_function(format!("{} per edit", T::NAME), |b| {
        b.iter_with_large_drop(|| replay_per_edit::<T>(black_box(trace)));
    });
}

/// Local replay of the sequential traces.
fn local(c: &mut Criterion) {
    for name in SEQUENTIAL {
        let trace = load(name);
        assert!(!trace.is_concurrent(), "{name} is sequential");
        assert!(bmp_only(&trace), "{name}: UTF-16 offsets equal codepoints");
        let mut group = c.benchmark_group(format!("text_local/{name}"));
        configure(&mut group);

        let ours = replay_sequential(&trace).expect("the trace replays");
        check("ours", name, &ours.to_string(), &trace);
        drop(ours);
        group.bench_function("ours", |b| {
            b.iter_with_large_drop(|| replay_sequential(black_box(&trace)).expect("replays"));
        });

        bench_per_edit::<DiamondTypes>(&mut group, name, &trace);

        bench_per_edit::<Yrs>(&mut group, name, &trace);
        if YRS_BATCHED.contains(&name) {
            check("yrs", name, &Yrs::replay_batched(&trace).text(), &trace);
            group.bench_function("yrs batched", |b| {
                b.iter_with_large_drop(|| Yrs::replay_batched(black_box(&trace)));
            });
        }

        bench_per_edit::<Automerge>(&mut group, name, &trace);
        check(
            "automerge",
            name,
            &Automerge::replay_batched(&trace).text(),
            &trace,
        );
        group.bench_function("automerge batched", |b| {
            b.iter_with_large_drop(|| Automerge::replay_batched(black_box(&trace)));
        });

        bench_per_edit::<Loro>(&mut group, name, &trace);
        check("loro", name, &Loro::replay_batched(&trace).text(), &trace);
        group.bench_function("loro batched", |b| {
            b.iter_with_large_drop(|| Loro::replay_batched(black_box(&trace)));
        });

        group.finish();
    }
}

/// The encoded updates of a concurrent replay into `T`, checked to merge into `endContent`.
struct Merges {
    /// Every transaction's update, in trace order.
    txn_updates: Vec<Vec<u8>>,
    /// Every replica's whole state.
    replica_states: Vec<Vec<u8>>,
}

/// Replays the concurrent trace into `T` (untimed) and checks both merges once.
fn prepare<T: TextCrdt>(trace: &Trace) -> Merges {
    let replay = replay_concurrent_with::<T>(trace);
    check(
        T::NAME,
        CONCURRENT,
        &merge_into_fresh::<T>(&replay.txn_updates).text(),
        trace,
    );
    check(
        T::NAME,
        CONCURRENT,
        &merge_into_fresh::<T>(&replay.replica_states).text(),
        trace,
    );
    Merges {
        txn_updates: replay.txn_updates,
        replica_states: replay.replica_states,
    }
}

/// Benches the merge into a fresh `T` of `updates` (transaction updates or replica states).
fn bench_merge<T: TextCrdt>(group: &mut BenchmarkGroup<'_, WallTime>, updates: &[Vec<u8>]) {
    group.bench_function(T::NAME, |b| {
        b.iter_with_large_drop(|| merge_into_fresh::<T>(black_box(updates)));
    });
}

/// Our merge: decode every encoded delta or state and join it into a fresh `Text`.
fn join_encoded(encoded: &[Vec<u8>]) -> Text {
    let mut text = Text::new();
    for bytes in encoded {
        text.join(&Text::decode(bytes).expect("our own encoding decodes"));
    }
    text
}

/// Our merge from memory: join every delta or state into a fresh `Text`.
fn join_all(parts: &[Text]) -> Text {
    let mut text = Text::new();
    for part in parts {
        text.join(part);
    }
    text
}

/// Merge of the concurrent trace's updates (or replica states) into a fresh document.
fn merge(c: &mut Criterion) {
    let trace = load(CONCURRENT);
    assert!(trace.is_concurrent(), "{CONCURRENT} is concurrent");
    assert!(
        bmp_only(&trace),
        "{CONCURRENT}: UTF-16 offsets equal codepoints"
    );
    let replay = replay_concurrent(&trace).expect("the trace replays");
    eprintln!(
        "{CONCURRENT}: {} transaction deltas, {} replicas",
        replay.deltas.len(),
        replay.replicas.len()
    );
    let encode = |parts: &[Text]| -> Vec<Vec<u8>> {
        parts
            .iter()
            .map(|part| part.encode().expect("our types encode"))
            .collect()
    };
    let our_deltas = encode(&replay.deltas);
    let our_states = encode(&replay.replicas);
    for (what, text) in [
        ("deltas", join_all(&replay.deltas)),
        ("encoded deltas", join_encoded(&our_deltas)),
        ("replicas", join_all(&replay.replicas)),
        ("encoded replicas", join_encoded(&our_states)),
    ] {
        check(
            &format!("ours ({what})"),
            CONCURRENT,
            &text.to_string(),
            &trace,
        );
    }

    let diamond_types = prepare::<DiamondTypes>(&trace);
    let yrs = prepare::<Yrs>(&trace);
    let automerge = prepare::<Automerge>(&trace);
    let loro = prepare::<Loro>(&trace);

    let mut group = c.benchmark_group(format!("text_merge/{CONCURRENT}/txn-updates"));
    configure(&mut group);
    group.bench_function("ours (in-memory deltas)", |b| {
        b.iter_with_large_drop(|| join_all(black_box(&replay.deltas)));
    });
    group.bench_function("ours", |b| {
        b.iter_with_large_drop(|| join_encoded(black_box(&our_deltas)));
    });
    bench_merge::<DiamondTypes>(&mut group, &diamond_types.txn_updates);
    bench_merge::<Yrs>(&mut group, &yrs.txn_updates);
    bench_merge::<Automerge>(&mut group, &automerge.txn_updates);
    bench_merge::<Loro>(&mut group, &loro.txn_updates);
    group.finish();

    let mut group = c.benchmark_group(format!("text_merge/{CONCURRENT}/replica-states"));
    configure(&mut group);
    group.bench_function("ours (in-memory states)", |b| {
        b.iter_with_large_drop(|| join_all(black_box(&replay.replicas)));
    });
    group.bench_function("ours", |b| {
        b.iter_with_large_drop(|| join_encoded(black_box(&our_states)));
    });
    bench_merge::<DiamondTypes>(&mut group, &diamond_types.replica_states);
    bench_merge::<Yrs>(&mut group, &yrs.replica_states);
    bench_merge::<Automerge>(&mut group, &automerge.replica_states);
    bench_merge::<Loro>(&mut group, &loro.replica_states);
    group.finish();
}

criterion_group!(benches, local, merge);
criterion_main!(benches);
