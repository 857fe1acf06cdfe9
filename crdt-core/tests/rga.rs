//! The sequence CRDT against simple models: local edits against a vector, concurrent sessions
//! against each other, and documents large enough to grow the span tree several levels.

mod support;

use crdt_core::{Codec, DeltaSince, Lattice, PositionError, ReplicaId, Rga};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

const ALICE: ReplicaId = ReplicaId::from_u128(0xa);
const BOB: ReplicaId = ReplicaId::from_u128(0xb);

/// A deterministic stream of edits: mostly inserts near the previous edit (like typing), some
/// jumps and deletes, so runs form, split and get deleted.
fn edit_stream(seed: u64, edits: usize, mut apply: impl FnMut(u64, Edit)) {
    let mut random = fastrand::Rng::with_seed(seed);
    let mut len = 0u64;
    let mut cursor = 0u64;
    for step in 0..edits {
        if random.usize(..10) == 0 {
            cursor = random.usize(..len as usize + 1) as u64;
        }
        cursor = cursor.min(len);
        if len > 0 && random.usize(..4) == 0 {
            let pos = cursor.saturating_sub(1).min(len - 1);
            let count = (1 + random.usize(..3) as u64).min(len - pos);
            apply(step as u64, Edit::Delete(pos, count));
            len -= count;
            cursor = pos;
        } else {
            let count = 1 + random.usize(..4) as u64;
            apply(step as u64, Edit::Insert(cursor, count));
            len += count;
            cursor += count;
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Edit {
    Insert(u64, u64),
    Delete(u64, u64),
}

#[test]
fn local_edits_match_a_vector_through_many_tree_levels() {
    let mut rga = Rga::new();
    let mut model: Vec<u64> = Vec::new();
    edit_stream(7, 40_000, |step, edit| match edit {
        Edit::Insert(pos, count) => {
            let values: Vec<u64> = (0..count).map(|i| step * 10 + i).collect();
            rga.insert(ALICE, pos, values.iter().copied()).unwrap();
            let at = pos as usize;
            model.splice(at..at, values);
        }
        Edit::Delete(pos, count) => {
            rga.delete(ALICE, pos, count).unwrap();
            model.drain(pos as usize..(pos + count) as usize);
        }
    });
    assert!(
        rga.span_count() > 32 * 32,
        "the tree must grow past two levels"
    );
    assert_eq!(rga.len(), model.len() as u64);
    assert!(rga.iter().eq(model.iter()));
    for pos in (0..model.len()).step_by(97) {
        assert_eq!(rga.get(pos as u64), Some(&model[pos]));
    }
    // A replica rebuilt from the encoding, and one fed every delta, agree.
    let decoded = Rga::<u64>::decode(&rga.encode().unwrap()).unwrap();
    assert_eq!(decoded, rga);
    assert!(decoded.iter().eq(model.iter()));
}

#[test]
fn deltas_rebuild_the_document_in_any_order() {
    let mut rga = Rga::new();
    let mut deltas = Vec::new();
    edit_stream(11, 3_000, |step, edit| {
        let delta = match edit {
            Edit::Insert(pos, count) => rga.insert(ALICE, pos, (0..count).map(|i| step * 10 + i)),
            Edit::Delete(pos, count) => rga.delete(ALICE, pos, count),
        };
        deltas.push(delta.unwrap());
    });
    for seed in [1, 2, 3] {
        let mut order: Vec<&Rga<u64>> = deltas.iter().collect();
        fastrand::Rng::with_seed(seed).shuffle(&mut order);
        let mut replica = Rga::new();
        for delta in order {
            replica.join(delta);
        }
        assert_eq!(replica.pending(), 0);
        assert_eq!(replica, rga);
        assert!(replica.iter().eq(rga.iter()));
    }
}

#[test]
fn positions_out_of_range_are_errors_that_change_nothing() {
    let mut rga = Rga::new();
    rga.insert(ALICE, 0, "abc".chars()).unwrap();
    let before = rga.clone();
    assert_eq!(
        rga.insert(ALICE, 4, ['x']),
        Err(PositionError { end: 4, len: 3 }.into())
    );
    assert_eq!(
        rga.delete(ALICE, 2, 2),
        Err(PositionError { end: 4, len: 3 }.into())
    );
    assert_eq!(
        rga.delete(ALICE, u64::MAX, 2),
        Err(PositionError {
            end: u64::MAX,
            len: 3
        }
        .into())
    );
    assert_eq!(rga, before);
}

#[test]
fn concurrent_multi_element_inserts_at_one_place_stay_whole_and_order_alike() {
    let mut alice = Rga::new();
    alice.insert(ALICE, 0, "[]".chars()).unwrap();
    let mut bob = alice.clone();
    alice.insert(ALICE, 1, "alice".chars()).unwrap();
    bob.insert(BOB, 1, "bob".chars()).unwrap();
    let merged = alice.clone().joined(&bob);
    assert_eq!(merged, bob.clone().joined(&alice));
    let text: String = merged.iter().collect();
    // Same origins (`[` and `]`): the smaller replica id (ALICE) goes first.
    assert_eq!(text, "[alicebob]");
}

#[test]
fn an_insert_after_a_deleted_element_keeps_its_place() {
    let mut alice = Rga::new();
    alice.insert(ALICE, 0, "abc".chars()).unwrap();
    let mut bob = alice.clone();
    let removal = alice.delete(ALICE, 1, 1).unwrap(); // removes b
    let typing = bob.insert(BOB, 2, ['X']).unwrap(); // after b
    alice.join(&typing);
    bob.join(&removal);
    assert_eq!(alice, bob);
    assert_eq!(alice.iter().collect::<String>(), "aXc");
}

/// A concurrent session: each replica edits its copy; now and then one receives another's
/// deltas, late, reordered and duplicated.
#[derive(Clone, Debug)]
struct Session {
    replicas: u8,
    steps: Vec<(u8, u8, u8, bool)>,
    seed: u64,
}

impl Arbitrary for Session {
    fn arbitrary(g: &mut Gen) -> Self {
        Self {
            replicas: 2 + u8::arbitrary(g) % 4,
            steps: Vec::arbitrary(g),
            seed: u64::arbitrary(g),
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let (replicas, seed) = (self.replicas, self.seed);
        Box::new(self.steps.shrink().map(move |steps| Self {
            replicas,
            steps,
            seed,
        }))
    }
}

fn session_converges(session: Session) -> TestResult {
    let n = usize::from(session.replicas);
    let mut replicas: Vec<Rga<char>> = vec![Rga::new(); n];
    let mut outbox: Vec<Vec<Rga<char>>> = vec![Vec::new(); n];
    let mut random = fastrand::Rng::with_seed(session.seed);
    for &(who, a, b, deliver) in &session.steps {
        let who = usize::from(who) % n;
        let id = ReplicaId::from_u128(who as u128 + 1);
        let len = replicas[who].len();
        let delta = if len > 0 && a % 3 == 0 {
            let pos = u64::from(b) % len;
            replicas[who].delete(id, pos, 1 + u64::from(a % 2).min(len - pos - 1))
        } else {
            let letter = char::from(b'a' + b % 26);
            replicas[who].insert(id, u64::from(b) % (len + 1), [letter, letter])
        };
        outbox[who].push(delta.expect("positions in range"));
        if deliver {
            let to = random.usize(..n);
            let mut batch: Vec<Rga<char>> = outbox.iter().flatten().cloned().collect();
            random.shuffle(&mut batch);
            batch.truncate(1 + random.usize(..batch.len()));
            for delta in &batch {
                replicas[to].join(delta);
            }
        }
    }
    // Finally everybody receives everything, shuffled and twice.
    let mut everything: Vec<Rga<char>> = outbox.iter().flatten().cloned().collect();
    everything.extend(everything.clone());
    for replica in &mut replicas {
        random.shuffle(&mut everything);
        for delta in &everything {
            replica.join(delta);
        }
    }
    let first = &replicas[0];
    let agree = replicas.iter().all(|replica| {
        replica == first
            && replica.pending() == 0
            && replica.iter().eq(first.iter())
            && replica.delta_since(&first.version()) == Rga::default()
    });
    TestResult::from_bool(agree)
}

#[test]
fn concurrent_sessions_converge_to_identical_text() {
    QuickCheck::new()
        .tests(300)
        .quickcheck(session_converges as fn(Session) -> TestResult);
}

/// Random local edits on `rga` as `replica`, returning the deltas.
fn random_edits(rga: &mut Rga<u64>, replica: ReplicaId, seed: u64, edits: usize) -> Vec<Rga<u64>> {
    let mut random = fastrand::Rng::with_seed(seed);
    let mut deltas = Vec::new();
    for step in 0..edits {
        let len = rga.len();
        let delta = if len > 0 && random.usize(..3) == 0 {
            let pos = random.usize(..len as usize) as u64;
            rga.delete(replica, pos, (1 + random.usize(..3) as u64).min(len - pos))
        } else {
            let pos = random.usize(..len as usize + 1) as u64;
            rga.insert(
                replica,
                pos,
                (0..1 + random.usize(..4) as u64).map(|i| seed * 1_000_000 + step as u64 * 10 + i),
            )
        };
        deltas.push(delta.unwrap());
    }
    deltas
}

#[test]
fn compaction_forgets_stable_tombstones_without_changing_the_document() {
    let mut alice = Rga::new();
    random_edits(&mut alice, ALICE, 3, 4_000);
    let before: Vec<u64> = alice.iter().copied().collect();
    let spans = alice.span_count();
    let size = alice.encode().unwrap().len();

    let stable = alice.version().version_vector();
    let removed = alice.compact(&stable);
    assert!(removed > 0, "stable tombstones are removed");
    assert!(alice.span_count() < spans);
    assert!(alice.encode().unwrap().len() < size);
    assert!(alice.iter().copied().eq(before.iter().copied()));
    // Compacting again finds nothing more; the compacted state round-trips.
    assert_eq!(alice.compact(&stable), 0);
    assert_eq!(Rga::<u64>::decode(&alice.encode().unwrap()).unwrap(), alice);
}

#[test]
fn compacted_and_uncompacted_replicas_keep_converging() {
    // Alice and Bob share a history, then both compact it (Bob's twin does not).
    let mut alice = Rga::new();
    random_edits(&mut alice, ALICE, 5, 1_500);
    let mut bob = alice.clone();
    random_edits(&mut bob, BOB, 6, 1_500);
    alice.join(&bob);
    bob.join(&alice);
    let mut bob_twin = bob.clone();
    let stable = alice.version().version_vector();
    assert!(alice.compact(&stable) > 0);
    assert!(bob.compact(&stable) > 0);

    // Then they edit concurrently and exchange deltas.
    let from_alice = random_edits(&mut alice, ALICE, 7, 800);
    let from_bob = random_edits(&mut bob, BOB, 8, 800);
    let from_twin = random_edits(&mut bob_twin, BOB, 8, 800);
    for delta in &from_bob {
        alice.join(delta);
    }
    for delta in &from_alice {
        bob.join(delta);
        bob_twin.join(delta);
    }
    assert_eq!(
        from_bob, from_twin,
        "compaction does not change what a replica sends"
    );
    let text: Vec<u64> = alice.iter().copied().collect();
    assert!(bob.iter().copied().eq(text.iter().copied()));
    assert!(bob_twin.iter().copied().eq(text.iter().copied()));
    assert_eq!(alice.pending() + bob.pending(), 0);
    // Repair between a compacted and an uncompacted replica changes no document.
    let mut repaired = bob_twin.clone();
    repaired.join(&alice.delta_since(&bob_twin.version()));
    assert!(repaired.iter().copied().eq(text.iter().copied()));
}

/// How `word` is typed, one element per insert: `Forwards` each after the previous,
/// `Backwards` each before the previous (at an unmoving position), `Mixed` alternately at the
/// right and the left end of what was typed so far.
#[derive(Clone, Copy, Debug)]
enum Typing {
    Forwards,
    Backwards,
    Mixed,
}

/// Types `word` into `rga` at `at` as `replica`, one element per insert (ending with `word` at
/// `at..`), optionally deleting a stray letter typed after the `k`-th one (a typo
/// backspaced). Returns the deltas.
fn type_word(
    rga: &mut Rga<char>,
    replica: ReplicaId,
    at: u64,
    word: &str,
    typing: Typing,
    typo_after: Option<usize>,
) -> Vec<Rga<char>> {
    let letters: Vec<char> = word.chars().collect();
    // The order in which letters are typed, and where each goes relative to those typed.
    let mut order: Vec<(usize, bool)> = Vec::new(); // (letter index, at the right end)
    match typing {
        Typing::Forwards => order.extend((0..letters.len()).map(|i| (i, true))),
        Typing::Backwards => order.extend((0..letters.len()).rev().map(|i| (i, false))),
        Typing::Mixed => {
            // Start in the middle, then grow right, left, right, ...
            let middle = letters.len() / 2;
            let (mut low, mut high) = (middle, middle);
            order.push((middle, true));
            while low > 0 || high + 1 < letters.len() {
                if high + 1 < letters.len() {
                    high += 1;
                    order.push((high, true));
                }
                if low > 0 {
                    low -= 1;
                    order.push((low, false));
                }
            }
        }
    }
    let mut deltas = Vec::new();
    for (step, (letter, right_end)) in order.into_iter().enumerate() {
        // Each letter typed so far sits before the right end.
        let pos = if right_end { at + step as u64 } else { at };
        deltas.push(rga.insert(replica, pos, [letters[letter]]).unwrap());
        if typo_after == Some(step) {
            let pos = if right_end { pos + 1 } else { pos };
            deltas.push(rga.insert(replica, pos, ['#']).unwrap());
            deltas.push(rga.delete(replica, pos, 1).unwrap());
        }
    }
    deltas
}

/// Replicas each type a word at `at` of a shared `base`, concurrently; every replica then
/// receives every other's deltas. Returns the converged text (checking that it converged).
fn concurrently(base: &str, at: u64, words: &[(ReplicaId, &str, Typing, Option<usize>)]) -> String {
    let mut shared = Rga::new();
    if !base.is_empty() {
        shared
            .insert(ReplicaId::from_u128(0xba5e), 0, base.chars())
            .unwrap();
    }
    let mut replicas: Vec<Rga<char>> = Vec::new();
    let mut deltas: Vec<Vec<Rga<char>>> = Vec::new();
    for &(replica, word, typing, typo) in words {
        let mut rga = shared.clone();
        deltas.push(type_word(&mut rga, replica, at, word, typing, typo));
        replicas.push(rga);
    }
    for (index, rga) in replicas.iter_mut().enumerate() {
        // Deltas of the others, in reverse order for odd replicas (they buffer what comes early).
        for (other, sent) in deltas.iter().enumerate() {
            if other == index {
                continue;
            }
            if index % 2 == 1 {
                sent.iter().rev().for_each(|delta| rga.join(delta));
            } else {
                sent.iter().for_each(|delta| rga.join(delta));
            }
        }
        assert_eq!(rga.pending(), 0);
    }
    for rga in &replicas[1..] {
        assert_eq!(rga, &replicas[0]);
    }
    replicas[0].iter().collect()
}

/// Two replicas type at position 0 of an empty text. Returns the converged text.
fn typed_concurrently(first: (&str, Typing), second: (&str, Typing)) -> String {
    concurrently(
        "",
        0,
        &[
            (ALICE, first.0, first.1, None),
            (BOB, second.0, second.1, None),
        ],
    )
}

use Typing::{Backwards, Forwards, Mixed};

/// The words in `text`, each whole, in some order, and nothing else.
fn is_a_concatenation_of(text: &str, words: &[&str]) -> bool {
    fn permutations<'a>(words: &[&'a str]) -> Vec<Vec<&'a str>> {
        if words.is_empty() {
            return vec![Vec::new()];
        }
        let mut all = Vec::new();
        for index in 0..words.len() {
            let mut rest = words.to_vec();
            let first = rest.remove(index);
            for mut tail in permutations(&rest) {
                tail.insert(0, first);
                all.push(tail);
            }
        }
        all
    }
    permutations(words)
        .iter()
        .any(|order| order.concat() == text)
}

#[test]
fn runs_typed_backwards_at_one_place_do_not_interleave() {
    // Alice types "abc" backwards (c, b, a at 0), Bob "xyz" backwards (z, y, x at 0): RGA gave
    // `xaybzc`. FugueMax keeps each word whole; the first letters typed have the same origins,
    // so the smaller replica id (Alice) goes first.
    assert_eq!(
        typed_concurrently(("abc", Backwards), ("xyz", Backwards)),
        "abcxyz"
    );
    assert_eq!(
        typed_concurrently(("xyz", Backwards), ("abc", Backwards)),
        "xyzabc"
    );
}

#[test]
fn a_run_typed_forwards_and_one_typed_backwards_do_not_interleave() {
    // RGA gave `xyabcz` for Alice's backward "xyz" against Bob's forward "abc".
    assert_eq!(
        typed_concurrently(("xyz", Backwards), ("abc", Forwards)),
        "xyzabc"
    );
    assert_eq!(
        typed_concurrently(("abc", Forwards), ("xyz", Backwards)),
        "abcxyz"
    );
}

#[test]
fn runs_typed_forwards_do_not_interleave() {
    assert_eq!(
        typed_concurrently(("abc", Forwards), ("xyz", Forwards)),
        "abcxyz"
    );
    assert_eq!(
        typed_concurrently(("xyz", Forwards), ("abc", Forwards)),
        "xyzabc"
    );
}

#[test]
fn runs_typed_from_the_middle_outwards_do_not_interleave() {
    let text = typed_concurrently(("abcde", Mixed), ("vwxyz", Backwards));
    assert_eq!(text, "abcdevwxyz");
    let text = typed_concurrently(("abcde", Mixed), ("vwxyz", Mixed));
    assert_eq!(text, "abcdevwxyz");
}

#[test]
fn three_replicas_typing_at_one_place_do_not_interleave() {
    let carol = ReplicaId::from_u128(0xc);
    for typings in [
        [Forwards, Backwards, Mixed],
        [Backwards, Backwards, Backwards],
        [Mixed, Forwards, Backwards],
        [Forwards, Forwards, Forwards],
    ] {
        let words = [
            (BOB, "bobby", typings[0], None),
            (carol, "carol", typings[1], None),
            (ALICE, "alice", typings[2], None),
        ];
        let text = concurrently("", 0, &words);
        assert!(
            is_a_concatenation_of(&text, &["alice", "bobby", "carol"]),
            "{typings:?}: {text}"
        );
    }
}

#[test]
fn runs_typed_in_the_middle_of_text_do_not_interleave() {
    for (first, second) in [
        (Backwards, Backwards),
        (Forwards, Backwards),
        (Backwards, Forwards),
        (Mixed, Backwards),
        (Forwards, Forwards),
    ] {
        let words = [(ALICE, "abc", first, None), (BOB, "xyz", second, None)];
        let text = concurrently("hello world", 5, &words);
        assert!(
            text == "helloabcxyz world" || text == "helloxyzabc world",
            "{first:?} {second:?}: {text}"
        );
    }
}

#[test]
fn runs_with_deletes_mixed_in_do_not_interleave() {
    // Each typist mistypes a letter and backspaces it mid-word; both also work at a place
    // where text was deleted before they started.
    for (first, second) in [
        (Backwards, Backwards),
        (Forwards, Backwards),
        (Mixed, Forwards),
    ] {
        let mut shared = Rga::new();
        shared.insert(ALICE, 0, "one two three".chars()).unwrap();
        shared.delete(ALICE, 3, 4).unwrap(); // "one three"
        let (mut alice, mut bob) = (shared.clone(), shared.clone());
        let from_alice = type_word(&mut alice, ALICE, 3, "abcd", first, Some(1));
        let from_bob = type_word(&mut bob, BOB, 3, "wxyz", second, Some(2));
        from_bob.iter().for_each(|delta| alice.join(delta));
        from_alice.iter().rev().for_each(|delta| bob.join(delta));
        assert_eq!(alice, bob);
        let text: String = alice.iter().collect();
        assert!(
            text == "oneabcdwxyz three" || text == "onewxyzabcd three",
            "{first:?} {second:?}: {text}"
        );
    }
}

#[test]
fn a_concurrent_insert_inside_a_run_lands_where_it_was_typed() {
    // Fugue does not stop a replica that saw part of a run from typing inside it.
    let mut alice = Rga::new();
    alice.insert(ALICE, 0, "[]".chars()).unwrap();
    let mut bob = alice.clone();
    let a = alice.insert(ALICE, 1, ['a']).unwrap();
    bob.join(&a);
    let b = alice.insert(ALICE, 2, ['b']).unwrap();
    let x = bob.insert(BOB, 2, ['x']).unwrap(); // after `a`, not having seen `b`
    alice.join(&x);
    bob.join(&b);
    assert_eq!(alice, bob);
    // `b` and `x` were both typed right after `a`, before `]`: the smaller id goes first.
    assert_eq!(alice.iter().collect::<String>(), "[abx]");
}
