//! [`Rga`]: a replicated sequence (lists, and text through [`Text`](crate::seq::text::Text)),
//! ordered by FugueMax so that concurrent runs never interleave.
//!
//! ```
//! use crdt_core::{Lattice, ReplicaId, Rga};
//!
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut at_alice = Rga::new();
//! at_alice.insert(alice, 0, [1, 2]).unwrap();
//! let mut at_bob = at_alice.clone();
//!
//! // Concurrently, at the same place: Alice types 10, 11, 12 forwards, Bob types 30, 29, 28
//! // backwards (each before the previous) and deletes 2.
//! let mut deltas = Vec::new();
//! for (pos, value) in [(1, 10), (2, 11), (3, 12)] {
//!     deltas.push(at_alice.insert(alice, pos, [value]).unwrap());
//! }
//! for value in [30, 29, 28] {
//!     deltas.push(at_bob.insert(bob, 1, [value]).unwrap());
//! }
//! deltas.push(at_bob.delete(bob, 4, 1).unwrap());
//! for delta in &deltas {
//!     at_alice.join(delta);
//!     at_bob.join(delta);
//! }
//! assert_eq!(at_alice, at_bob);
//! // Neither run is split by the other.
//! assert_eq!(at_alice.iter().copied().collect::<Vec<_>>(), [1, 10, 11, 12, 28, 29, 30]);
//! ```
//!
//! Semantics: the ordering is FugueMax (Weidner and Kleppmann, "The Art of the Fugue:
//! Minimizing Interleaving in Collaborative Text Editing", 2023, arXiv:2305.00583). Every
//! inserted element gets a unique id (a dot) and remembers its two neighbours where it was
//! inserted, tombstones included: its *left origin*, the visible element before the insert
//! position (or the start), and its *right origin*, the element that followed the left origin
//! there (or the end). These define the paper's tree: an element is a right child of its left
//! origin, unless its right origin descends from its left origin, and then it is a left child
//! of its right origin. The document is the in-order walk of the tree (a node's left children,
//! the node, its right children); left siblings are ordered by id, and right siblings by their
//! right origins, the one whose right origin is further right first, then by id (FugueMax's
//! rule). Ids compare as `(replica id, counter)`, the smaller first (the paper leaves this tie
//! free).
//!
//! Guaranteed, for concurrent inserts at one place: every replica orders them alike, and
//! concurrent runs there are never interleaved, whichever direction each was typed in. A run
//! is what one replica inserted there, each element next to the ones it typed before (after
//! the last: forwards; before the first: backwards; or either, mixed) without seeing the other
//! runs: it is one subtree of the tree, so another run lands before or after it whole. `c`,
//! `b`, `a` and `z`, `y`, `x`, each typed at position 0 by two replicas, give `abcxyz` or
//! `xyzabc` (RGA, this type's rule before format version 2, gave `xaybzc`; forward `abc`
//! against backward `zyx` gave `xyabcz`); which run goes first is decided by their first
//! elements (here the same origins, so the smaller replica id). The paper proves the forward
//! and backward cases for Fugue and FugueMax, and that FugueMax is moreover maximally
//! non-interleaving (in the paper's sense). What is not prevented, by design: a
//! replica that has seen part of another's run can insert inside it, and its text goes where
//! it typed it.
//!
//! Why origins rather than the tree: the tree is implied, never stored. A run typed forwards
//! (or inserted in one call) has consecutive ids, each element's left origin the previous one
//! and one right origin for all, so it is stored as one span: the first element's left origin
//! and the run's right origin. An arriving span is placed by
//! scanning the elements between its origins and comparing their origins' positions with its
//! own, one element per span met (the list form of FugueMax's rule, as in Yjs-style
//! integration with the right origin ordering right siblings). `tests/fugue.rs` checks this
//! scan against a direct transcription of the paper's tree, on random concurrent sessions.
//! Deletes are operations with their own dots, naming the elements they delete; a deleted
//! element stays as a tombstone (its id and origins) so that inserts naming it still find
//! their place.
//!
//! What grows: one span per run of consecutive typing (not per element), the tombstones of
//! deleted runs, and one entry per run of consecutive deletes. An insert whose origins have
//! not both arrived, or a delete whose target has not (deltas delivered out of order), is
//! kept and applied when they arrive, never dropped. Positions are counted in visible
//! elements.
//!
//! A dot names one event: a join skips elements whose ids it already holds. A faulty peer that
//! sends an id again with other contents is not detected, and replicas that received the two
//! versions keep their own. Convergence rests on every element's origins having been
//! neighbours where it was inserted, as [`Rga::insert`] makes them: forged origins are
//! decoded and joined without panic, in the same order by every replica that took them in
//! the same order (a join integrates elements in id order, as the decoder does).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cmp::Ordering;

