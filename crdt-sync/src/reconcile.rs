//! One step of Merkle anti-entropy: answer a peer's ranges and objects from a [`Collection`].
//!
//! The id space is cut into ranges by byte-string bounds. For each range the peer sent a
//! fingerprint of, this side compares its own: equal ranges are settled; a differing range is
//! split into [`Shape::fanout`] ranges of equal size on this side, each with its fingerprint,
//! or, once it holds at most [`Shape::leaf_size`] objects, listed as ids with item hashes. For a
//! listed range, objects on one side only are sent whole, and for objects on both sides with
//! different hashes the two sides exchange versions (causal contexts) so that each sends only the
//! delta the other lacks. Because fingerprints are sums of item hashes in a [`MerkleIndex`], a
//! range's fingerprint costs O(log n) and nothing is rebuilt.
//!
//! [`MerkleIndex`]: crate::merkle_index::MerkleIndex

use std::collections::BTreeMap;

use crdt_core::ReplicaId;

use crate::collection::Collection;
use crate::message::{Bound, ObjectItem, Range, RangeKind, Want, wire_fingerprint, wire_item_hash};
use crate::object::{Object, ObjectVersion};
use crate::object_id::ObjectId;
use crate::sync_error::SyncError;

/// How ranges are split.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Shape {
    /// How many ranges a differing range is split into.
    pub fanout: usize,
    /// The largest range listed as ids rather than split.
    pub leaf_size: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            fanout: 16,
            leaf_size: 16,
        }
    }
}

/// What to send back.
#[derive(Debug, Default)]
pub struct Answer {
    /// Ranges for the peer to look at (empty if every range is settled).
    pub ranges: Vec<Range>,
    /// Objects for the peer.
    pub objects: Vec<ObjectItem>,
}

impl Answer {
    /// Whether the peer must answer it: it holds a fingerprint, an id list or a request.
    pub fn needs_reply(&self) -> bool {
        self.ranges
            .iter()
            .any(|range| range.kind != RangeKind::Skip)
            || self.objects.iter().any(|item| item.want.is_some())
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.objects.is_empty()
    }
}

/// The opening of a round: one fingerprint over every id.
pub fn root(collection: &mut Collection) -> Vec<Range> {
    vec![Range {
        upper: Bound::End,
        kind: RangeKind::Fingerprint(collection.index().sum()),
    }]
}

/// Answers the peer's ranges and objects. `peer_may_write` says whether the peer's changes are
/// accepted: objects carrying deltas from a peer that may not write are refused, and nothing is
/// asked of such a peer. A refused message changes nothing: every delta and want is checked
/// before any delta is joined.
pub fn answer(
    collection: &mut Collection,
    peer: ReplicaId,
    peer_may_write: bool,
    ranges: &[Range],
    objects: Vec<ObjectItem>,
    shape: Shape,
) -> Result<Answer, AnswerError> {
    let mut answer = Answer::default();
    let deltas = checked_deltas(collection, peer_may_write, &objects)?;
    for (id, delta) in &deltas {
        collection
            .apply_remote(id, delta, peer)
            .map_err(|error| AnswerError::BadUpdate(id.clone(), error))?;
    }
    for item in objects {
        answer_want(collection, peer_may_write, item, &mut answer)?;
    }
    let mut lower: Vec<u8> = Vec::new();
    for range in ranges {
        match &range.kind {
            RangeKind::Skip => push_range(&mut answer.ranges, range.upper.clone(), RangeKind::Skip),
            RangeKind::Fingerprint(theirs) => split_if_different(
                collection,
                &lower,
                &range.upper,
                *theirs,
                shape,
                &mut answer,
            ),
            RangeKind::Ids(theirs) => {
                compare_ids(
                    collection,
                    &lower,
                    &range.upper,
                    theirs,
                    peer_may_write,
                    &mut answer,
                );
                push_range(&mut answer.ranges, range.upper.clone(), RangeKind::Skip);
            }
        }
        if let Bound::Key(key) = &range.upper {
            lower.clone_from(key);
        }
    }
    while answer
        .ranges
        .last()
        .is_some_and(|range| range.kind == RangeKind::Skip)
    {
        answer.ranges.pop();
    }
    Ok(answer)
}

