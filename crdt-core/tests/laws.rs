//! The lattice laws, checked by one generic harness (tests/support) on every type: join is
//! commutative, associative and idempotent; deltas take old states to new ones; deltas join
//! with deltas in any grouping; any delivery order with duplicates converges; `delta_since`
//! repairs; encodings round-trip and are canonical.

mod support;

use crdt_core::{AWSet, CausalCounter, GCounter, LwwRegister, MvRegister, ORMap, PNCounter};
use support::check_laws;

const TESTS: u64 = 300;

#[test]
fn gcounter_laws() {
    check_laws::<GCounter>(TESTS);
}

#[test]
fn pncounter_laws() {
    check_laws::<PNCounter>(TESTS);
}

#[test]
fn causal_counter_laws() {
    check_laws::<CausalCounter>(TESTS);
}

#[test]
fn or_map_of_causal_counters_laws() {
    check_laws::<ORMap<u8, CausalCounter>>(TESTS);
}

#[test]
fn lww_register_laws() {
    check_laws::<LwwRegister<u8>>(TESTS);
}

#[test]
fn mv_register_laws() {
    check_laws::<MvRegister<u8>>(TESTS);
}

#[test]
fn aw_set_laws() {
    check_laws::<AWSet<u8>>(TESTS);
}

#[test]
fn or_map_of_registers_laws() {
    check_laws::<ORMap<u8, MvRegister<u8>>>(TESTS);
}

#[test]
fn or_map_of_sets_laws() {
    check_laws::<ORMap<u8, AWSet<u8>>>(TESTS);
}

#[test]
fn nested_or_map_laws() {
    check_laws::<ORMap<u8, ORMap<u8, MvRegister<u8>>>>(TESTS);
}

#[test]
fn rga_laws() {
    check_laws::<crdt_core::Rga<u8>>(TESTS);
}