use smallvec::SmallVec;

use crate::causal::causal_context::CausalContext;
use crate::causal::causality_error::CausalityError;
use crate::causal::dot::Dot;
use crate::causal::replica_id::ReplicaId;
use crate::causal::version_vector::VersionVector;
use crate::lattice::{DeltaSince, Lattice};
use crate::seq::delete_log::{DeleteLog, DeleteRun};
use crate::seq::edit_error::EditError;
use crate::seq::position_error::PositionError;
use crate::seq::span::{ElementId, Span};
use crate::seq::span_tree::{Cursor, OrderKey, SpanTree};

mod encoding;

pub(crate) use encoding::{AsString, FORMAT_VERSION, RETIRED_VERSIONS, RawRga};

/// A replicated sequence of `T`.
#[derive(Clone, Debug)]
pub struct Rga<T> {
    /// Replica ids by the small index elements use for them (in order of first appearance).
    /// Few per document, so a linear search beats hashing.
    replicas: SmallVec<[ReplicaId; 2]>,
    /// The integrated elements, in document order.
    tree: SpanTree<T>,
    /// Elements waiting for one of their origins, each with the id it waits for, sorted by
    /// that id (usually none).
    pending: SmallVec<[(ElementId, Span<T>); 1]>,
    /// Every delete operation.
    deletes: DeleteLog,
    /// Elements named by a delete before they arrived here: deleted as they arrive. (Ids are
    /// never reused, so an entry can stay after its element arrived.)
    awaited_deletes: CausalContext,
    /// The dots of every insert and delete held.
    context: CausalContext,
}

impl<T> Default for Rga<T> {
    fn default() -> Self {
        Self {
            replicas: SmallVec::new(),
            tree: SpanTree::default(),
            pending: SmallVec::new(),
            deletes: DeleteLog::default(),
            awaited_deletes: CausalContext::new(),
            context: CausalContext::new(),
        }
    }
}

impl<T: Clone> Rga<T> {
    /// The empty sequence.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of visible elements.
    pub fn len(&self) -> u64 {
        self.tree.visible()
    }

