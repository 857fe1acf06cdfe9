//! [`Rga`]: the replicated growable array, a sequence CRDT (lists, and text through
//! [`Text`](crate::seq::text::Text)).
//!
//! ```
//! use crdt_core::{Lattice, ReplicaId, Rga};
//!
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let mut at_alice = Rga::new();
//! at_alice.insert(alice, 0, [1, 2, 3]).unwrap();
//! let mut at_bob = at_alice.clone();
//!
//! // Concurrent edits at the same place.
//! let a = at_alice.insert(alice, 1, [10]).unwrap();
//! let b = at_bob.insert(bob, 1, [20]).unwrap();
//! let c = at_bob.delete(bob, 2, 1).unwrap(); // deletes 2
//! at_alice.join(&b);
//! at_alice.join(&c);
//! at_bob.join(&a);
//! assert_eq!(at_alice, at_bob);
//! assert_eq!(at_alice.iter().copied().collect::<Vec<_>>(), [1, 20, 10, 3]);
//! ```
//!
//! Semantics: every inserted element gets a unique id (a dot) and remembers the element it was
//! inserted after (its origin) and a Lamport timestamp greater than every timestamp its
//! replica had seen. An element sits right after its origin, and elements sharing an origin
//! are ordered by descending `(Lamport timestamp, replica id)`: a later insert at a place goes
//! before the ones its replica had seen there, and concurrent inserts at one place are ordered
//! the same way everywhere (the greater replica id first on a tie). Deletes are operations with
//! their own dots, naming the elements they delete; a deleted element stays as a tombstone
//! (its id, origin and timestamp) so that inserts referring to it still find their place.
//!
//! What is and is not guaranteed about concurrent inserts at one place:
//! - **Guaranteed:** every replica orders them alike, and a run typed *forwards* (each element
//!   inserted right after the previous one, or several elements in one `insert`) is never
//!   split: everything inserted after its elements hangs below them, so a concurrent insert
//!   at the same place lands before or after the whole run. `abc` and `xyz`, both typed
//!   forwards at one place, give `xyzabc` or `abcxyz`.
//! - **Not guaranteed:** a run typed *backwards* (each element inserted before the previous
//!   one, at an unmoving position) is a set of siblings of one origin, ordered by timestamp
//!   alone, so it interleaves with concurrent elements there: `c`, `b`, `a` and `z`, `y`, `x`,
//!   each typed at position 0 by two replicas, give `xaybzc`; `abc` forwards against `zyx`
//!   backwards gives `xyabcz` when the forward typist's replica id is the greater (the tie
//!   between the first letters typed goes its way), `xyzabc` otherwise. This is RGA's interleaving anomaly (Kleppmann, Gomes, Mulligan
//!   and Beresford, "Interleaving anomalies in collaborative text editors", PaPoC 2019);
//!   Fugue's ordering (Weidner and Kleppmann, 2023) avoids it in both directions.
//!
//! What grows: one span per run of consecutive typing (not per element), the tombstones of
//! deleted runs, and one entry per run of consecutive deletes. An insert or delete whose
//! origin or target has not arrived yet (deltas delivered out of order) is kept and applied
//! when it arrives, never dropped. Positions are counted in visible elements.
//!
//! A dot names one event: a join skips elements whose ids it already holds. A faulty peer that
//! sends an id again with other contents is not detected, and replicas that received the two
//! versions keep their own.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

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
use crate::seq::span_tree::{Cursor, SpanTree};

mod encoding;

pub(crate) use encoding::{AsString, RawRga};

/// A replicated sequence of `T`.
#[derive(Clone, Debug)]
pub struct Rga<T> {
    /// Replica ids by the small index elements use for them (in order of first appearance).
    /// Few per document, so a linear search beats hashing.
    replicas: SmallVec<[ReplicaId; 2]>,
    /// The integrated elements, in document order.
    tree: SpanTree<T>,
    /// Elements whose origin has not arrived, sorted by origin (usually none).
    pending: SmallVec<[Span<T>; 1]>,
    /// Every delete operation.
    deletes: DeleteLog,
    /// Elements named by a delete before they arrived here: deleted as they arrive. (Ids are
    /// never reused, so an entry can stay after its element arrived.)
    awaited_deletes: CausalContext,
    /// The dots of every insert and delete held.
    context: CausalContext,
    /// The greatest Lamport timestamp of any element held.
    max_lamport: u64,
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
            max_lamport: 0,
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

    /// How many runs of inserted elements wait for the element they were inserted after.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The number of spans (runs of elements) stored, tombstones included.
    pub fn span_count(&self) -> usize {
        self.tree.span_count()
    }

