//! Decoding untrusted bytes: random input, corrupted encodings and lying lengths all end in a
//! `DecodeError`, never a panic or an unbounded allocation; what does decode is a valid value.

mod support;

use crdt_core::{
    AWSet, CausalContext, Codec, DecodeError, GCounter, HybridClock, LwwRegister, MvRegister,
    ORMap, PNCounter, ReplicaId, Rga, Text, VersionVector,
};
use quickcheck::{QuickCheck, TestResult};
use support::{History, Subject, play};

/// Decodes `bytes` as `T` (raw, and behind a valid envelope so the payload parser is reached);
/// whatever decodes must be a value that re-encodes to a decodable, equal value and joins.
fn decode_anything<T: Codec + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> bool {
    let mut enveloped = vec![T::TYPE_TAG, T::FORMAT_VERSION];
    enveloped.extend_from_slice(bytes);
    [bytes, &enveloped[..]]
        .into_iter()
        .all(|input| match T::decode(input) {
            Err(_) => true,
            Ok(value) => is_sound(&value),
        })
}

fn is_sound<T: Codec + PartialEq + std::fmt::Debug>(value: &T) -> bool {
    let Ok(bytes) = value.encode() else {
        return false;
    };
    T::decode(&bytes).as_ref() == Ok(value)
}

fn random_bytes_never_panic<T: Codec + PartialEq + std::fmt::Debug>() {
    fn property<T: Codec + PartialEq + std::fmt::Debug>(bytes: Vec<u8>) -> bool {
        decode_anything::<T>(&bytes)
    }
    QuickCheck::new()
        .tests(2_000)
        .quickcheck(property::<T> as fn(Vec<u8>) -> bool);
}

#[test]
fn random_bytes_never_panic_any_type() {
    random_bytes_never_panic::<VersionVector>();
    random_bytes_never_panic::<CausalContext>();
    random_bytes_never_panic::<GCounter>();
    random_bytes_never_panic::<PNCounter>();
    random_bytes_never_panic::<LwwRegister<String>>();
    random_bytes_never_panic::<MvRegister<String>>();
    random_bytes_never_panic::<AWSet<String>>();
    random_bytes_never_panic::<ORMap<u8, AWSet<u16>>>();
    random_bytes_never_panic::<ORMap<String, ORMap<u8, MvRegister<u64>>>>();
    random_bytes_never_panic::<crdt_core::Rga<char>>();
    random_bytes_never_panic::<crdt_core::Rga<u8>>();
    random_bytes_never_panic::<crdt_core::Text>();
    random_bytes_never_panic::<crdt_core::CausalCounter>();
    random_bytes_never_panic::<ORMap<String, crdt_core::CausalCounter>>();
}

/// Flips, truncates and extends real encodings: the inputs most likely to pass the outer
/// checks and reach the invariant checks.
fn corrupted_encodings_never_panic<T: Subject>() {
    fn property<T: Subject>(
        history: History<T::Op>,
        edits: Vec<(u16, u8)>,
        cut: u16,
    ) -> TestResult {
        let Ok(run) = play::<T>(&history) else {
            return TestResult::discard();
        };
        for value in run.states.iter().chain(&run.deltas) {
            let Ok(mut bytes) = value.encode() else {
                return TestResult::failed();
            };
            for &(position, xor) in &edits {
                let position = usize::from(position) % bytes.len();
                bytes[position] ^= xor;
            }
            let sound = match T::decode(&bytes) {
                Err(_) => true,
                Ok(decoded) => {
                    // A corrupted but valid value must still join with honest ones.
                    is_sound(&decoded)
                        && decoded.clone().joined(&decoded) == decoded
                        && (!T::RESOLVES_CONFLICTING_EVENTS
                            || value.clone().joined(&decoded) == decoded.clone().joined(value))
                }
            };
            let truncated = &bytes[..usize::from(cut) % (bytes.len() + 1)];
            if !sound || !decode_anything::<T>(truncated) {
                return TestResult::failed();
            }
        }
        TestResult::passed()
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(property::<T> as fn(History<T::Op>, Vec<(u16, u8)>, u16) -> TestResult);
}

#[test]
fn corrupted_encodings_never_panic_any_type() {
    corrupted_encodings_never_panic::<GCounter>();
    corrupted_encodings_never_panic::<PNCounter>();
    corrupted_encodings_never_panic::<LwwRegister<u8>>();
    corrupted_encodings_never_panic::<MvRegister<u8>>();
    corrupted_encodings_never_panic::<AWSet<u8>>();
    corrupted_encodings_never_panic::<ORMap<u8, AWSet<u8>>>();
    corrupted_encodings_never_panic::<ORMap<u8, ORMap<u8, MvRegister<u8>>>>();
    corrupted_encodings_never_panic::<crdt_core::Rga<u8>>();
    corrupted_encodings_never_panic::<crdt_core::CausalCounter>();
    corrupted_encodings_never_panic::<ORMap<u8, crdt_core::CausalCounter>>();
}

#[test]
fn a_lying_length_is_an_error_not_an_allocation() {
    // Envelope, then a varint claiming 2^63 context entries, and nothing behind it.
    let mut bytes = vec![AWSet::<String>::TYPE_TAG, 1];
    bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert!(matches!(
        AWSet::<String>::decode(&bytes),
        Err(DecodeError::Malformed(_))
    ));
    // A string claiming 4 GiB.
    let mut bytes = vec![LwwRegister::<String>::TYPE_TAG, 1, 1, 0, 0];
    bytes.extend_from_slice(&[7; 16]);
    bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        LwwRegister::<String>::decode(&bytes),
        Err(DecodeError::Malformed(_))
    ));
}

