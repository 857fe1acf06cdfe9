//! The binary encoding of [`Rga`] (and of `Text`, which writes each run's values as one string).
//!
//! `(replicas, context, runs, deletes)`: `replicas` lists every replica named (sorted) and the
//! rest names replicas by index in it. Element runs come in id order, delete runs in dot order,
//! both maximal, and every number is written relative to what precedes it (the gap since the
//! previous run of the same replica, an origin of the same replica as a distance back), so
//! that typical values take one byte. Equal sequences encode identically; the document order
//! is not written, since it follows from the elements and their origins.

use alloc::vec::Vec;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};

use super::Rga;
use crate::causal::causal_context::CausalContext;
use crate::causal::dot::Dot;
use crate::causal::replica_id::ReplicaId;
use crate::codec::decode_error::DecodeError;
use crate::codec::raw::FromRaw;
use crate::seq::delete_log::DeleteRun;
use crate::seq::span::{ElementId, Span};

/// The format version of `Rga` and `Text` payloads: 2 since FugueMax (left and right origins,
/// no Lamport timestamps).
pub(crate) const FORMAT_VERSION: u8 = 2;

/// The versions of `Rga` and `Text` payloads no longer read, and why.
pub(crate) const RETIRED_VERSIONS: &[(u8, &str)] = &[(
    1,
    "version 1 ordered concurrent inserts by RGA's rule (Lamport timestamps), which interleaves \
     text typed backwards; version 2 orders them by FugueMax, which needs each element's right \
     origin, and version 1 did not record it (no version 1 document was ever deployed)",
)];

/// The element a run was inserted after (its left origin).
#[derive(Serialize, Deserialize)]
pub enum RawOrigin {
    /// The start of the sequence.
    Start,
    /// The element of the same replica this many counters before the run.
    Back(u64),
    /// An element of another replica (or of the same replica, not before the run):
    /// `(replica index, counter)`.
    Other(u32, u64),
}

/// The element a run was inserted before (its right origin).
#[derive(Serialize, Deserialize)]
pub enum RawRightOrigin {
    /// The end of the sequence.
    End,
    /// The element of the same replica this many counters before the run.
    Back(u64),
    /// An element of another replica (or of the same replica, not before the run):
    /// `(replica index, counter)`.
    Other(u32, u64),
}

/// The elements of a run: their values, or their number if deleted.
#[derive(Serialize, Deserialize)]
pub enum RawBody<C> {
    Live(C),
    Deleted(u64),
}

/// An element run: `(replica index step, counter gap, left origin, right origin, body)`.
pub type RawRun<C> = (u32, u64, RawOrigin, RawRightOrigin, RawBody<C>);

/// Whose elements a delete run deleted.
#[derive(Serialize, Deserialize)]
pub enum RawTarget {
    /// The deleting replica's own, starting this many counters from the run's first dot.
    Own(i64),
    /// Another replica's: `(replica index, first counter)`.
    Other(u32, u64),
}

/// What a delete run deleted from its target.
#[derive(Serialize, Deserialize)]
pub enum RawShape {
    /// One operation deleting this many elements.
    Range(u64),
    /// This many operations deleting one element each, ascending.
    Forward(u64),
    /// This many operations deleting one element each, descending.
    Backward(u64),
}

/// A delete run: `(replica index step, counter gap, target, shape)`.
pub type RawDelete = (u32, u64, RawTarget, RawShape);

/// The whole encoding, with run values of type `C`.
pub type RawRga<C> = (
    Vec<ReplicaId>,
    <CausalContext as FromRaw>::Raw,
    Vec<RawRun<C>>,
    Vec<RawDelete>,
);

/// How the values of a live run are written.
pub(crate) trait RunValues<T> {
    /// The written form of one run's values.
    type Written<'a>: Serialize
    where
        T: 'a;

    /// The written form of `values`.
    fn write<'a>(values: Vec<&'a T>) -> Self::Written<'a>;
}

/// Values written as a sequence of values.
pub(crate) struct AsSequence;

impl<T: Serialize> RunValues<T> for AsSequence {
    type Written<'a>
        = Vec<&'a T>
    where
        T: 'a;

    fn write(values: Vec<&T>) -> Vec<&T> {
        values
    }
}

/// Characters written as one UTF-8 string.
pub(crate) struct AsString;

impl RunValues<char> for AsString {
    type Written<'a> = alloc::string::String;

    fn write(values: Vec<&char>) -> alloc::string::String {
        values.into_iter().collect()
    }
}