    /// Forgets what every replica has seen deleted: the records of delete operations that
    /// `stable` covers, and the tombstones they deleted that no remaining element was inserted
    /// after. Returns how many tombstone elements were removed. The document does not change.
    ///
    /// Precondition: `stable` is causally stable. Every replica has seen every event it
    /// covers, and this replica holds every event any replica made before seeing all of
    /// them (the events still to arrive all come after `stable`). A sync layer knows this
    /// when every replica has acknowledged `stable` and delivered everything it made before.
    /// Under it, no event still to come can refer to what is removed. After compaction this
    /// replica's state is smaller than an uncompacted one holding the same document (they
    /// compare unequal, and a join never brings the forgotten tombstones back).
    pub fn compact(&mut self, stable: &VersionVector) -> u64 {
        let mut stable_deleted = CausalContext::new();
        for (_, run) in self.deletes.take_stable(stable) {
            let (first, last) = run.targets();
            stable_deleted.insert_range(run.target.replica, first, last);
        }
        // How many runs were inserted after each element: those elements' tombstones stay.
        let mut referrers: BTreeMap<ElementId, u32> = BTreeMap::new();
        for origin in self
            .tree
            .iter()
            .chain(&self.pending)
            .filter_map(|span| span.origin)
        {
            *referrers.entry(origin).or_default() += 1;
        }
        let referenced =
            |referrers: &BTreeMap<ElementId, u32>, start: ElementId, end: ElementId| {
                referrers.range(start..=end).next().is_some()
            };
        let mut work: Vec<(ElementId, ElementId, Option<ElementId>)> = self
            .tree
            .iter()
            .filter(|span| span.deleted)
            .map(|span| (span.id, span.last_id(), span.origin))
            .collect();
        let mut removed = 0;
        while let Some((start, end, origin)) = work.pop() {
            let all_stable = self
                .stable_parts(&stable_deleted, start, end.counter)
                .all(|(_, _, covered)| covered);
            if !all_stable
                || referenced(&referrers, start, end)
                || !self.tree.remove_tombstone(start)
            {
                continue;
            }
            removed += end.counter - start.counter + 1;
            // Its origin may have lost its last referrer.
            let Some(origin) = origin else { continue };
            if let Some(count) = referrers.get_mut(&origin) {
                *count -= 1;
                if *count == 0 {
                    referrers.remove(&origin);
                    if let Some(cursor) = self.tree.find_id(origin)
                        && let Some(span) = self.tree.span(cursor.leaf, cursor.span)
                        && span.deleted
                    {
                        work.push((span.id, span.last_id(), span.origin));
                    }
                }
            }
        }
        removed
    }

    fn stable_parts(
        &self,
        stable_deleted: &CausalContext,
        start: ElementId,
        end: u64,
    ) -> impl Iterator<Item = (u64, u64, bool)> {
        stable_deleted
            .partition(&self.replica(start.agent), start.counter, end)
            .into_iter()
    }

    /// Inserts `items` at `pos` (0 = the start, `len()` = the end) as new events of
    /// `replica`; returns the delta. Refused, changing nothing, if `pos` is past the end or if
    /// the new elements' counters or Lamport timestamps would pass the encoding's range
    /// ([`EditError::Causality`]).
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
        let count = content.len() as u64;
        let dot = self.next_dots(replica, count)?;
        if self
            .max_lamport
            .checked_add(count)
            .is_none_or(|last| last >= Dot::MAX_COUNTER)
        {
            return Err(CausalityError::CountersExhausted { replica }.into());
        }
        let agent = self.agent(replica);
        let origin_cursor = match pos {
            0 => None,
            _ => self.tree.find_visible_for_edit(pos - 1),
        };
        let span = Span::new(
            ElementId::new(agent, dot.counter),
            origin_cursor.and_then(|cursor| self.element_at(cursor)),
            self.max_lamport + 1,
            content,
        );
        let last = span.last_id().counter;
        self.max_lamport = span.lamport + span.len() - 1;
        let origin_replica = span.origin.map(|origin| self.replica(origin.agent));
        // The new elements have the greatest timestamp here, so they go right after their
        // origin, before everything else inserted there. When they extend the run there (the
        // common case of typing), the span itself can become the delta.
        let for_delta = match origin_cursor {
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
        Ok(Self::local_delta(replica, origin_replica, for_delta))
    }

