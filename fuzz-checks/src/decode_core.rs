//! Every public decoder of crdt-core on bytes from anywhere: [`Codec::decode`] of
//! `VersionVector`, `CausalContext`, the three counters, both registers, `AWSet`, four shapes of
//! `ORMap` (of registers, of counters, of sets, of maps), `Rga` of `u8`, `char` and `String`,
//! and `Text`. Each input goes to all of them (the first byte is the type tag, so seeds are
//! plain encodings and at most a few decoders get past it).
//!
//! For each decoder: it returns `Ok` or `Err`, never panics. What decodes must
//! - re-encode to exactly the input bytes (decoders accept only the canonical encoding, see
//!   [`crate::canonical`]), and decode again to an equal value whose encoding is a fixpoint;
//! - be a lawful value: `v ⊔ v = v`, `v ⊔ ⊥ = ⊥ ⊔ v = v`, and `⊥ ⊔ v.delta_since(⊥.version()) =
//!   ⊥ ⊔ v`. One exception, by design: a compacted sequence (`Rga::compact`; its context covers
//!   tombstones it dropped) loses the compacted part of its context in a join, so there
//!   `⊥ ⊔ v` is checked to hold exactly `v`'s events instead (each joined into the other
//!   changes nothing);
//! - stay usable: a mutation by a replica the value has never seen satisfies
//!   `x ⊔ mδ(x) = m(x)`, and both `m(x)` and `mδ(x)` encode to bytes that decode back to them.
//!   (A fresh replica, because a replica whose own events a peer forged up to the counter cap
//!   cannot make more; with a fresh one, nothing but the decoded value is in play.)

use std::fmt::Debug;

use crdt_core::{
    AWSet, CausalContext, CausalCounter, CausalityError, Codec, DeltaSince, EditError, HybridClock,
    Lattice, LwwRegister, MvRegister, ORMap, PNCounter, ReplicaId, Rga, Text, VersionVector,
};

use crate::canonical::assert_canonical;
use crate::laws::round_trip;

/// A replica id no seed uses: the mutations on decoded values are this replica's first events
/// unless the input happens to name it.
const FRESH: ReplicaId = ReplicaId::from_u128(0x5eed_f00d_5eed_f00d_5eed_f00d_5eed_f00d);

/// The fuzz target: the input through every crdt-core decoder.
pub fn decode_core(data: &[u8]) {
    if let Some(mut vv) = decoded::<VersionVector>(data) {
        let before = vv.clone();
        if vv.increment(FRESH).is_err() {
            assert_eq!(vv, before, "a refused increment changes nothing");
        }
        round_trip(&vv);
    }
    if let Some(mut context) = decoded::<CausalContext>(data) {
        if let Ok(dot) = context.next_dot(FRESH) {
            context.insert(dot);
        }
        round_trip(&context);
    }
    lattice::<GCounterMut>(data);
    lattice::<PNCounterMut>(data);
    lattice::<CausalCounterMut>(data);
    lattice::<LwwMut>(data);
    lattice::<MvMut>(data);
    lattice::<SetMut>(data);
    lattice::<RegisterMapMut>(data);
    lattice::<CounterMapMut>(data);
    lattice::<SetMapMut>(data);
    lattice::<NestedMapMut>(data);
    lattice::<RgaMut<u8>>(data);
    lattice::<RgaMut<char>>(data);
    lattice::<RgaMut<String>>(data);
    lattice::<TextMut>(data);
}

/// Decodes `data` as `T`; on success checks that the value re-encodes canonically.
fn decoded<T: Codec + PartialEq + Debug>(data: &[u8]) -> Option<T> {
    let value = T::decode(data).ok()?;
    let bytes = value
        .encode()
        .unwrap_or_else(|error| panic!("decoded {value:?} does not encode: {error}"));
    assert_canonical(std::any::type_name::<T>(), data, &bytes);
    round_trip(&value);
    Some(value)
}

/// A decodable lattice type and a mutation of it by a fresh replica.
trait Mutation {
    type T: Lattice + DeltaSince + Codec + Debug;
    /// The mutation's delta, or `None` if the value refused it (its replica's counters
    /// exhausted: possible when the input names `FRESH`).
    fn mutate(value: &mut Self::T) -> Option<Self::T>;