    /// Whether no element is visible.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The visible elements, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.tree
            .iter()
            .filter(|span| !span.deleted)
            .flat_map(|span| span.content.iter())
    }

    /// The visible element at `pos`.
    pub fn get(&self, pos: u64) -> Option<&T> {
        let cursor = self.tree.find_visible(pos)?;
        let span = self.tree.span(cursor.leaf, cursor.span)?;
        span.content.get(usize::try_from(cursor.offset).ok()?)
    }

    /// The id of the visible element at `pos`.
    pub fn id_at(&self, pos: u64) -> Option<Dot> {
        let cursor = self.tree.find_visible(pos)?;
        Some(self.dot_of(self.element_at(cursor)?))
    }

    /// Every insert and delete this sequence holds.
    pub fn context(&self) -> &CausalContext {
        &self.context
    }

    /// How many runs of inserted elements wait for an element they were inserted next to.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The number of spans (runs of elements) stored, tombstones included.
    pub fn span_count(&self) -> usize {
        self.tree.span_count()
    }

    /// Forgets what every replica has seen deleted: the records of delete operations that
    /// `stable` covers, and the tombstones no replica can still need. Returns how many
    /// tombstone elements were removed. The document does not change.
    ///
    /// A tombstone stays while an element names it as an origin, while a delete not covered
    /// by `stable` names it, and (its first element only) while the element before it in the
    /// document is visible here, or deleted by a delete `stable` does not cover, or it starts
    /// the document: a replica inserting there names that first element as its right origin,
    /// so it must be where every replica finds it.
    ///
    /// Precondition: `stable` is causally stable. Every replica has seen every event it
    /// covers, and this replica holds every event any replica made before seeing all of
    /// them (the events still to arrive all come after `stable`). A sync layer knows this
    /// when every replica has acknowledged `stable` and delivered everything it made before.
    /// Under it, no event still to come can refer to what is removed, and the edits of this
    /// replica are the same as those of an uncompacted one (same origins, same deltas).
    /// After compaction this replica's state is smaller than an uncompacted one holding the
    /// same document (they compare unequal, and a join never brings the forgotten tombstones
    /// back).
    pub fn compact(&mut self, stable: &VersionVector) -> u64 {
        self.deletes.take_stable(stable);
        // Tombstones some replica may not yet have seen deleted.
        let mut unsettled = CausalContext::new();
        for (_, run) in self.deletes.iter() {
            let (first, last) = run.targets();
            unsettled.insert_range(run.target.replica, first, last);
        }
        let settled = |rga: &Self, span: &Span<T>| {
            span.deleted
                && rga
                    .unsettled_parts(&unsettled, span)
                    .all(|(_, _, unsettled)| !unsettled)
        };
        // How many runs were inserted next to each element: those elements' tombstones stay.
        let mut referrers: BTreeMap<ElementId, u32> = BTreeMap::new();
        for span in self
            .tree
            .iter()
            .chain(self.pending.iter().map(|(_, span)| span))
        {
            for origin in [span.left(), span.right()].into_iter().flatten() {
                *referrers.entry(origin).or_default() += 1;
            }
        }
        let referenced =
            |referrers: &BTreeMap<ElementId, u32>, start: ElementId, end: ElementId| {
                referrers.range(start..=end).next().is_some()
            };
        // Which settled tombstones must keep their first element: removing tombstones never
        // changes this for the others (what comes before each stays a settled tombstone), so
        // it is computed once.
        let mut keep_first: BTreeMap<ElementId, bool> = BTreeMap::new();
        let mut after_settled = false;
        for span in self.tree.iter() {
            let is_settled = settled(self, span);
            if is_settled {
                keep_first.insert(span.id, !after_settled);
            }
            after_settled = is_settled;
        }
        let mut work: Vec<(ElementId, ElementId)> = keep_first
            .keys()
            .filter_map(|&start| {
                let cursor = self.tree.find_id(start)?;
                Some((start, self.tree.span(cursor.leaf, cursor.span)?.last_id()))
            })
            .collect();
        let mut removed = 0;
        while let Some((start, end)) = work.pop() {
            if referenced(&referrers, start, end) {
                continue;
            }
            let Some(cursor) = self.tree.find_id(start) else {
                continue;
            };
            let Some(span) = self.tree.span(cursor.leaf, cursor.span) else {
                continue;
            };
            let (left, right, len) = (span.left(), span.right(), span.len());
            match keep_first.get(&start) {
                Some(false) if self.tree.remove_tombstone(start) => {}
                Some(true) if len > 1 && self.tree.truncate_tombstone(start, 1) => {
                    removed += len - 1;
                    continue;
                }
                _ => continue,
            }
            keep_first.remove(&start);
            removed += len;
            // Its origins may have lost their last referrer.
            for origin in [left, right].into_iter().flatten() {
                let Some(count) = referrers.get_mut(&origin) else {
                    continue;
                };
                *count -= 1;
                if *count > 0 {
                    continue;
                }
                referrers.remove(&origin);
                if let Some(cursor) = self.tree.find_id(origin)
                    && let Some(span) = self.tree.span(cursor.leaf, cursor.span)
                    && keep_first.contains_key(&span.id)
                {
                    work.push((span.id, span.last_id()));
                }
            }
        }
        removed
    }

    fn unsettled_parts(
        &self,
        unsettled: &CausalContext,
        span: &Span<T>,
    ) -> impl Iterator<Item = (u64, u64, bool)> {
        unsettled
            .partition(
                &self.replica(span.id.agent),
                span.id.counter,
                span.last_id().counter,
            )
            .into_iter()
    }

    /// Inserts `items` at `pos` (0 = the start, `len()` = the end) as new events of
    /// `replica`; returns the delta. Refused, changing nothing, if `pos` is past the end or if
    /// the new elements' counters would pass the encoding's range ([`EditError::Causality`]).
    pub fn insert(
        &mut self,
        replica: ReplicaId,
        pos: u64,
        items: impl IntoIterator<Item = T>,
    ) -> Result<Self, EditError> {
        let len = self.len();
        if pos > len {
            return Err(PositionError { end: pos, len }.into());
        }
        let content: Vec<T> = items.into_iter().collect();
        if content.is_empty() {
            return Ok(Self::default());
        }
        let dot = self.next_dots(replica, content.len() as u64)?;
        let agent = self.agent(replica);
        // Right after the visible element before `pos`, and so before whatever follows it
        // here, tombstone or not.
        let left_cursor = match pos {
            0 => None,
            _ => self.tree.find_visible_for_edit(pos - 1),
        };
        let (left, right) = match left_cursor {
            Some(cursor) => (self.element_at(cursor), self.tree.next_element(cursor)),
            None => (None, self.tree.first_element()),
        };
        let span = Span::new(ElementId::new(agent, dot.counter), left, right, content);
        let last = span.last_id().counter;
        let owners = (
            left.map(|origin| self.replica(origin.agent)),
            right.map(|origin| self.replica(origin.agent)),
        );
        // Nothing lies between the two origins here, so the span goes right between them. When
        // it extends the run there (the common case of typing), the span itself can become the
        // delta.
        let for_delta = match left_cursor {
            Some(cursor) if self.tree.try_extend(cursor, &span) => span,
            Some(cursor) => {
                let copy = span.clone();
                self.tree
                    .insert(cursor.leaf, cursor.span, cursor.offset + 1, span);
                copy
            }
            None => {
                let copy = span.clone();
                self.tree.insert(self.tree.first_leaf(), 0, 0, span);
                copy
            }
        };
        self.context.insert_range(replica, dot.counter, last);
        Ok(Self::local_delta(replica, owners, for_delta))
    }

    /// The delta of a local insert: `span` (with this sequence's replica indexes), made by
    /// `replica` between elements of the `owners` (left, right).
    fn local_delta(
        replica: ReplicaId,
        owners: (Option<ReplicaId>, Option<ReplicaId>),
        mut span: Span<T>,
    ) -> Self {
        let mut delta = Self::default();
        let agent = delta.agent(replica);
        span.id = ElementId::new(agent, span.id.counter);
        let left = span
            .left()
            .zip(owners.0)
            .map(|(origin, owner)| ElementId::new(delta.agent(owner), origin.counter));
        let right = span
            .right()
            .zip(owners.1)
            .map(|(origin, owner)| ElementId::new(delta.agent(owner), origin.counter));
        span.set_origins(left, right);
        delta
            .context
            .insert_range(replica, span.id.counter, span.last_id().counter);
        delta.integrate(span);
        delta
    }

    /// Deletes `len` visible elements from `pos` as new events of `replica`; returns the
    /// delta. Refused, changing nothing, if the range passes the end or if `replica` is within
    /// `len` events of the end of its counters ([`EditError::Causality`]; a delete takes one
    /// event per run of elements it deletes, at most `len`).
    pub fn delete(&mut self, replica: ReplicaId, pos: u64, len: u64) -> Result<Self, EditError> {
        let total = self.len();
        let end = pos.saturating_add(len);
        if end > total {
            return Err(PositionError { end, len: total }.into());
        }
        if len > 0 {
            self.next_dots(replica, len)?;
        }
        let mut delta = Self::default();
        let mut remaining = len;
        while remaining > 0 {
            let Some(cursor) = self.tree.find_visible_for_edit(pos) else {
                break;
            };
            let Some(span) = self.tree.span(cursor.leaf, cursor.span) else {
                break;
            };
            let take = remaining.min(span.len() - cursor.offset);
            let target = self.dot_of(span.id.plus(cursor.offset));
            let dot = self.next_dots(replica, 1)?;
            let run = DeleteRun::single(target, take);
            // The cursor is at hand: delete there instead of finding the elements by id.
            self.tree.delete_at(cursor, take);
            self.record_delete(dot, run);
            delta.add_delete(dot, run);
            remaining -= take;
        }
        Ok(delta)
    }

    /// The first of `count` new dots of `replica`. A sequence's runs end below
    /// [`Dot::MAX_COUNTER`] (a run of `n` from `first` needs `first + n <= MAX_COUNTER` to
    /// decode), one short of what other types allow.
    fn next_dots(&self, replica: ReplicaId, count: u64) -> Result<Dot, CausalityError> {
        self.context
            .next_dots_within(replica, count, Dot::MAX_COUNTER - 1)
    }

    fn agent(&mut self, replica: ReplicaId) -> u32 {
        if let Some(agent) = self.known_agent(&replica) {
            return agent;
        }
        self.replicas.push(replica);
        u32::try_from(self.replicas.len() - 1).unwrap_or(u32::MAX)
    }

    fn known_agent(&self, replica: &ReplicaId) -> Option<u32> {
        let index = self.replicas.iter().position(|known| known == replica)?;
        u32::try_from(index).ok()
    }

    fn replica(&self, agent: u32) -> ReplicaId {
        self.replicas[agent as usize]
    }

    fn dot_of(&self, id: ElementId) -> Dot {
        Dot::new(self.replica(id.agent), id.counter)
    }

    fn element_at(&self, cursor: Cursor) -> Option<ElementId> {
        let span = self.tree.span(cursor.leaf, cursor.span)?;
        Some(span.id.plus(cursor.offset))
    }

    /// Elements `from..=to` of `span` (a span of `source`) with this sequence's replica
    /// indexes, as a tombstone if `deleted`.
    fn copy_span(
        &mut self,
        source: &Self,
        span: &Span<T>,
        from: u64,
        to: u64,
        deleted: bool,
    ) -> Span<T> {
        let mut translate = |origin: ElementId| {
            ElementId::new(self.agent(source.replica(origin.agent)), origin.counter)
        };
        let id = translate(span.id.plus(from));
        let left = span.left_of(from).map(&mut translate);
        let right = span.right().map(&mut translate);
        if deleted {
            Span::tombstone(id, left, right, to - from + 1)
        } else {
            Span::new(
                id,
                left,
                right,
                span.content[from as usize..=to as usize].to_vec(),
            )
        }
    }

    /// Places `span` (whose ids are new here) in the document, or keeps it pending until both
    /// its origins have arrived; then places what was waiting for its elements.
    fn integrate(&mut self, span: Span<T>) {
        let mut next = Some(span);
        let mut work: Vec<Span<T>> = Vec::new();
        while let Some(span) = next.take().or_else(|| work.pop()) {
            let missing = [span.left(), span.right()]
                .into_iter()
                .flatten()
                .find(|&origin| self.tree.find_id(origin).is_none());
            if let Some(origin) = missing {
                let at = self.pending.partition_point(|(waits, _)| *waits <= origin);
                self.pending.insert(at, (origin, span));
                continue;
            }
            let (first, last) = (span.id, span.last_id());
            self.place(span);
            let replica = self.replica(first.agent);
            for (start, end, awaited) in
                self.awaited_deletes
                    .partition(&replica, first.counter, last.counter)
            {
                if awaited {
                    self.tree
                        .delete_range(ElementId::new(first.agent, start), end);
                }
            }
            let from = self.pending.partition_point(|(waits, _)| *waits < first);
            let to = self.pending.partition_point(|(waits, _)| *waits <= last);
            work.extend(self.pending.drain(from..to).map(|(_, span)| span));
        }
    }

    /// The document-order key of element `id`, if present.
    fn key_of(&self, id: ElementId) -> Option<OrderKey> {
        self.tree
            .find_id(id)
            .map(|cursor| self.tree.order_key(cursor))
    }

    /// Puts `span`, both of whose origins are present, where FugueMax orders it among the
    /// elements between its origins (see the module doc). The scan looks at one element per
    /// span: the others of a span were inserted after the previous one, so they belong to it.
    ///
    /// Each element `x` met between the origins, with origins `(xl, xr)` against the new
    /// span's `(l, r)`:
    /// - `xl` before `l`: `x` belongs to a subtree after the new span's place: stop.
    /// - `xl` after `l`: `x` descends from an element already passed: it goes where that one
    ///   went.
    /// - `xl = l` (a sibling): `xr` beyond `r` goes first; `xr = r` is ordered by
    ///   `(replica id, counter)`, smaller first; `xr` before `r` may go after the new span,
    ///   which is then decided by the elements that follow `x` (the span goes before `x` if the
    ///   scan stops before passing a sibling that goes first).
    ///
    /// The counter breaks the tie no valid history makes (one replica, the same origins,
    /// twice: forged bytes, a reused replica id).
    fn place(&mut self, span: Span<T>) {
        let left = span.left().and_then(|id| self.tree.find_id(id));
        let right = span.right().and_then(|id| self.tree.find_id(id));
        let left_key = left.map(|cursor| self.tree.order_key(cursor));
        let right_key = right.map(|cursor| self.tree.order_key(cursor));
        let key = (self.replica(span.id.agent), span.id.counter);
        let start = match left {
            None => self.tree.settle(self.tree.first_leaf(), 0, 0),
            Some(cursor) => self
                .tree
                .settle(cursor.leaf, cursor.span, cursor.offset + 1),
        };
        let mut at = start;
        let mut dest = start;
        let mut undecided = false;
        loop {
            if !undecided {
                dest = at;
            }
            let Ok(cursor) = at else {
                break;
            };
            if Some(cursor) == right {
                break;
            }
            let Some(other) = self.tree.span(cursor.leaf, cursor.span) else {
                break;
            };
            let other_left = other.left_of(cursor.offset);
            let left_order = if other_left == span.left() {
                Ordering::Equal
            } else {
                // A missing origin (which only a forged state has) counts as the start.
                other_left.and_then(|id| self.key_of(id)).cmp(&left_key)
            };
            match left_order {
                Ordering::Less => break,
                Ordering::Greater => {}
                Ordering::Equal => {
                    let right_order = if other.right() == span.right() {
                        Ordering::Equal
                    } else {
                        // `None` is the end: after everything.
                        match (other.right().and_then(|id| self.key_of(id)), &right_key) {
                            (None, None) => Ordering::Equal,
                            (None, Some(_)) => Ordering::Greater,
                            (Some(_), None) => Ordering::Less,
                            (Some(other_key), Some(right_key)) => other_key.cmp(right_key),
                        }
                    };
                    let other_key = (
                        self.replica(other.id.agent),
                        other.id.counter + cursor.offset,
                    );
                    match right_order {
                        Ordering::Less => undecided = true,
                        Ordering::Equal if key < other_key => break,
                        _ => undecided = false,
                    }
                }
            }
            // On to the next span, or to the right origin if it is further in this one.
            let end = match right {
                Some(right)
                    if right.leaf == cursor.leaf
                        && right.span == cursor.span
                        && right.offset > cursor.offset =>
                {
                    right.offset
                }
                _ => other.len(),
            };
            at = self.tree.settle(cursor.leaf, cursor.span, end);
        }
        let gap = match dest {
            Ok(cursor) | Err(cursor) => cursor,
        };
        if dest == start
            && let Some(cursor) = left
            && self.tree.try_extend(cursor, &span)
        {
            return;
        }
        self.tree.insert(gap.leaf, gap.span, gap.offset, span);
    }

    /// Records a run of delete operations none of which is here yet, and deletes what it
    /// names (now, or when it arrives).
    fn add_delete(&mut self, key: Dot, run: DeleteRun) {
        self.record_delete(key, run);
        let (first, last) = run.targets();
        let replica = run.target.replica;
        let missing = match self.known_agent(&replica) {
            Some(agent) => self.tree.delete_range(ElementId::new(agent, first), last),
            None => SmallVec::from_slice(&[(first, last)]),
        };
        for (start, end) in missing {
            self.awaited_deletes.insert_range(replica, start, end);
        }
    }

    /// Records a run of delete operations (not applying it).
    fn record_delete(&mut self, key: Dot, run: DeleteRun) {
        self.deletes.insert(key, run);
        self.context
            .insert_range(key.replica, key.counter, key.counter + run.ops - 1);
    }

    /// Takes everything of `source` this sequence lacks, and that `remote` has not seen if
    /// given. New elements are integrated in id order, in maximal runs, as the decoder does:
    /// then joining a state into an empty sequence repeats its decoding step by step.
    fn absorb(&mut self, source: &Self, remote: Option<&CausalContext>) {
        let mut taken: Vec<Span<T>> = Vec::new();
        for (span, start, end, deleted) in source.pieces() {
            let replica = source.replica(span.id.agent);
            let first = span.id.counter;
            for (from, to, seen) in self.context.partition(&replica, start, end) {
                if seen {
                    continue;
                }
                match remote {
                    None => {
                        taken.push(self.copy_span(source, span, from - first, to - first, deleted))
                    }
                    Some(remote) => {
                        for (from, to, seen) in remote.partition(&replica, from, to) {
                            if !seen {
                                taken.push(self.copy_span(
                                    source,
                                    span,
                                    from - first,
                                    to - first,
                                    deleted,
                                ));
                            }
                        }
                    }
                }
            }
        }
        taken.sort_unstable_by_key(|span| (self.replica(span.id.agent), span.id.counter));
        let mut runs: Vec<Span<T>> = Vec::with_capacity(taken.len());
        for span in taken {
            match runs.last_mut() {
                Some(run) if run.continued_by(&span) => run.extend(&span),
                _ => runs.push(span),
            }
        }
        for run in runs {
            let replica = self.replica(run.id.agent);
            self.context
                .insert_range(replica, run.id.counter, run.last_id().counter);
            self.integrate(run);
        }
        for (key, run) in source.deletes.unseen_by(remote) {
            let last = key.counter + run.ops - 1;
            for (from, to, seen) in self.context.partition(&key.replica, key.counter, last) {
                if !seen {
                    self.add_delete(
                        Dot::new(key.replica, from),
                        run.slice(from - key.counter, to - key.counter),
                    );
                }
            }
        }
    }

    /// Every run of elements, integrated ones in document order then pending ones, as
    /// `(span, first counter, last counter, deleted)`: pending spans are cut where deletes
    /// that arrived before them start or stop.
    fn pieces(&self) -> impl Iterator<Item = (&Span<T>, u64, u64, bool)> + '_ {
        let integrated = self
            .tree
            .iter()
            .map(|span| (span, span.id.counter, span.last_id().counter, span.deleted));
        let pending = self.pending.iter().flat_map(move |(_, span)| {
            let replica = self.replica(span.id.agent);
            self.awaited_deletes
                .partition(&replica, span.id.counter, span.last_id().counter)
                .into_iter()
                .map(move |(from, to, awaited)| (span, from, to, awaited || span.deleted))
        });
        integrated.chain(pending)
    }

    /// Every replica named by an event, an origin or a delete target, sorted.
    fn named_replicas(&self) -> Vec<ReplicaId> {
        let mut named: Vec<ReplicaId> = self
            .context
            .replicas()
            .chain(self.replicas.iter().copied())
            .chain(self.deletes.iter().map(|(_, run)| run.target.replica))
            .collect();
        named.sort_unstable();
        named.dedup();
        named
    }

    /// Every element as replicas agree on it, in maximal runs: integrated ones in document
    /// order, then pending ones by id. Runs, not elements, because a run of tombstones can be
    /// any length up to the counter cap (a peer's bytes say how long): comparing two
    /// sequences must cost what they cost to store, not what they count.
    fn runs(&self) -> (Vec<RunView<'_, T>>, Vec<RunView<'_, T>>) {
        let mut integrated = Vec::new();
        let mut pending = Vec::new();
        let integrated_pieces = self.tree.span_count();
        for (index, (span, from, to, deleted)) in self.pieces().enumerate() {
            let replica = self.replica(span.id.agent);
            let offset = from - span.id.counter;
            let values = (!deleted).then(|| {
                span.content
                    .get(offset as usize..=(to - span.id.counter) as usize)
                    .unwrap_or_default()
                    .iter()
                    .collect()
            });
            let run = (
                Dot::new(replica, from),
                span.left_of(offset).map(|origin| self.dot_of(origin)),
                span.right().map(|origin| self.dot_of(origin)),
                to - from + 1,
                values,
            );
            if index < integrated_pieces {
                push_run(&mut integrated, run);
            } else {
                pending.push(run);
            }
        }
        pending.sort_unstable_by_key(|run: &RunView<'_, T>| run.0);
        let pending = pending.into_iter().fold(Vec::new(), |mut merged, run| {
            push_run(&mut merged, run);
            merged
        });
        (integrated, pending)
    }
}