#[test]
fn envelope_errors_are_named() {
    let good = GCounter::new().encode().unwrap();
    assert_eq!(GCounter::decode(&[]), Err(DecodeError::MissingEnvelope));
    assert_eq!(
        GCounter::decode(&good[..1]),
        Err(DecodeError::MissingEnvelope)
    );
    assert_eq!(
        PNCounter::decode(&good),
        Err(DecodeError::WrongType {
            expected: PNCounter::TYPE_TAG,
            found: GCounter::TYPE_TAG
        })
    );
    let mut newer = good.clone();
    newer[1] = 2;
    assert_eq!(
        GCounter::decode(&newer),
        Err(DecodeError::UnsupportedVersion {
            type_tag: GCounter::TYPE_TAG,
            found: 2,
            supported: 1
        })
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        GCounter::decode(&trailing),
        Err(DecodeError::TrailingBytes(1))
    );
}

#[test]
fn invariant_violations_are_named() {
    let a = [1u8; 16];
    let b = [2u8; 16];
    // A version vector whose replicas are out of order.
    let mut unsorted = vec![GCounter::TYPE_TAG, 1, 2];
    unsorted.extend_from_slice(&b);
    unsorted.push(1);
    unsorted.extend_from_slice(&a);
    unsorted.push(1);
    assert_eq!(
        GCounter::decode(&unsorted),
        Err(DecodeError::Invalid(
            "version vector entries not sorted by replica"
        ))
    );
    // An AWSet holding a dot its context has not seen: context {a: 1..=1}, element 5 at (a, 2).
    let mut unseen = vec![AWSet::<u8>::TYPE_TAG, 1, 1];
    unseen.extend_from_slice(&a);
    unseen.extend_from_slice(&[1, 1, 1, 1, 5, 1, 0, 2]);
    assert_eq!(
        AWSet::<u8>::decode(&unseen),
        Err(DecodeError::Invalid(
            "store holds a dot its context has not seen"
        ))
    );
    // The same dot under two elements.
    let mut twice = vec![AWSet::<u8>::TYPE_TAG, 1, 1];
    twice.extend_from_slice(&a);
    twice.extend_from_slice(&[1, 1, 1, 2, 5, 1, 0, 1, 6, 1, 0, 1]);
    assert_eq!(
        AWSet::<u8>::decode(&twice),
        Err(DecodeError::Invalid("one dot under two map keys"))
    );
}

/// Decodes bytes as one type and re-encodes what decoded.
type Reencode = fn(&[u8]) -> Option<Vec<u8>>;

/// Real encodings of several types, for the mutation sweeps below.
fn real_encodings() -> Vec<(&'static str, Vec<u8>, Reencode)> {
    fn reencode<T: Codec>(bytes: &[u8]) -> Option<Vec<u8>> {
        T::decode(bytes)
            .ok()
            .map(|value| value.encode().expect("encodes"))
    }
    let (a, b) = (ReplicaId::from_u128(0xa11ce), ReplicaId::from_u128(0xb0b));
    let mut clock = VersionVector::new();
    clock.raise(a, 300);
    clock.raise(b, 5);
    let mut register = LwwRegister::new();
    register
        .set("tea".to_string(), &mut HybridClock::new(a), &mut || {
            1_700_000_000_000
        })
        .expect("a clock far from the end of its range");
    let mut text = Text::new();
    text.insert(a, 0, "héllo wörld").unwrap();
    text.insert(b, 3, "🦀").unwrap();
    text.delete(a, 1, 2).unwrap();
    let mut list: Rga<char> = Rga::new();
    list.insert(a, 0, "abc".chars()).unwrap();
    list.insert(b, 1, "xy".chars()).unwrap();
    list.delete(b, 0, 1).unwrap();
    let mut set = AWSet::new();
    set.add(a, "milk".to_string()).unwrap();
    set.add(b, "eggs".to_string()).unwrap();
    vec![
        (
            "VersionVector",
            clock.encode().unwrap(),
            reencode::<VersionVector>,
        ),
        (
            "LwwRegister",
            register.encode().unwrap(),
            reencode::<LwwRegister<String>>,
        ),
        ("Text", text.encode().unwrap(), reencode::<Text>),
        ("Rga<char>", list.encode().unwrap(), reencode::<Rga<char>>),
        ("AWSet", set.encode().unwrap(), reencode::<AWSet<String>>),
    ]
}