/// Why an answer could not be made.
#[derive(Debug)]
pub enum AnswerError {
    /// The peer sent a change it may not make.
    ReadOnly,
    /// The peer's change does not apply.
    BadUpdate(ObjectId, SyncError),
}

/// The deltas of a message, one per object (the join of all it carries for that object, by
/// id), once all of them fit the collection and every want names a version of its object's
/// type: what the message changes, decided before any of it is joined.
fn checked_deltas(
    collection: &Collection,
    peer_may_write: bool,
    objects: &[ObjectItem],
) -> Result<Vec<(ObjectId, Object)>, AnswerError> {
    let mut joined: BTreeMap<&ObjectId, Object> = BTreeMap::new();
    for item in objects {
        let Some(delta) = &item.delta else { continue };
        if !peer_may_write {
            return Err(AnswerError::ReadOnly);
        }
        match joined.get_mut(&item.id) {
            Some(object) => {
                object
                    .join(delta)
                    .map_err(|error| AnswerError::BadUpdate(item.id.clone(), error))?;
            }
            None => {
                joined.insert(&item.id, delta.clone());
            }
        }
    }
    let deltas: Vec<(ObjectId, Object)> = joined
        .into_iter()
        .map(|(id, delta)| (id.clone(), delta))
        .collect();
    for delta in &deltas {
        collection
            .check_remote(core::slice::from_ref(delta))
            .map_err(|error| AnswerError::BadUpdate(delta.0.clone(), error))?;
    }
    if let Err(error) = collection.check_remote(&deltas) {
        // Each fits alone, so together they make too many objects: name the last new one.
        if let Some((id, _)) = deltas
            .iter()
            .rev()
            .find(|(id, _)| collection.get(id).is_none())
        {
            return Err(AnswerError::BadUpdate(id.clone(), error));
        }
    }
    for item in objects {
        let Some(want) = &item.want else { continue };
        let held = match collection.get(&item.id) {
            Some(object) => Some(object),
            None => deltas
                .binary_search_by(|(id, _)| id.cmp(&item.id))
                .ok()
                .map(|at| &deltas[at].1),
        };
        if let Some(object) = held {
            object
                .bottom()
                .delta_since(&want.version)
                .map_err(|error| AnswerError::BadUpdate(item.id.clone(), error))?;
        }
    }
    Ok(deltas)
}

/// Answers an item's want (its delta, if any, is already joined).
fn answer_want(
    collection: &mut Collection,
    peer_may_write: bool,
    item: ObjectItem,
    answer: &mut Answer,
) -> Result<(), AnswerError> {
    let Some(want) = item.want else {
        return Ok(());
    };
    let Some(object) = collection.get(&item.id) else {
        if want.reciprocate && peer_may_write {
            answer.objects.push(ObjectItem {
                id: item.id,
                delta: None,
                want: Some(Want {
                    version: ObjectVersion::Absent,
                    reciprocate: false,
                }),
            });
        }
        return Ok(());
    };
    let mine = object.version();
    let delta = if mine.is_covered_by(&want.version) {
        None
    } else {
        Some(
            object
                .delta_since(&want.version)
                .map_err(|error| AnswerError::BadUpdate(item.id.clone(), error))?,
        )
    };
    let want =
        (want.reciprocate && peer_may_write && !want.version.is_covered_by(&mine)).then(|| Want {
            version: mine,
            reciprocate: false,
        });
    if delta.is_some() || want.is_some() {
        answer.objects.push(ObjectItem {
            id: item.id,
            delta,
            want,
        });
    }
    Ok(())
}

fn push_range(ranges: &mut Vec<Range>, upper: Bound, kind: RangeKind) {
    if kind == RangeKind::Skip
        && let Some(last) = ranges.last_mut()
        && last.kind == RangeKind::Skip
    {
        last.upper = upper;
        return;
    }
    ranges.push(Range { upper, kind });
}

fn rank_range(collection: &mut Collection, lower: &[u8], upper: &Bound) -> core::ops::Range<usize> {
    let index = collection.index();
    let start = index.rank(lower);
    let end = match upper {
        Bound::Key(key) => index.rank(key.as_slice()),
        Bound::End => index.len(),
    };
    start..end.max(start)
}