/// A run being encoded: `(first id, left origin, right origin, length, values if live)`.
type Piece<V> = (Dot, Option<Dot>, Option<Dot>, u64, Option<V>);

/// How an origin of a run starting at `id` is written: `None` if it is the start or end,
/// `Ok(n)` for the same replica's element `n` back, `Err((index, counter))` otherwise.
fn written_origin(
    id: Dot,
    origin: Option<Dot>,
    index: impl Fn(&ReplicaId) -> u32,
) -> Option<Result<u64, (u32, u64)>> {
    origin.map(|origin| {
        if origin.replica == id.replica && origin.counter < id.counter {
            Ok(id.counter - origin.counter)
        } else {
            Err((index(&origin.replica), origin.counter))
        }
    })
}

/// Reads an origin of a run starting at `id`, written as [`written_origin`] says.
fn read_origin(
    id: Dot,
    written: Option<Result<u64, (u32, u64)>>,
    replica_at: impl Fn(u32) -> Result<ReplicaId, DecodeError>,
) -> Result<Option<Dot>, DecodeError> {
    let in_range = |counter: u64| {
        if counter == 0 || counter > Dot::MAX_COUNTER {
            Err(DecodeError::invalid(
                "sequence counter zero or out of range",
            ))
        } else {
            Ok(counter)
        }
    };
    match written {
        None => Ok(None),
        // Zero back is the run's own first element, which the encoder writes as `Other`:
        // accepting both would give one value two encodings.
        Some(Ok(0)) => Err(DecodeError::invalid(
            "element origin written as a distance of zero",
        )),
        Some(Ok(distance)) => Ok(Some(Dot::new(
            id.replica,
            in_range(id.counter.saturating_sub(distance))?,
        ))),
        Some(Err((index, counter))) => {
            let origin = Dot::new(replica_at(index)?, in_range(counter)?);
            if origin.replica == id.replica && origin.counter < id.counter {
                return Err(DecodeError::invalid(
                    "element origin not written as a distance back",
                ));
            }
            Ok(Some(origin))
        }
    }
}

/// Steps along runs sorted by `(replica index, counter)`, turning positions into the
/// relative numbers written, and back.
#[derive(Default)]
struct Walk {
    replica: u32,
    /// The last counter of the previous run of `replica` (0 before its first).
    end: u64,
}

impl Walk {
    fn encode(&mut self, replica: u32, first: u64, last: u64) -> (u32, u64) {
        let step = replica - self.replica;
        if step > 0 {
            (self.replica, self.end) = (replica, 0);
        }
        let gap = first - self.end - 1;
        self.end = last;
        (step, gap)
    }

    fn decode(&mut self, step: u32, gap: u64, length: u64) -> Result<(u32, u64), DecodeError> {
        let out_of_range = DecodeError::invalid("sequence counter zero or out of range");
        if step > 0 {
            self.replica = self.replica.checked_add(step).ok_or(out_of_range.clone())?;
            self.end = 0;
        }
        let first = self
            .end
            .checked_add(gap)
            .and_then(|counter| counter.checked_add(1))
            .filter(|&first| {
                (1..=Dot::MAX_COUNTER).contains(&length) && first <= Dot::MAX_COUNTER - length
            })
            .ok_or(out_of_range)?;
        self.end = first + length - 1;
        Ok((self.replica, first))
    }
}

