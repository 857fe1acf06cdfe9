//! At the end of a replica's counters (`Dot::MAX_COUNTER`, the largest the encoding carries),
//! every mutator that names a new event refuses with `CausalityError::CountersExhausted` and
//! changes nothing, so every state stays decodable; the value counters (`GCounter`,
//! `PNCounter`) saturate instead. The states at the cap are what a peer can send: bytes that
//! decode.

use crdt_core::{
    AWSet, CausalContext, CausalCounter, CausalityError, Codec, Dot, EditError, GCounter,
    MvRegister, ORMap, PNCounter, ReplicaId, Rga, Text, VersionVector,
};

const R: ReplicaId = ReplicaId::from_u128(7);
const EXHAUSTED: CausalityError = CausalityError::CountersExhausted { replica: R };

/// The payload of a causal context holding `R`'s events `1..=last`.
fn context_payload(last: u64) -> Vec<u8> {
    let mut clock = VersionVector::new();
    clock.raise(R, last);
    let context = CausalContext::from(&clock);
    context.encode().expect("encodes")[2..].to_vec()
}

/// A causal value of type `T` with no live event and `R`'s events `1..=last` seen: the
/// context, then an empty store.
fn causal_at<T: Codec>(last: u64) -> T {
    let mut bytes = vec![T::TYPE_TAG, T::FORMAT_VERSION];
    bytes.extend(context_payload(last));
    bytes.push(0);
    T::decode(&bytes).expect("a state at the cap decodes")
}

/// A sequence holding no element whose context covers `R`'s events `1..=last` (as a compacted
/// one does): the replica table, the context, no element runs, no delete runs.
fn sequence_at<T: Codec>(last: u64) -> T {
    let mut bytes = vec![T::TYPE_TAG, T::FORMAT_VERSION, 1];
    bytes.extend(R.as_bytes());
    bytes.extend(context_payload(last));
    bytes.extend([0, 0]);
    T::decode(&bytes).expect("a sequence at the cap decodes")
}

/// `mutate` succeeds one event below the cap, leaving a decodable state, and at the cap is
/// refused with nothing changed.
fn refuses_at_the_cap<T, D: std::fmt::Debug>(
    at: impl Fn(u64) -> T,
    last_allowed: u64,
    mutate: impl Fn(&mut T) -> Result<D, EditError>,
) where
    T: Codec + Clone + PartialEq + std::fmt::Debug,
{
    let mut below = at(last_allowed - 1);
    mutate(&mut below).expect("the last counter is still free");
    let bytes = below.encode().expect("encodes");
    assert_eq!(
        T::decode(&bytes).as_ref(),
        Ok(&below),
        "the state stays decodable"
    );
    let mut full = at(last_allowed);
    let before = full.clone();
    assert_eq!(
        mutate(&mut full).map(|_| ()),
        Err(EditError::Causality(EXHAUSTED))
    );
    assert_eq!(full, before, "a refused mutator changes nothing");
    mutate(&mut below).expect_err("the cap reached by the first mutation");
}

#[test]
fn causal_mutators_refuse_past_the_cap_and_change_nothing() {
    let max = Dot::MAX_COUNTER;
    refuses_at_the_cap(causal_at::<AWSet<u8>>, max, |set| Ok(set.add(R, 1)?));
    refuses_at_the_cap(causal_at::<MvRegister<u8>>, max, |register| {
        Ok(register.write(R, 1)?)
    });
    refuses_at_the_cap(causal_at::<CausalCounter>, max, |counter| {
        Ok(counter.add(R, 1)?)
    });
    refuses_at_the_cap(causal_at::<ORMap<u8, CausalCounter>>, max, |map| {
        Ok(map.update(1, |quantity| quantity.add(R, 2))?)
    });
    refuses_at_the_cap(causal_at::<ORMap<u8, AWSet<u8>>>, max, |map| {
        Ok(map.update(1, |set| set.add(R, 2))?)
    });
}

#[test]
fn sequence_edits_refuse_past_the_cap_and_change_nothing() {
    // A run of n elements from counter c decodes when c + n <= MAX_COUNTER: a sequence's last
    // usable counter is one below the other types'.
    let last = Dot::MAX_COUNTER - 1;
    refuses_at_the_cap(sequence_at::<Rga<u8>>, last, |rga| rga.insert(R, 0, [1]));
    refuses_at_the_cap(sequence_at::<Text>, last, |text| text.insert(R, 0, "a"));
    // Several elements at once need as many counters.
    let mut text = sequence_at::<Text>(last - 2);
    let before = text.clone();
    assert_eq!(
        text.insert(R, 0, "abc").map(|_| ()),
        Err(EditError::Causality(EXHAUSTED))
    );
    assert_eq!(text, before);
    text.insert(R, 0, "ab").expect("two counters left");
    // A delete is an event too.
    let mut text = sequence_at::<Text>(last - 3);
    text.insert(R, 0, "ab").expect("two counters left");
    let mut full = text.clone();
    full.delete(R, 0, 1).expect("the last counter");
    let before = full.clone();
    assert_eq!(
        full.delete(R, 0, 1).map(|_| ()),
        Err(EditError::Causality(EXHAUSTED))
    );
    assert_eq!(full, before);
    assert_eq!(Text::decode(&full.encode().unwrap()).as_ref(), Ok(&full));
}

#[test]
fn a_version_vector_refuses_to_issue_a_dot_past_the_cap() {
    let mut clock = VersionVector::new();
    clock.raise(R, Dot::MAX_COUNTER - 1);
    assert_eq!(clock.increment(R), Ok(Dot::new(R, Dot::MAX_COUNTER)));
    let before = clock.clone();
    assert_eq!(clock.increment(R), Err(EXHAUSTED));
    assert_eq!(clock, before);
    // Raising past the cap means "seen every event": no event lies beyond it.
    clock.raise(ReplicaId::from_u128(8), u64::MAX);
    assert_eq!(clock.get(&ReplicaId::from_u128(8)), Dot::MAX_COUNTER);
    assert_eq!(VersionVector::decode(&clock.encode().unwrap()), Ok(clock));
}

#[test]
fn a_context_records_only_dots_that_name_events() {
    let mut context = CausalContext::new();
    context.insert(Dot::new(R, 0));
    context.insert(Dot::new(R, Dot::MAX_COUNTER + 1));
    assert!(context.is_empty());
    context.insert(Dot::new(R, Dot::MAX_COUNTER));
    assert_eq!(context.next_dot(R), Err(EXHAUSTED));
    assert_eq!(
        CausalContext::decode(&context.encode().unwrap()),
        Ok(context)
    );
}

#[test]
fn value_counters_saturate_at_the_cap_and_stay_decodable() {
    let mut counter = GCounter::new();
    counter.increment(R, Dot::MAX_COUNTER);
    let delta = counter.increment(R, 1);
    assert_eq!(counter.count_of(&R), Dot::MAX_COUNTER);
    assert_eq!(GCounter::decode(&delta.encode().unwrap()), Ok(delta));
    let mut counter = PNCounter::new();
    counter.decrement(R, u64::MAX);
    counter.increment(R, u64::MAX);
    assert_eq!(counter.value(), 0);
    assert_eq!(PNCounter::decode(&counter.encode().unwrap()), Ok(counter));
}