fn split_if_different(
    collection: &mut Collection,
    lower: &[u8],
    upper: &Bound,
    theirs: u128,
    shape: Shape,
    answer: &mut Answer,
) {
    let ranks = rank_range(collection, lower, upper);
    let index = collection.index();
    if wire_fingerprint(index.range_sum(ranks.clone())) == wire_fingerprint(theirs) {
        push_range(&mut answer.ranges, upper.clone(), RangeKind::Skip);
        return;
    }
    let count = ranks.len();
    if count <= shape.leaf_size.max(1) {
        let ids = index
            .iter_ranks(ranks)
            .map(|(id, hash)| (id.clone(), hash))
            .collect();
        push_range(&mut answer.ranges, upper.clone(), RangeKind::Ids(ids));
        return;
    }
    let fanout = shape.fanout.clamp(2, count);
    let mut start = ranks.start;
    for part in 1..fanout {
        let end = ranks.start + count * part / fanout;
        let (Some((before, _)), Some((first, _))) = (index.select(end - 1), index.select(end))
        else {
            continue;
        };
        let bound = shortest_bound(before.as_bytes(), first.as_bytes());
        let sum = index.range_sum(start..end);
        answer.ranges.push(Range {
            upper: Bound::Key(bound),
            kind: RangeKind::Fingerprint(sum),
        });
        start = end;
    }
    answer.ranges.push(Range {
        upper: upper.clone(),
        kind: RangeKind::Fingerprint(index.range_sum(start..ranks.end)),
    });
}

/// The shortest prefix of `next` that sorts after `before` (given `before < next`): a bound
/// that separates them and costs fewer bytes than `next` itself.
fn shortest_bound(before: &[u8], next: &[u8]) -> Vec<u8> {
    let common = before.iter().zip(next).take_while(|(a, b)| a == b).count();
    next[..(common + 1).min(next.len())].to_vec()
}

fn compare_ids(
    collection: &mut Collection,
    lower: &[u8],
    upper: &Bound,
    theirs: &[(ObjectId, u128)],
    peer_may_write: bool,
    answer: &mut Answer,
) {
    let ranks = rank_range(collection, lower, upper);
    let mine: Vec<(ObjectId, u128)> = collection
        .index()
        .iter_ranks(ranks)
        .map(|(id, hash)| (id.clone(), hash))
        .collect();
    let (mut left, mut right) = (mine.iter().peekable(), theirs.iter().peekable());
    loop {
        match (left.peek(), right.peek()) {
            (Some((my_id, my_hash)), Some((their_id, their_hash))) if my_id == their_id => {
                let (my_hash, their_hash) = (wire_item_hash(*my_hash), wire_item_hash(*their_hash));
                if my_hash != their_hash
                    && peer_may_write
                    && let Some(object) = collection.get(my_id)
                {
                    answer.objects.push(ObjectItem {
                        id: my_id.clone(),
                        delta: None,
                        want: Some(Want {
                            version: object.version(),
                            reciprocate: true,
                        }),
                    });
                }
                if my_hash != their_hash && !peer_may_write {
                    push_whole(collection, my_id, answer);
                }
                left.next();
                right.next();
            }
            (Some((my_id, _)), Some((their_id, _))) if my_id < their_id => {
                push_whole(collection, my_id, answer);
                left.next();
            }
            (Some((my_id, _)), None) => {
                push_whole(collection, my_id, answer);
                left.next();
            }
            (_, Some((their_id, _))) => {
                if peer_may_write {
                    answer.objects.push(ObjectItem {
                        id: their_id.clone(),
                        delta: None,
                        want: Some(Want {
                            version: ObjectVersion::Absent,
                            reciprocate: false,
                        }),
                    });
                }
                right.next();
            }
            (None, None) => break,
        }
    }
}

fn push_whole(collection: &Collection, id: &ObjectId, answer: &mut Answer) {
    if let Some(object) = collection.get(id) {
        answer.objects.push(ObjectItem {
            id: id.clone(),
            delta: Some(object.clone()),
            want: None,
        });
    }
}