/// A run of elements as replicas agree on it: its first id, that element's left origin, the
/// run's right origin, its length, its values (none once deleted). Element `k` has id `k`
/// past the first's, and was inserted between element `k - 1` and the right origin.
type RunView<'a, T> = (Dot, Option<Dot>, Option<Dot>, u64, Option<Vec<&'a T>>);

/// Appends `run` to `runs`, merged into the last run if it continues it, so that equal
/// element sequences give equal run lists however their spans were cut.
fn push_run<'a, T>(runs: &mut Vec<RunView<'a, T>>, run: RunView<'a, T>) {
    if let Some(last) = runs.last_mut() {
        let end = Dot::new(last.0.replica, last.0.counter + last.3 - 1);
        if run.0 == Dot::new(end.replica, end.counter + 1)
            && run.1 == Some(end)
            && run.2 == last.2
            && run.4.is_some() == last.4.is_some()
        {
            last.3 += run.3;
            if let (Some(all), Some(more)) = (&mut last.4, run.4) {
                all.extend(more);
            }
            return;
        }
    }
    runs.push(run);
}
impl<T: Clone + PartialEq> PartialEq for Rga<T> {
    /// Equal when holding the same inserts and deletes (however their runs are stored).
    fn eq(&self, other: &Self) -> bool {
        self.context == other.context
            && self.deletes == other.deletes
            && self.runs() == other.runs()
    }
}

impl<T: Clone + Eq> Eq for Rga<T> {}

impl<T: Clone + PartialEq> Lattice for Rga<T> {
    fn join(&mut self, other: &Self) {
        self.absorb(other, None);
    }
}

impl<T: Clone + PartialEq + core::fmt::Debug> DeltaSince for Rga<T> {
    type Version = CausalContext;

    fn version(&self) -> CausalContext {
        self.context.clone()
    }

    fn delta_since(&self, version: &CausalContext) -> Self {
        let mut delta = Self::default();
        delta.absorb(self, Some(version));
        delta
    }
}