    /// Whether `value` is a compacted sequence that `joined` (`⊥ ⊔ value`) holds every event
    /// of, under a smaller context. `Rga::compact` leaves a context that covers the tombstones
    /// it dropped, the decoder accepts that, and a join carries only the events a value holds,
    /// never the rest of its context: so `⊥ ⊔ v` is `v` with the compacted part of its context
    /// forgotten. Only sequences compact.
    fn compacted(_value: &Self::T, _joined: &Self::T) -> bool {
        false
    }
}

fn lattice<M: Mutation>(data: &[u8]) {
    let Some(value) = decoded::<M::T>(data) else {
        return;
    };
    let bottom = M::T::default();
    assert_eq!(value.clone().joined(&value), value, "v ⊔ v");
    assert_eq!(value.clone().joined(&bottom), value, "v ⊔ ⊥");
    let from_bottom = bottom.clone().joined(&value);
    if M::compacted(&value, &from_bottom) {
        // The same events on both sides: neither adds anything to the other.
        assert_eq!(
            from_bottom.clone().joined(&value),
            from_bottom,
            "(⊥ ⊔ v) ⊔ v"
        );
        assert_eq!(value.clone().joined(&from_bottom), value, "v ⊔ (⊥ ⊔ v)");
        round_trip(&from_bottom);
    } else {
        assert_eq!(from_bottom, value, "⊥ ⊔ v");
    }
    let everything = value.delta_since(&bottom.version());
    assert_eq!(
        bottom.clone().joined(&everything),
        from_bottom,
        "⊥ ⊔ v.delta_since(⊥)"
    );

    let mut mutated = value.clone();
    let Some(delta) = M::mutate(&mut mutated) else {
        assert_eq!(mutated, value, "a refused mutation changes nothing");
        return;
    };
    assert_eq!(
        value.clone().joined(&delta),
        mutated,
        "x ⊔ mδ(x) == m(x) on decoded {value:?}, delta {delta:?}"
    );
    round_trip(&mutated);
    round_trip(&delta);
}

struct GCounterMut;
impl Mutation for GCounterMut {
    type T = crdt_core::GCounter;
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        Some(value.increment(FRESH, 1))
    }
}

struct PNCounterMut;
impl Mutation for PNCounterMut {
    type T = PNCounter;
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        Some(value.decrement(FRESH, 1))
    }
}

struct CausalCounterMut;
impl Mutation for CausalCounterMut {
    type T = CausalCounter;
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        let add = value.add(FRESH, 2).ok()?;
        Some(add.joined(&value.reset()))
    }
}

struct LwwMut;
impl Mutation for LwwMut {
    type T = LwwRegister<String>;
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        let before = value.clone();
        match value.set("new".into(), &mut HybridClock::new(FRESH), &mut || 1_000) {
            Ok(delta) => {
                assert_eq!(value.get().map(String::as_str), Some("new"));
                Some(delta)
            }
            // Decoded input may already hold the greatest timestamp there is; only then may
            // the write be refused, and a refused write changes nothing.
            Err(error) => {
                assert_eq!(error, CausalityError::ClockExhausted { replica: FRESH });
                assert_eq!(
                    value.timestamp().map(|t| (t.millis, t.logical)),
                    Some((u64::MAX, u32::MAX)),
                    "a write refused below the end of the clock's range"
                );
                assert_eq!(*value, before, "a refused write changed the register");
                None
            }
        }
    }
}

struct MvMut;
impl Mutation for MvMut {
    type T = MvRegister<String>;
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        let write = value.write(FRESH, "new".into()).ok()?;
        assert_eq!(value.values().collect::<Vec<_>>(), ["new"]);
        Some(write)
    }
}

struct SetMut;
impl Mutation for SetMut {
    type T = AWSet<String>;
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        let first = value.iter().next().cloned();
        let mut delta = value.add(FRESH, "new".into()).ok()?;
        if let Some(first) = first.filter(|first| first != "new") {
            delta.join(&value.remove(&first));
            assert!(!value.contains(&first));
        }
        assert!(value.contains(&"new".to_string()));
        Some(delta)
    }
}

