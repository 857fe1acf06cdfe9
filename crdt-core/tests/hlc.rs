//! The hybrid logical clock never issues a timestamp that is not greater than every one it
//! issued or observed, up to and including the end of its range.

use crdt_core::{CausalityError, HybridClock, LwwRegister, ReplicaId, Timestamp};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

const ALICE: ReplicaId = ReplicaId::from_u128(0xa11ce);
const BOB: ReplicaId = ReplicaId::from_u128(0xb0b);

fn stamp(millis: u64, logical: u32) -> Timestamp {
    Timestamp {
        millis,
        logical,
        replica: BOB,
    }
}

const TOP: (u64, u32) = (u64::MAX, u32::MAX);

#[test]
fn a_clock_at_the_end_of_its_range_refuses_instead_of_going_back() {
    let mut clock = HybridClock::new(ALICE);
    clock.observe(&stamp(u64::MAX, u32::MAX - 1));
    let last = clock.tick(&mut || u64::MAX).unwrap();
    assert_eq!((last.millis, last.logical), TOP);

    let exhausted = Err(CausalityError::ClockExhausted { replica: ALICE });
    assert_eq!(clock.tick(&mut || u64::MAX), exhausted);
    // A refused tick changes nothing, so it stays refused whatever the physical time says.
    assert_eq!(clock.tick(&mut || 0), exhausted);
}

#[test]
fn a_clock_that_observed_the_top_refuses_to_tick() {
    let mut clock = HybridClock::new(ALICE);
    clock.tick(&mut || 1_000).unwrap();
    clock.observe(&stamp(TOP.0, TOP.1));
    assert_eq!(
        clock.tick(&mut || 1_001),
        Err(CausalityError::ClockExhausted { replica: ALICE })
    );
}

#[test]
fn the_exhausted_clock_error_says_what_happened() {
    let message = CausalityError::ClockExhausted { replica: ALICE }.to_string();
    assert!(message.contains("end of its range"), "{message}");
    assert!(message.contains("no greater timestamp"), "{message}");
}

#[test]
fn ticks_increase_across_the_logical_overflow() {
    let mut clock = HybridClock::new(ALICE);
    clock.observe(&stamp(1_000, u32::MAX - 1));
    let before = clock.tick(&mut || 1_000).unwrap();
    assert_eq!((before.millis, before.logical), (1_000, u32::MAX));
    let after = clock.tick(&mut || 1_000).unwrap();
    assert_eq!((after.millis, after.logical), (1_001, 0));
    assert!(after > before);
}

#[test]
fn an_lww_write_at_the_end_of_the_range_is_refused_and_changes_nothing() {
    let mut top = HybridClock::new(BOB);
    top.observe(&stamp(u64::MAX, u32::MAX - 1));
    let mut register = LwwRegister::new();
    register.set("last", &mut top, &mut || u64::MAX).unwrap();
    assert_eq!(
        register.timestamp().map(|t| (t.millis, t.logical)),
        Some(TOP)
    );

    let before = register.clone();
    let mut alice = HybridClock::new(ALICE);
    let clock_before = format!("{alice:?}");
    assert_eq!(
        register.set("lost?", &mut alice, &mut || 5),
        Err(CausalityError::ClockExhausted { replica: ALICE })
    );
    assert_eq!(register, before);
    assert_eq!(
        format!("{alice:?}"),
        clock_before,
        "the clock is unchanged too"
    );
}

#[test]
fn an_lww_write_after_seeing_a_stamp_near_the_top_wins() {
    let mut bob = HybridClock::new(BOB);
    bob.observe(&stamp(u64::MAX, u32::MAX - 2));
    let mut register = LwwRegister::new();
    register.set(1, &mut bob, &mut || u64::MAX).unwrap();

    // Alice's physical clock is far behind; her write must still win, or be refused.
    let mut alice = HybridClock::new(ALICE);
    let delta = register.set(2, &mut alice, &mut || 5).unwrap();
    assert_eq!(register.get(), Some(&2));
    assert_eq!(delta.timestamp().map(|t| (t.millis, t.logical)), Some(TOP));

    // And the next write has nowhere to go: refused, and the last value stays.
    assert!(register.set(3, &mut bob, &mut || u64::MAX).is_err());
    assert_eq!(register.get(), Some(&2));
}

/// A physical time or a timestamp's parts, often at the edges where the clock's arithmetic
/// overflows.
fn millis(g: &mut Gen) -> u64 {
    match u8::arbitrary(g) % 4 {
        0 => u64::MAX - u64::from(u8::arbitrary(g) % 3),
        1 => 1_000 + u64::from(u8::arbitrary(g) % 3),
        _ => u64::arbitrary(g),
    }
}

fn logical(g: &mut Gen) -> u32 {
    match u8::arbitrary(g) % 3 {
        0 => u32::MAX - u32::from(u8::arbitrary(g) % 3),
        _ => u32::from(u8::arbitrary(g) % 3),
    }
}

#[derive(Clone, Debug)]
enum Step {
    Tick(u64),
    Observe(u64, u32),
}

impl Arbitrary for Step {
    fn arbitrary(g: &mut Gen) -> Self {
        if bool::arbitrary(g) {
            Self::Tick(millis(g))
        } else {
            Self::Observe(millis(g), logical(g))
        }
    }
}

fn every_tick_exceeds_all_before(steps: Vec<Step>) -> TestResult {
    let mut clock = HybridClock::new(ALICE);
    let mut highest: Option<Timestamp> = None;
    for step in steps {
        match step {
            Step::Tick(now) => match clock.tick(&mut || now) {
                Ok(issued) => {
                    if highest.is_some_and(|h| issued <= h) {
                        return TestResult::error(format!("{issued:?} after {highest:?}"));
                    }
                    highest = Some(issued);
                }
                Err(error) => {
                    let at_top = highest.is_some_and(|h| (h.millis, h.logical) == TOP);
                    if !at_top {
                        return TestResult::error(format!("{error} below the top: {highest:?}"));
                    }
                }
            },
            Step::Observe(millis, logical) => {
                let seen = stamp(millis, logical);
                clock.observe(&seen);
                highest = highest.max(Some(seen));
            }
        }
    }
    TestResult::passed()
}

#[test]
fn every_tick_exceeds_everything_issued_or_observed_before() {
    QuickCheck::new()
        .tests(2_000)
        .quickcheck(every_tick_exceeds_all_before as fn(Vec<Step>) -> TestResult);
}
