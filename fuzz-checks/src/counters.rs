//! Merge laws of the counters: [`GCounter`], [`PNCounter`] and [`CausalCounter`] (the first
//! input byte picks one), through the [`laws`](crate::laws) harness.
//!
//! Besides the laws, each mutation must move the value the way it says: an increment of `n`
//! raises the replica's count by exactly `n` below the format's cap of 2^62, values move in the
//! direction of the change, a reset empties the counter.
//! Amounts are mostly tiny, sometimes any `u64`/`i64`, so counts near their caps are reached:
//! a count the type can hold must also encode to bytes that decode.

use arbitrary::{Arbitrary, Unstructured};
use crdt_core::{CausalCounter, GCounter, PNCounter};

use crate::laws::{FEW_EVENTS, Replica, Subject, byte, check_laws};

/// The fuzz target: a law script for one of the three counters.
pub fn counters(data: &[u8]) {
    let mut u = Unstructured::new(data);
    match byte(&mut u) % 3 {
        0 => check_laws::<GCounter>(&mut u),
        1 => check_laws::<PNCounter>(&mut u),
        _ => check_laws::<CausalCounter>(&mut u),
    }
}

/// An amount: one in sixteen is any `u64`, the rest below 6 (0 included: a no-op mutation
/// must still return a lawful delta).
fn amount(u: &mut Unstructured<'_>) -> u64 {
    match byte(u) {
        240.. => u64::arbitrary(u).unwrap_or_default(),
        small => u64::from(small % 6),
    }
}

/// An operation on a counter that goes both ways.
#[derive(Debug)]
pub enum CounterOp {
    /// Up by this much.
    Increment(u64),
    /// Down by this much.
    Decrement(u64),
}

/// An operation on a causal counter.
#[derive(Debug)]
pub enum CausalCounterOp {
    /// Add this (negative: subtract).
    Add(i64),
    /// Remove every add seen.
    Reset,
}

impl Subject for GCounter {
    type Op = u64;

    fn op(u: &mut Unstructured<'_>) -> u64 {
        amount(u)
    }

    fn apply(&mut self, replica: &mut Replica, by: &u64) -> Self {
        let before = self.count_of(&replica.id);
        let delta = self.increment(replica.id, *by);
        let after = self.count_of(&replica.id);
        let exact = before.saturating_add(*by);
        // Exact below the format's cap on counts; a capped count only stops growing.
        assert!(
            (before..=exact).contains(&after) && (exact > 1 << 62 || after == exact),
            "increment by {by} took the count from {before} to {after}"
        );
        delta
    }
}

impl Subject for PNCounter {
    type Op = CounterOp;

    fn op(u: &mut Unstructured<'_>) -> CounterOp {
        if byte(u).is_multiple_of(2) {
            CounterOp::Increment(amount(u))
        } else {
            CounterOp::Decrement(amount(u))
        }
    }

    fn apply(&mut self, replica: &mut Replica, op: &CounterOp) -> Self {
        let before = self.value();
        let delta = match *op {
            CounterOp::Increment(by) => self.increment(replica.id, by),
            CounterOp::Decrement(by) => self.decrement(replica.id, by),
        };
        // Counts saturate per replica, so only the direction is certain in general.
        let after = self.value();
        match *op {
            CounterOp::Increment(by) => assert!(after >= before && (by > 0 || after == before)),
            CounterOp::Decrement(by) => assert!(after <= before && (by > 0 || after == before)),
        }
        delta
    }
}

impl Subject for CausalCounter {
    type Op = CausalCounterOp;

    fn op(u: &mut Unstructured<'_>) -> CausalCounterOp {
        match byte(u) {
            0..=39 => CausalCounterOp::Reset,
            240.. => CausalCounterOp::Add(i64::arbitrary(u).unwrap_or_default()),
            small => CausalCounterOp::Add(i64::from(small % 7) - 3),
        }
    }

    fn apply(&mut self, replica: &mut Replica, op: &CausalCounterOp) -> Self {
        let before = self.value();
        let delta = match *op {
            CausalCounterOp::Add(amount) => self.add(replica.id, amount).expect(FEW_EVENTS),
            CausalCounterOp::Reset => self.reset(),
        };
        // The value is a saturating sum in dot order: not additive near the bounds, but
        // monotone in every add.
        let after = self.value();
        match *op {
            CausalCounterOp::Add(amount) => assert!(
                after.cmp(&before) == amount.cmp(&0) || (after == before && amount != 0),
                "add {amount} took the value from {before} to {after}"
            ),
            CausalCounterOp::Reset => assert!(self.is_empty() && after == 0),
        }
        delta
    }
}