#[test]
fn every_accepted_single_byte_mutant_is_its_own_canonical_encoding() {
    for (name, bytes, reencode) in real_encodings() {
        let mut accepted = 0;
        for at in 0..bytes.len() {
            for byte in 0..=u8::MAX {
                let mut mutant = bytes.clone();
                mutant[at] = byte;
                if let Some(again) = reencode(&mutant) {
                    accepted += 1;
                    assert_eq!(again, mutant, "{name}: accepted a non-canonical mutant");
                }
            }
        }
        assert!(
            accepted > bytes.len(),
            "{name}: the sweep reached few values"
        );
    }
}

#[test]
fn over_long_varints_are_refused_as_non_canonical() {
    let five = VersionVector::from_iter([(ReplicaId::from_u128(1), 5)]);
    let mut bytes = five.encode().unwrap();
    assert_eq!(bytes.pop(), Some(5));
    bytes.extend([0x85, 0x00]); // 5 in two bytes
    assert_eq!(
        VersionVector::decode(&bytes),
        Err(DecodeError::NonCanonical)
    );
    for (name, bytes, reencode) in real_encodings() {
        for at in 2..bytes.len() {
            if bytes[at] < 0x80 {
                let mut long = bytes[..at].to_vec();
                long.extend([bytes[at] | 0x80, 0x00]);
                long.extend(&bytes[at + 1..]);
                // Where no varint ends, the longer bytes may read as another value: then as its
                // own canonical encoding.
                assert!(
                    reencode(&long).is_none_or(|again| again == long),
                    "{name}: accepted an over-long varint"
                );
            }
        }
    }
}

#[test]
fn an_over_long_char_is_refused_as_non_canonical() {
    let mut list: Rga<char> = Rga::new();
    list.insert(ReplicaId::from_u128(1), 0, ['e']).unwrap();
    let bytes = list.encode().unwrap();
    let at = bytes
        .windows(2)
        .rposition(|pair| pair == [1, b'e'])
        .expect("the char is written as its length and its UTF-8");
    // postcard reads "eggs" behind a length of 4 as the char 'e'.
    let mut long = bytes[..at].to_vec();
    long.extend([4, b'e', b'g', b'g', b's']);
    long.extend(&bytes[at + 2..]);
    assert_eq!(Rga::<char>::decode(&long), Err(DecodeError::NonCanonical));
}

#[test]
fn sequences_of_format_version_1_are_refused_as_retired() {
    let id = "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01";
    // A version 1 `Text` ("ey" after a deleted "h", as the version 1 golden vector pinned it).
    let hex = format!(
        "0a 01 01 {id} 01 {id} 01 01 04 02 00 00 00 00 01 01 00 00 01 01 00 00 02 65 79 01 00 03 00 05 00 01"
    );
    let bytes: Vec<u8> = hex
        .split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).unwrap())
        .collect();
    let error = Text::decode(&bytes).unwrap_err();
    assert!(
        matches!(
            error,
            DecodeError::RetiredVersion {
                type_tag: 10,
                found: 1,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("no longer supported"), "{message}");
    assert!(message.contains("FugueMax"), "{message}");
    let mut as_rga = bytes.clone();
    as_rga[0] = Rga::<char>::TYPE_TAG;
    assert!(matches!(
        Rga::<char>::decode(&as_rga),
        Err(DecodeError::RetiredVersion { found: 1, .. })
    ));
    // A version from the future is another error.
    let mut newer = bytes;
    newer[1] = 3;
    assert!(matches!(
        Text::decode(&newer),
        Err(DecodeError::UnsupportedVersion { found: 3, .. })
    ));
}

#[test]
fn right_origins_have_one_encoding() {
    let a = ReplicaId::from_u128(1);
    let mut list: Rga<u8> = Rga::new();
    list.insert(a, 0, [7, 8]).unwrap();
    list.insert(a, 1, [9]).unwrap(); // a:3, right origin a:2 (one back)
    let bytes = list.encode().unwrap();
    // The last run: (0, 0, left Back(2), right Back(1), Live([9])), then no delete run.
    let tail = [0, 0, 1, 2, 1, 1, 0, 1, 9, 0];
    assert!(bytes.ends_with(&tail));
    let run = bytes.len() - tail.len();
    let with_right = |right: &[u8]| {
        let mut forged = bytes[..run].to_vec();
        forged.extend([0, 0, 1, 2]);
        forged.extend(right);
        forged.extend([0, 1, 9, 0]);
        Rga::<u8>::decode(&forged)
    };
    assert_eq!(with_right(&[1, 1]).as_ref(), Ok(&list));
    // Zero back, and the same element written as `Other`, are refused.
    assert_eq!(
        with_right(&[1, 0]),
        Err(DecodeError::Invalid(
            "element origin written as a distance of zero"
        ))
    );
    assert_eq!(
        with_right(&[2, 0, 2]),
        Err(DecodeError::Invalid(
            "element origin not written as a distance back"
        ))
    );
    // A right origin that never arrives leaves the run pending, kept and re-encoded as is.
    let waiting = with_right(&[2, 0, 40]).unwrap();
    assert_eq!(waiting.pending(), 1);
    assert_eq!(waiting.len(), 2);
}