impl<T: Clone> Rga<T> {
    /// Serializes the sequence, each live run's values written as `W` says.
    pub(crate) fn encode_with<W: RunValues<T>, S: Serializer>(
        &self,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let table = self.named_replicas();
        let index = |replica: &ReplicaId| -> u32 {
            table
                .binary_search(replica)
                .ok()
                .and_then(|index| u32::try_from(index).ok())
                .unwrap_or(u32::MAX)
        };
        // Every piece of every span, by id, then merged into maximal runs.
        let mut pieces: Vec<Piece<&[T]>> = self
            .pieces()
            .map(|(span, from, to, deleted)| {
                let offset = from - span.id.counter;
                let values = (!deleted)
                    .then(|| {
                        span.content
                            .get(offset as usize..=(to - span.id.counter) as usize)
                    })
                    .flatten();
                (
                    self.dot_of(span.id.plus(offset)),
                    span.left_of(offset).map(|origin| self.dot_of(origin)),
                    span.right().map(|origin| self.dot_of(origin)),
                    to - from + 1,
                    values,
                )
            })
            .collect();
        pieces.sort_unstable_by_key(|piece| piece.0);
        let mut merged: Vec<Piece<Vec<&T>>> = Vec::new();
        for (id, left, right, length, values) in pieces {
            if let Some(last) = merged.last_mut() {
                let end = Dot::new(last.0.replica, last.0.counter + last.3 - 1);
                if id == Dot::new(end.replica, end.counter + 1)
                    && left == Some(end)
                    && right == last.2
                    && values.is_some() == last.4.is_some()
                {
                    last.3 += length;
                    if let (Some(all), Some(more)) = (&mut last.4, values) {
                        all.extend(more);
                    }
                    continue;
                }
            }
            merged.push((
                id,
                left,
                right,
                length,
                values.map(|values| values.iter().collect()),
            ));
        }
        let mut walk = Walk::default();
        let runs: Vec<RawRun<W::Written<'_>>> = merged
            .into_iter()
            .map(|(id, left, right, length, values)| {
                let replica = index(&id.replica);
                let (step, gap) = walk.encode(replica, id.counter, id.counter + length - 1);
                let left = match written_origin(id, left, index) {
                    None => RawOrigin::Start,
                    Some(Ok(distance)) => RawOrigin::Back(distance),
                    Some(Err((replica, counter))) => RawOrigin::Other(replica, counter),
                };
                let right = match written_origin(id, right, index) {
                    None => RawRightOrigin::End,
                    Some(Ok(distance)) => RawRightOrigin::Back(distance),
                    Some(Err((replica, counter))) => RawRightOrigin::Other(replica, counter),
                };
                let body = match values {
                    Some(values) => RawBody::Live(W::write(values)),
                    None => RawBody::Deleted(length),
                };
                (step, gap, left, right, body)
            })
            .collect();
        let mut walk = Walk::default();
        let deletes: Vec<RawDelete> = self
            .deletes
            .iter()
            .map(|(key, run)| {
                let replica = index(&key.replica);
                let (step, gap) = walk.encode(replica, key.counter, key.counter + run.ops - 1);
                let target = if run.target.replica == key.replica {
                    RawTarget::Own(run.target.counter as i64 - key.counter as i64)
                } else {
                    RawTarget::Other(index(&run.target.replica), run.target.counter)
                };
                let shape = match (run.ops, run.backward) {
                    (1, _) => RawShape::Range(run.len),
                    (ops, false) => RawShape::Forward(ops),
                    (ops, true) => RawShape::Backward(ops),
                };
                (step, gap, target, shape)
            })
            .collect();
        (&table, &self.context, runs, deletes).serialize(serializer)
    }

