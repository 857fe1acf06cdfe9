//! The toolkit's fuzz properties, as plain functions of bytes.
//!
//! Each `pub fn NAME(data: &[u8])` builds structured input from `data` (through
//! [`arbitrary::Unstructured`]) and panics when a property fails. The same functions run in two
//! places, so a fuzzer and a test never disagree about what is checked:
//! - the cargo-fuzz package in `fuzz/` (nightly, libFuzzer) has one target per function,
//!   each a one-line call;
//! - `cargo test -p crdt-fuzz-checks` (stable) replays every seed in `fuzz/corpus/<target>/`
//!   and every crash reproducer in `fuzz/regressions/<target>/` through them, by [`TARGETS`].
//!
//! The targets, by family:
//! - merge laws, through the [`laws`] harness: [`counters()`], [`registers()`], [`aw_set()`],
//!   [`or_map()`], [`rga()`];
//! - decoders of untrusted bytes: [`decode_core()`] (crdt-core's `Codec::decode` of every type),
//!   [`decode_sync()`] (objects, frames, snapshots);
//! - the protocol: [`session()`] (one session fed arbitrary events) and [`session_pair()`]
//!   (two sessions over a lossy, duplicating, reordering link, then a clean one: they converge).
//!
//! `fuzz/README.md` says how to run them, how a crash becomes a regression test, and how the
//! seed corpora are made (`cargo run -p crdt-fuzz-checks --example seed_corpus`).

pub mod aw_set;
pub mod canonical;
pub mod counters;
pub mod decode_core;
pub mod decode_sync;
pub mod laws;
pub mod objects;
pub mod or_map;
pub mod registers;
pub mod rga;
pub mod session;
pub mod session_pair;

pub use aw_set::aw_set;
pub use counters::counters;
pub use decode_core::decode_core;
pub use decode_sync::decode_sync;
pub use or_map::or_map;
pub use registers::registers;
pub use rga::rga;
pub use session::session;
pub use session_pair::session_pair;

/// A fuzz property: panics if `data` makes it fail.
pub type Target = fn(&[u8]);

/// Every fuzz target by name: the name of its file in `fuzz/fuzz_targets/`, and of its
/// directories under `fuzz/corpus/` and `fuzz/regressions/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("counters", counters),
    ("registers", registers),
    ("aw_set", aw_set),
    ("or_map", or_map),
    ("rga", rga),
    ("decode_core", decode_core),
    ("decode_sync", decode_sync),
    ("session", session),
    ("session_pair", session_pair),
];

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, target)| *target)
}
