//! Merge laws of the sequences: [`Rga<u8>`](Rga) and [`Text`] (the first input byte picks
//! one), through the [`laws`](crate::laws) harness, with at most 32 edits per script (a
//! sequence join costs more than a counter's). Deliveries out of order leave inserts and
//! deletes waiting for the elements they name; once every delta has arrived nothing may still
//! wait.
//!
//! Each edit must mean what it says locally: an insert of `k` items at `pos` grows the sequence
//! by `k` with exactly those items at `pos..pos + k`, a delete of `k` shrinks it by `k` and
//! leaves the elements around it in place. Text inserts mix one- to four-byte UTF-8 characters,
//! so its runs' string encoding is exercised.

use arbitrary::Unstructured;
use crdt_core::{Rga, Text};

use crate::laws::{Replica, Subject, byte, check_laws};

/// The fuzz target: a law script for one of the two sequences.
pub fn rga(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if byte(&mut u).is_multiple_of(2) {
        check_laws::<Rga<u8>>(&mut u);
    } else {
        check_laws::<Text>(&mut u);
    }
}

/// An edit of a sequence of `T`; positions are reduced into range when applied.
#[derive(Debug)]
pub enum SeqOp<T> {
    /// Insert the items before the element at `pos` (at the end if `pos` is the length).
    Insert {
        /// Where.
        pos: u8,
        /// What (one to four items).
        items: Vec<T>,
    },
    /// Delete `len` elements from `pos` (fewer if the sequence ends first).
    Delete {
        /// Where.
        pos: u8,
        /// How many (one to three).
        len: u8,
    },
}

/// Characters of one to four UTF-8 bytes.
const ALPHABET: [char; 6] = ['a', 'b', '\n', 'é', '字', '🦀'];

fn seq_op<T>(u: &mut Unstructured<'_>, item: impl Fn(u8) -> T) -> SeqOp<T> {
    let tag = byte(u);
    let pos = byte(u);
    if tag.is_multiple_of(3) {
        SeqOp::Delete {
            pos,
            len: 1 + tag / 3 % 3,
        }
    } else {
        let count = 1 + usize::from(tag / 3 % 4);
        SeqOp::Insert {
            pos,
            items: (0..count).map(|_| item(byte(u))).collect(),
        }
    }
}

/// Applies `op` to a sequence whose visible elements are `before`, through `insert` and
/// `delete`, and checks the result against the same edit on a vector.
fn edit<S, T: Clone + PartialEq + std::fmt::Debug>(
    seq: &mut S,
    op: &SeqOp<T>,
    contents: impl Fn(&S) -> Vec<T>,
    insert: impl FnOnce(&mut S, u64, &[T]) -> S,
    delete: impl FnOnce(&mut S, u64, u64) -> S,
) -> S
where
    S: Default,
{
    let mut model = contents(seq);
    let len = model.len();
    let delta = match op {
        SeqOp::Insert { pos, items } => {
            let pos = usize::from(*pos) % (len + 1);
            model.splice(pos..pos, items.iter().cloned());
            insert(seq, pos as u64, items)
        }
        SeqOp::Delete { pos, len: count } => {
            if len == 0 {
                return S::default();
            }
            let pos = usize::from(*pos) % len;
            let count = usize::from(*count).min(len - pos);
            model.drain(pos..pos + count);
            delete(seq, pos as u64, count as u64)
        }
    };
    assert_eq!(contents(seq), model, "{op:?} on a sequence of {len}");
    delta
}

impl Subject for Rga<u8> {
    type Op = SeqOp<u8>;
    const MAX_MUTATIONS: usize = 32;

    fn op(u: &mut Unstructured<'_>) -> SeqOp<u8> {
        seq_op(u, |b| b % 6)
    }

    fn apply(&mut self, replica: &mut Replica, op: &SeqOp<u8>) -> Self {
        let delta = edit(
            self,
            op,
            |seq| seq.iter().copied().collect(),
            |seq, pos, items| {
                seq.insert(replica.id, pos, items.iter().copied())
                    .expect("the position is in range")
            },
            |seq, pos, count| {
                seq.delete(replica.id, pos, count)
                    .expect("the range is in the sequence")
            },
        );
        assert_eq!(self.iter().count() as u64, self.len());
        delta
    }

    fn check_settled(&self) {
        assert_eq!(
            self.pending(),
            0,
            "inserts still wait after every delta: {self:?}"
        );
    }
}

impl Subject for Text {
    type Op = SeqOp<char>;
    const MAX_MUTATIONS: usize = 32;

    fn op(u: &mut Unstructured<'_>) -> SeqOp<char> {
        seq_op(u, |b| ALPHABET[usize::from(b) % ALPHABET.len()])
    }

    fn apply(&mut self, replica: &mut Replica, op: &SeqOp<char>) -> Self {
        let delta = edit(
            self,
            op,
            |text| text.chars().collect(),
            |text, pos, items| {
                let items: String = items.iter().collect();
                text.insert(replica.id, pos, &items)
                    .expect("the position is in range")
            },
            |text, pos, count| {
                text.delete(replica.id, pos, count)
                    .expect("the range is in the text")
            },
        );
        assert_eq!(self.to_string().chars().count() as u64, self.len());
        delta
    }

    fn check_settled(&self) {
        assert_eq!(
            self.as_rga().pending(),
            0,
            "inserts still wait after every delta: {self:?}"
        );
    }
}