    /// Decodes a sequence, each live run's values read with `values`, checking that the
    /// encoding is valid and canonical.
    pub(crate) fn decode_with<C>(
        (table, context, runs, deletes): RawRga<C>,
        values: impl Fn(C) -> Vec<T>,
    ) -> Result<Self, DecodeError> {
        let context = CausalContext::from_raw(context)?;
        if !table.windows(2).all(|pair| pair[0] < pair[1]) {
            return Err(DecodeError::invalid("sequence replica table not sorted"));
        }
        let replica_at = |index: u32| -> Result<ReplicaId, DecodeError> {
            usize::try_from(index)
                .ok()
                .and_then(|index| table.get(index).copied())
                .ok_or(DecodeError::invalid(
                    "sequence names a replica missing from its table",
                ))
        };
        let mut rga = Self::default();
        let mut events: u128 = 0;
        let mut live_values: u128 = 0;
        let mut walk = Walk::default();
        let mut previous: Option<(Dot, Option<Dot>, u64, bool)> = None;
        for (step, gap, left, right, body) in runs {
            let (content, length) = match body {
                RawBody::Live(encoded) => {
                    let content = values(encoded);
                    let length = content.len() as u64;
                    (Some(content), length)
                }
                RawBody::Deleted(length) => (None, length),
            };
            let (replica, counter) = walk.decode(step, gap, length)?;
            let id = Dot::new(replica_at(replica)?, counter);
            let left = match left {
                RawOrigin::Start => None,
                RawOrigin::Back(distance) => Some(Ok(distance)),
                RawOrigin::Other(index, counter) => Some(Err((index, counter))),
            };
            let left = read_origin(id, left, replica_at)?;
            let right = match right {
                RawRightOrigin::End => None,
                RawRightOrigin::Back(distance) => Some(Ok(distance)),
                RawRightOrigin::Other(index, counter) => Some(Err((index, counter))),
            };
            let right = read_origin(id, right, replica_at)?;
            let deleted = content.is_none();
            if let Some((last_id, last_right, last_length, last_deleted)) = previous {
                let end = Dot::new(last_id.replica, last_id.counter + last_length - 1);
                if id == Dot::new(end.replica, end.counter + 1)
                    && left == Some(end)
                    && right == last_right
                    && deleted == last_deleted
                {
                    return Err(DecodeError::invalid("element runs not maximal"));
                }
            }
            previous = Some((id, right, length, deleted));
            events += u128::from(length);
            let agent = rga.agent(id.replica);
            let element = ElementId::new(agent, id.counter);
            let left = left.map(|origin| ElementId::new(rga.agent(origin.replica), origin.counter));
            let right =
                right.map(|origin| ElementId::new(rga.agent(origin.replica), origin.counter));
            let span = match content {
                Some(content) => {
                    live_values += u128::from(length);
                    Span::new(element, left, right, content)
                }
                None => Span::tombstone(element, left, right, length),
            };
            rga.context
                .insert_range(id.replica, id.counter, id.counter + length - 1);
            rga.integrate(span);
        }
        let mut walk = Walk::default();
        let mut runs = 0;
        for (step, gap, target, shape) in deletes {
            let (ops, len, backward) = match shape {
                RawShape::Range(len) if len >= 1 => (1, len, false),
                RawShape::Forward(ops) if ops >= 2 => (ops, 1, false),
                RawShape::Backward(ops) if ops >= 2 => (ops, 1, true),
                _ => return Err(DecodeError::invalid("delete run shape malformed")),
            };
            let (replica, counter) = walk.decode(step, gap, ops)?;
            let key = Dot::new(replica_at(replica)?, counter);
            let target = match target {
                RawTarget::Own(offset) => {
                    let counter = i128::from(counter) + i128::from(offset);
                    let counter = u64::try_from(counter)
                        .map_err(|_| DecodeError::invalid("delete target out of range"))?;
                    Dot::new(key.replica, counter)
                }
                RawTarget::Other(index, counter) => {
                    let target = Dot::new(replica_at(index)?, counter);
                    if target.replica == key.replica {
                        return Err(DecodeError::invalid(
                            "delete target not written relative to its run",
                        ));
                    }
                    target
                }
            };
            let reach = ops.max(len);
            let valid = target.counter >= 1
                && reach <= Dot::MAX_COUNTER
                && target.counter <= Dot::MAX_COUNTER - reach
                && (!backward || target.counter >= ops);
            if !valid {
                return Err(DecodeError::invalid("delete target out of range"));
            }
            rga.add_delete(
                key,
                DeleteRun {
                    ops,
                    target,
                    len,
                    backward,
                },
            );
            runs += 1;
            events += u128::from(ops);
        }
        if rga.deletes.len() != runs {
            return Err(DecodeError::invalid("delete runs not maximal"));
        }
        let live: u128 = rga
            .pieces()
            .filter(|&(_, _, _, deleted)| !deleted)
            .map(|(_, from, to, _)| u128::from(to - from + 1))
            .sum();
        if live != live_values {
            return Err(DecodeError::invalid("values kept for deleted elements"));
        }
        // A dot names one event: an element and a delete operation sharing one would each be
        // dropped by joins that hold the other, and replicas would diverge.
        if rga.context.dot_count() != events {
            return Err(DecodeError::invalid("sequence events share an id"));
        }
        // A compacted sequence has seen more events than it holds; never fewer.
        if !context.includes(&rga.context) {
            return Err(DecodeError::invalid(
                "sequence context misses events it holds",
            ));
        }
        rga.context = context;
        // Checked on the whole context: a compacted one may name replicas no event held here
        // names, and the encoder lists those too.
        if rga.named_replicas() != table {
            return Err(DecodeError::invalid(
                "sequence replica table does not list exactly the replicas named",
            ));
        }
        Ok(rga)
    }
}

impl<T: Clone + Serialize> Serialize for Rga<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.encode_with::<AsSequence, S>(serializer)
    }
}

impl<T: Clone + DeserializeOwned> FromRaw for Rga<T> {
    type Raw = RawRga<Vec<T>>;

    fn from_raw(raw: Self::Raw) -> Result<Self, DecodeError> {
        Self::decode_with(raw, |values| values)
    }
}

impl<'de, T: Clone + DeserializeOwned> Deserialize<'de> for Rga<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::codec::raw::deserialize_via_raw(deserializer)
    }
}

impl<T: Clone + Serialize + DeserializeOwned> crate::codec::Codec for Rga<T> {
    const TYPE_TAG: u8 = crate::codec::type_tag::RGA;
    const FORMAT_VERSION: u8 = FORMAT_VERSION;
    const RETIRED_VERSIONS: &'static [(u8, &'static str)] = RETIRED_VERSIONS;
}