struct RegisterMapMut;
impl Mutation for RegisterMapMut {
    type T = ORMap<String, MvRegister<String>>;
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        let first = value.keys().next().cloned();
        let mut delta = value
            .update("new".into(), |register| register.write(FRESH, "v".into()))
            .ok()?;
        if let Some(first) = first.filter(|first| first != "new") {
            delta.join(&value.remove(&first));
        }
        Some(delta)
    }
}

struct CounterMapMut;
impl Mutation for CounterMapMut {
    type T = ORMap<String, CausalCounter>;
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        let first = value.keys().next().cloned();
        let mut delta = value
            .update("new".into(), |counter| counter.add(FRESH, 1))
            .ok()?;
        if let Some(first) = first {
            delta.join(&value.update(first, |counter| counter.reset()).ok()?);
        }
        Some(delta)
    }
}

struct SetMapMut;
impl Mutation for SetMapMut {
    type T = ORMap<u8, AWSet<u16>>;
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        let first = value.keys().next().copied();
        let mut delta = value.update(7, |set| set.add(FRESH, 7)).ok()?;
        if let Some(first) = first {
            delta.join(&value.update(first, |set| set.clear()).ok()?);
        }
        Some(delta)
    }
}

struct NestedMapMut;
impl Mutation for NestedMapMut {
    type T = ORMap<String, ORMap<u8, MvRegister<u64>>>;
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        let first = value.keys().next().cloned();
        let mut delta = value
            .update("new".into(), |inner| {
                inner.update(1, |register| register.write(FRESH, 1))
            })
            .ok()?;
        if let Some(first) = first.filter(|first| first != "new") {
            delta.join(&value.remove(&first));
        }
        Some(delta)
    }
}

/// The delta of a sequence edit at a valid position, `None` if it was refused because the
/// replica's counters ran out (which the input can arrange).
fn refusable<T>(edit: Result<T, EditError>) -> Option<T> {
    match edit {
        Ok(delta) => Some(delta),
        Err(EditError::Causality(_)) => None,
        Err(error) => panic!("an edit inside the sequence was refused: {error}"),
    }
}

/// Values to insert into a decoded sequence of `T`.
trait Item: Clone + PartialEq + Debug {
    fn item() -> Self;
}

impl Item for u8 {
    fn item() -> Self {
        7
    }
}
impl Item for char {
    fn item() -> Self {
        'é'
    }
}
impl Item for String {
    fn item() -> Self {
        "new".into()
    }
}

struct RgaMut<T>(std::marker::PhantomData<T>);
impl<T: Item> Mutation for RgaMut<T>
where
    Rga<T>: Codec,
{
    type T = Rga<T>;
    fn compacted(value: &Self::T, joined: &Self::T) -> bool {
        value.context() != joined.context() && value.context().includes(joined.context())
    }
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        let len = value.len();
        assert_eq!(value.iter().count() as u64, len);
        let mut delta = refusable(value.insert(FRESH, len / 2, [T::item(), T::item()]))?;
        assert_eq!(value.get(len / 2), Some(&T::item()));
        if let Some(delete) = refusable(value.delete(FRESH, 0, 1)) {
            delta.join(&delete);
            assert_eq!(value.len(), len + 1);
        }
        Some(delta)
    }
}

struct TextMut;
impl Mutation for TextMut {
    type T = Text;
    fn compacted(value: &Self::T, joined: &Self::T) -> bool {
        RgaMut::<char>::compacted(value.as_rga(), joined.as_rga())
    }
    fn mutate(value: &mut Self::T) -> Option<Self::T> {
        let len = value.len();
        assert_eq!(value.to_string().chars().count() as u64, len);
        let mut delta = refusable(value.insert(FRESH, len / 2, "é🦀"))?;
        if let Some(delete) = refusable(value.delete(FRESH, 0, 1)) {
            delta.join(&delete);
            assert_eq!(value.len(), len + 1);
        }
        Some(delta)
    }
}
