//! Merge laws of the registers: [`LwwRegister`] and [`MvRegister`] (the first input byte picks
//! one), through the [`laws`](crate::laws) harness.
//!
//! LWW writes carry physical times from the input: mostly a few equal milliseconds (so that
//! ties between replicas are decided by the replica id), sometimes any `u64`, and never
//! monotonic. Whatever the clocks say, a write must win over the value its writer saw: right
//! after `set`, the register holds the value written. An MV write must leave exactly the value
//! written; a clear, nothing.

use arbitrary::{Arbitrary, Unstructured};
use crdt_core::{LwwRegister, MvRegister};

use crate::laws::{FEW_EVENTS, Replica, Subject, byte, check_laws};

/// The fuzz target: a law script for one of the two registers.
pub fn registers(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if byte(&mut u).is_multiple_of(2) {
        check_laws::<LwwRegister<u8>>(&mut u);
    } else {
        check_laws::<MvRegister<u8>>(&mut u);
    }
}

/// A write at a physical time.
#[derive(Debug)]
pub struct TimedWrite {
    /// The value.
    pub value: u8,
    /// The writer's physical clock, in milliseconds.
    pub millis: u64,
}

/// An operation on a multi-value register.
#[derive(Debug)]
pub enum RegisterOp {
    /// Replace every value seen with this one.
    Write(u8),
    /// Remove every value seen.
    Clear,
}

impl Subject for LwwRegister<u8> {
    type Op = TimedWrite;

    fn op(u: &mut Unstructured<'_>) -> TimedWrite {
        let value = byte(u) % 6;
        let millis = match byte(u) {
            250.. => u64::arbitrary(u).unwrap_or_default(),
            small => u64::from(small % 4),
        };
        TimedWrite { value, millis }
    }

    fn apply(&mut self, replica: &mut Replica, op: &TimedWrite) -> Self {
        let before = self.timestamp();
        // Writes start from the empty register, so reaching the end of the clock's range
        // would take 2^32 writes at u64::MAX ms, far more than a script makes.
        let delta = self
            .set(op.value, &mut replica.clock, &mut || op.millis)
            .expect("a script's writes stay below the end of the clock's range");
        assert_eq!(self.get(), Some(&op.value), "a write lost to what it saw");
        assert!(
            self.timestamp() > before,
            "a write did not move the timestamp on"
        );
        delta
    }
}

impl Subject for MvRegister<u8> {
    type Op = RegisterOp;

    fn op(u: &mut Unstructured<'_>) -> RegisterOp {
        match byte(u) {
            0..=49 => RegisterOp::Clear,
            value => RegisterOp::Write(value % 6),
        }
    }

    fn apply(&mut self, replica: &mut Replica, op: &RegisterOp) -> Self {
        let delta = match *op {
            RegisterOp::Write(value) => self.write(replica.id, value).expect(FEW_EVENTS),
            RegisterOp::Clear => self.clear(),
        };
        match *op {
            RegisterOp::Write(value) => {
                assert_eq!(self.values().collect::<Vec<_>>(), [&value], "{op:?}");
            }
            RegisterOp::Clear => assert!(self.is_empty(), "{op:?}"),
        }
        delta
    }
}