    /// The delta of a local insert: `span` (with this sequence's replica indexes), made by
    /// `replica` after an element of `origin_replica`.
    fn local_delta(
        replica: ReplicaId,
        origin_replica: Option<ReplicaId>,
        mut span: Span<T>,
    ) -> Self {
        let mut delta = Self::default();
        let agent = delta.agent(replica);
        span.id = ElementId::new(agent, span.id.counter);
        span.origin = span
            .origin
            .zip(origin_replica)
            .map(|(origin, owner)| ElementId::new(delta.agent(owner), origin.counter));
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

    /// Takes elements `from..=to` of `span` (a span of `source`) into this sequence, as a
    /// tombstone if `deleted`.
    fn add_span(&mut self, source: &Self, span: &Span<T>, from: u64, to: u64, deleted: bool) {
        let replica = source.replica(span.id.agent);
        let id = ElementId::new(self.agent(replica), span.id.counter + from);
        let origin = if from == 0 {
            span.origin.map(|origin| {
                ElementId::new(self.agent(source.replica(origin.agent)), origin.counter)
            })
        } else {
            Some(ElementId::new(id.agent, id.counter - 1))
        };
        let lamport = span.lamport + from;
        let taken = if deleted {
            Span::tombstone(id, origin, lamport, to - from + 1)
        } else {
            Span::new(
                id,
                origin,
                lamport,
                span.content[from as usize..=to as usize].to_vec(),
            )
        };
        self.context
            .insert_range(replica, id.counter, id.counter + to - from);
        self.integrate(taken);
    }

    /// Places `span` (whose ids are new here) in the document, or keeps it pending until its
    /// origin arrives; then places what was waiting for its elements.
    fn integrate(&mut self, span: Span<T>) {
        let mut next = Some(span);
        let mut work: Vec<Span<T>> = Vec::new();
        while let Some(span) = next.take().or_else(|| work.pop()) {
            let origin_cursor = match span.origin {
                None => None,
                Some(origin) => match self.tree.find_id(origin) {
                    Some(cursor) => Some(cursor),
                    None => {
                        let at = self
                            .pending
                            .partition_point(|waiting| waiting.origin <= span.origin);
                        self.pending.insert(at, span);
                        continue;
                    }
                },
            };
            let (first, last) = (span.id, span.last_id());
            self.max_lamport = self.max_lamport.max(span.lamport + span.len() - 1);
            self.place(origin_cursor, span);
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
            let from = self
                .pending
                .partition_point(|waiting| waiting.origin < Some(first));
            let to = self
                .pending
                .partition_point(|waiting| waiting.origin <= Some(last));
            work.extend(self.pending.drain(from..to));
        }
    }

    /// Puts `span` after its origin (at `origin`, or at the start), past the elements there
    /// that order before it: those with a greater `(Lamport timestamp, replica id)`, and
    /// everything inserted after them. The counter breaks the tie no valid history makes (one
    /// replica, one timestamp, twice: forged bytes, a reused replica id), so that even then the
    /// order does not depend on the order of arrival.
    fn place(&mut self, origin: Option<Cursor>, span: Span<T>) {
        let key = (span.lamport, self.replica(span.id.agent), span.id.counter);
        let (mut leaf, mut index, mut offset) = match origin {
            None => (self.tree.first_leaf(), 0, 0),
            Some(cursor) => (cursor.leaf, cursor.span, cursor.offset + 1),
        };
        let mut skipped = false;
        loop {
            match self.tree.span(leaf, index) {
                Some(next) if offset == next.len() => {
                    index += 1;
                    offset = 0;
                }
                Some(next) => {
                    let next_key = (
                        next.lamport + offset,
                        self.replica(next.id.agent),
                        next.id.counter + offset,
                    );
                    if next_key > key {
                        // Later elements of a span descend from its first: skip it whole.
                        index += 1;
                        offset = 0;
                        skipped = true;
                    } else {
                        break;
                    }
                }
                None => match self.tree.next_leaf(leaf) {
                    Some(next_leaf) => {
                        (leaf, index, offset) = (next_leaf, 0, 0);
                    }
                    None => break,
                },
            }
        }
        if !skipped
            && let Some(cursor) = origin
            && self.tree.try_extend(cursor, &span)
        {
            return;
        }
        self.tree.insert(leaf, index, offset, span);
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
    /// given.
    fn absorb(&mut self, source: &Self, remote: Option<&CausalContext>) {
        for (span, start, end, deleted) in source.pieces() {
            let replica = source.replica(span.id.agent);
            let first = span.id.counter;
            for (from, to, seen) in self.context.partition(&replica, start, end) {
                if seen {
                    continue;
                }
                match remote {
                    None => self.add_span(source, span, from - first, to - first, deleted),
                    Some(remote) => {
                        for (from, to, seen) in remote.partition(&replica, from, to) {
                            if !seen {
                                self.add_span(source, span, from - first, to - first, deleted);
                            }
                        }
                    }
                }
            }
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
        let pending = self.pending.iter().flat_map(move |span| {
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
            let origin = if offset == 0 {
                span.origin.map(|origin| self.dot_of(origin))
            } else {
                Some(Dot::new(replica, from - 1))
            };
            let values = (!deleted).then(|| {
                span.content
                    .get(offset as usize..=(to - span.id.counter) as usize)
                    .unwrap_or_default()
                    .iter()
                    .collect()
            });
            let run = (
                Dot::new(replica, from),
                origin,
                span.lamport + offset,
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

/// A run of elements as replicas agree on it: its first id, that element's origin and Lamport
/// timestamp, its length, its values (none once deleted). Element `k` has id and timestamp
/// `k` past the first's, and was inserted after element `k - 1`.
type RunView<'a, T> = (Dot, Option<Dot>, u64, u64, Option<Vec<&'a T>>);

/// Appends `run` to `runs`, merged into the last run if it continues it, so that equal
/// element sequences give equal run lists however their spans were cut.
fn push_run<'a, T>(runs: &mut Vec<RunView<'a, T>>, run: RunView<'a, T>) {
    if let Some(last) = runs.last_mut() {
        let end = Dot::new(last.0.replica, last.0.counter + last.3 - 1);
        if run.0 == Dot::new(end.replica, end.counter + 1)
            && run.1 == Some(end)
            && run.2 == last.2 + last.3
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
