//! Shared helpers of the benchmarks: element names, replica ids, and the same workloads built
//! with both this toolkit (`crdt_core`) and the `crdts` crate, so that the benches and the
//! `sizes` binary compare like with like.
//!
//! Replica ids: ours are UUIDs ([`ReplicaId`]); `crdts` actors are the same 16 bytes as a
//! `[u8; 16]` ([`Actor`]), so both sides compare and encode identical ids.

pub mod sync;
pub mod text_crdts;
pub mod trace;

use crdt_core::{AWSet, ReplicaId};
use crdts::orswot::Op as OrswotOp;
use crdts::{CmRDT, Orswot};

/// Why a mutation in a benchmark cannot be refused: its replicas make a few million events at
/// most, far from the end of their counters (2^62).
pub const COUNTERS_LEFT: &str = "a benchmark's replicas are far from the end of their counters";

/// The `crdts` actor type used throughout: the 16 bytes of the matching [`ReplicaId`].
pub type Actor = [u8; 16];

/// The `crdts` set used throughout: string elements, 16-byte actors.
pub type TheirSet = Orswot<String, Actor>;

/// A well-mixed 64-bit value from `x` (SplitMix64's finalizer): a tiny deterministic PRNG, so
/// the benches need no random-number dependency and every run uses the same inputs.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Replica number `n` as a random-looking (but fixed) UUID.
pub fn replica(n: u64) -> ReplicaId {
    let high = u128::from(mix(2 * n));
    let low = u128::from(mix(2 * n + 1));
    ReplicaId::from_u128((high << 64) | low)
}

/// Replica number `n` as a `crdts` actor: the same 16 bytes as [`replica`]`(n)`.
pub fn actor(n: u64) -> Actor {
    *replica(n).as_bytes()
}

/// The `i`-th element of the benchmark sets: a short string such as `item-0000042`.
pub fn item(i: u64) -> String {
    format!("item-{i:07}")
}

/// A fresh element sorting right after `item(position)`, made unique by `tag`: new elements
/// land at scattered positions of a big set rather than all at its end.
pub fn item_between(position: u64, tag: u64) -> String {
    format!("item-{position:07}-{tag:x}")
}

/// Our set holding `items`, each added by `replica` in order.
pub fn our_set(replica: ReplicaId, items: impl IntoIterator<Item = String>) -> AWSet<String> {
    let mut set = AWSet::new();
    for element in items {
        let _delta = set.add(replica, element).expect(COUNTERS_LEFT);
    }
    set
}

/// Adds `element` to a `crdts` set as a new event of `actor`; returns the operation applied.
pub fn their_add(set: &mut TheirSet, actor: Actor, element: String) -> OrswotOp<String, Actor> {
    let op = set.add(element, set.read_ctx().derive_add_ctx(actor));
    set.apply(op.clone());
    op
}

/// Removes `element` from a `crdts` set as observed there; returns the operation applied.
pub fn their_remove(set: &mut TheirSet, element: &str) -> OrswotOp<String, Actor> {
    let context = set.contains(&element.to_owned()).derive_rm_ctx();
    let op = set.rm(element.to_owned(), context);
    set.apply(op.clone());
    op
}

/// The `crdts` set holding `items`, each added by `actor` in order.
pub fn their_set(actor: Actor, items: impl IntoIterator<Item = String>) -> TheirSet {
    let mut set = TheirSet::new();
    for element in items {
        let _op = their_add(&mut set, actor, element);
    }
    set
}

/// Workload 2 in our types: two replicas of a 100,000-element set that differ by 1%.
///
/// Replica 0 adds `shared` elements; both sides start from that state; then replica 0 adds
/// `extra` more elements on its side and replica 1 adds `extra` others on its side. So each
/// side holds `shared + extra` elements and their join holds `shared + 2 * extra`.
pub fn our_diverged_pair(shared: u64, extra: u64) -> (AWSet<String>, AWSet<String>) {
    let (a, b) = (replica(0), replica(1));
    let mut left = our_set(a, (0..shared).map(item));
    let mut right = left.clone();
    for i in 0..extra {
        let _delta = left.add(a, item(shared + i)).expect(COUNTERS_LEFT);
        let _delta = right.add(b, item(shared + extra + i)).expect(COUNTERS_LEFT);
    }
    (left, right)
}

/// Workload 2 in `crdts` types: the same two replicas as [`our_diverged_pair`].
pub fn their_diverged_pair(shared: u64, extra: u64) -> (TheirSet, TheirSet) {
    let (a, b) = (actor(0), actor(1));
    let mut left = their_set(a, (0..shared).map(item));
    let mut right = left.clone();
    for i in 0..extra {
        let _op = their_add(&mut left, a, item(shared + i));
        let _op = their_add(&mut right, b, item(shared + extra + i));
    }
    (left, right)
}

/// The cargo target directory this benchmark binary was built in (`target/`, or whatever
/// `CARGO_TARGET_DIR` named), where throwaway servers get their directories
/// (`target/tmp`).
pub fn target_dir() -> std::io::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    exe.parent()
        .and_then(std::path::Path::parent)
        .map(std::path::Path::to_path_buf)
        .ok_or_else(|| std::io::Error::other(format!("{} has no target directory", exe.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_core::Lattice;
    use crdts::CvRDT;

    #[test]
    fn ids_match_across_crates() {
        assert_eq!(replica(3).as_bytes(), &actor(3));
        assert_ne!(actor(0), actor(1));
    }

    #[test]
    fn diverged_pairs_join_to_the_same_elements() {
        let (mut ours, right) = our_diverged_pair(990, 5);
        ours.join(&right);
        let (mut theirs, right) = their_diverged_pair(990, 5);
        theirs.merge(right);
        let mut their_elements: Vec<String> = theirs.read().val.into_iter().collect();
        their_elements.sort();
        let mut our_elements: Vec<String> = ours.iter().cloned().collect();
        our_elements.sort();
        assert_eq!(our_elements.len(), 1000);
        assert_eq!(our_elements, their_elements);
    }
}
