//! [`SpanTree`]: the spans of a sequence in document order, in a B-tree counted by visible
//! elements, with an index from element id to leaf.
//!
//! Finding the element at a visible position descends the tree by counts: O(log n). Finding
//! an element by id goes through the index (span start id → leaf) and then the leaf: O(log n).
//! Nodes live in two arenas (leaves and internal nodes) and refer to each other by index, so
//! the tree needs no unsafe code and no reference counting.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use smallvec::SmallVec;

use crate::seq::span::{ElementId, Span};

/// The most spans a leaf holds before it splits.
const LEAF_CAPACITY: usize = 32;
/// The most children an internal node holds before it splits.
const FANOUT: usize = 32;
/// No node: the parent of the root, the leaf after the last.
const NONE: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Leaf<T> {
    spans: Vec<Span<T>>,
    parent: u32,
    /// This leaf's position among its parent's children.
    slot: u32,
    next: u32,
}

#[derive(Clone, Debug)]
struct Internal {
    children: Vec<u32>,
    /// The visible elements under each child.
    visible: Vec<u64>,
    parent: u32,
    /// This node's position among its parent's children.
    slot: u32,
}

/// A place in the tree: the element `offset` of span `span` of leaf `leaf`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Cursor {
    pub(crate) leaf: u32,
    pub(crate) span: usize,
    pub(crate) offset: u64,
}

/// Where an element is in document order, as the path to it from the root (child slots, span,
/// offset): of two elements, the one earlier in the document has the smaller key. Valid until
/// the tree changes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct OrderKey {
    slots: SmallVec<[u32; 4]>,
    span: usize,
    offset: u64,
}

/// The spans of a sequence in document order.
#[derive(Clone, Debug)]
pub(crate) struct SpanTree<T> {
    leaves: Vec<Leaf<T>>,
    internals: Vec<Internal>,
    root: u32,
    /// Levels of internal nodes above the leaves (0: the root is a leaf).
    height: usize,
    /// Span start id → the leaf holding that span.
    index: BTreeMap<ElementId, u32>,
    visible: u64,
    spans: usize,
    /// The leaf the last edit found by position, with the position of its first visible
    /// element: edits tend to land where the previous one did. Cleared by any change that
    /// could move that position (a change in another leaf, a leaf split).
    hint: Option<(u32, u64)>,
}

impl<T> Default for SpanTree<T> {
    fn default() -> Self {
        // The first leaf is made on the first insert: deltas and empty sequences allocate
        // nothing here.
        Self {
            leaves: Vec::new(),
            internals: Vec::new(),
            root: 0,
            height: 0,
            index: BTreeMap::new(),
            visible: 0,
            spans: 0,
            hint: None,
        }
    }
}

impl<T: Clone> SpanTree<T> {
    /// The number of visible elements.
    pub(crate) fn visible(&self) -> u64 {
        self.visible
    }

    /// The number of spans.
    pub(crate) fn span_count(&self) -> usize {
        self.spans
    }

    /// The span under `cursor`.
    pub(crate) fn span(&self, leaf: u32, span: usize) -> Option<&Span<T>> {
        self.leaves.get(leaf as usize)?.spans.get(span)
    }

    /// The leaf after `leaf`, if any.
    pub(crate) fn next_leaf(&self, leaf: u32) -> Option<u32> {
        self.leaves
            .get(leaf as usize)
            .map(|leaf| leaf.next)
            .filter(|&next| next != NONE)
    }

    /// The first leaf (document start).
    pub(crate) fn first_leaf(&self) -> u32 {
        let mut node = self.root;
        for _ in 0..self.height {
            node = self.internals[node as usize].children[0];
        }
        node
    }

    /// The spans in document order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Span<T>> + '_ {
        let mut leaf = Some(self.first_leaf());
        core::iter::from_fn(move || {
            let current = leaf?;
            leaf = self.next_leaf(current);
            Some(self.leaves.get(current as usize)?.spans.iter())
        })
        .flatten()
    }

    /// The visible element at position `pos` (0-based), if `pos < visible()`.
    pub(crate) fn find_visible(&self, mut pos: u64) -> Option<Cursor> {
        if pos >= self.visible {
            return None;
        }
        let mut node = self.root;
        for _ in 0..self.height {
            let internal = &self.internals[node as usize];
            let mut child = *internal.children.last()?;
            for (&candidate, &count) in internal.children.iter().zip(&internal.visible) {
                if pos < count {
                    child = candidate;
                    break;
                }
                pos -= count;
            }
            node = child;
        }
        for (index, span) in self.leaves[node as usize].spans.iter().enumerate() {
            let visible = span.visible();
            if pos < visible {
                return Some(Cursor {
                    leaf: node,
                    span: index,
                    offset: pos,
                });
            }
            pos -= visible;
        }
        None
    }

    /// As [`Self::find_visible`], for an edit: starts from the leaf of the previous edit when
    /// `pos` falls in it.
    pub(crate) fn find_visible_for_edit(&mut self, pos: u64) -> Option<Cursor> {
        if let Some((leaf, start)) = self.hint
            && pos >= start
        {
            let mut rest = pos - start;
            for (index, span) in self.leaves[leaf as usize].spans.iter().enumerate() {
                let visible = span.visible();
                if rest < visible {
                    return Some(Cursor {
                        leaf,
                        span: index,
                        offset: rest,
                    });
                }
                rest -= visible;
            }
        }
        let cursor = self.find_visible(pos)?;
        let before: u64 = self.leaves[cursor.leaf as usize].spans[..cursor.span]
            .iter()
            .map(Span::visible)
            .sum();
        self.hint = Some((cursor.leaf, pos - cursor.offset - before));
        Some(cursor)
    }

    /// The element with id `id`, if present.
    pub(crate) fn find_id(&self, id: ElementId) -> Option<Cursor> {
        let (start, &leaf) = self.index.range(..=id).next_back()?;
        if start.agent != id.agent {
            return None;
        }
        let spans = &self.leaves[leaf as usize].spans;
        let span = spans.iter().position(|span| span.contains(id))?;
        Some(Cursor {
            leaf,
            span,
            offset: id.counter - spans[span].id.counter,
        })
    }

    /// The document-order key of the element under `cursor`.
    pub(crate) fn order_key(&self, cursor: Cursor) -> OrderKey {
        let mut slots = SmallVec::new();
        let leaf = &self.leaves[cursor.leaf as usize];
        let (mut slot, mut parent) = (leaf.slot, leaf.parent);
        while parent != NONE {
            slots.push(slot);
            let internal = &self.internals[parent as usize];
            (slot, parent) = (internal.slot, internal.parent);
        }
        slots.reverse();
        OrderKey {
            slots,
            span: cursor.span,
            offset: cursor.offset,
        }
    }

    /// The first element at or after the gap before element `offset` of span `index` of
    /// `leaf` (`offset` may be the span's length, `index` the leaf's), as a cursor; or, if
    /// the document ends first, `Err` with the gap at its end.
    pub(crate) fn settle(
        &self,
        mut leaf: u32,
        mut index: usize,
        mut offset: u64,
    ) -> Result<Cursor, Cursor> {
        loop {
            match self.span(leaf, index) {
                Some(span) if offset < span.len() => {
                    return Ok(Cursor {
                        leaf,
                        span: index,
                        offset,
                    });
                }
                Some(_) => (index, offset) = (index + 1, 0),
                None => match self.next_leaf(leaf) {
                    Some(next) => (leaf, index, offset) = (next, 0, 0),
                    None => {
                        return Err(Cursor {
                            leaf,
                            span: index,
                            offset: 0,
                        });
                    }
                },
            }
        }
    }

    /// The id of the element right after the one under `cursor` (tombstones included), or
    /// `None` at the end.
    pub(crate) fn next_element(&self, cursor: Cursor) -> Option<ElementId> {
        let next = self
            .settle(cursor.leaf, cursor.span, cursor.offset + 1)
            .ok()?;
        Some(self.span(next.leaf, next.span)?.id.plus(next.offset))
    }

    /// The id of the first element (tombstones included), if any.
    pub(crate) fn first_element(&self) -> Option<ElementId> {
        self.iter().next().map(|span| span.id)
    }

    /// Appends `content` to the span under `cursor` if `extension` continues it and the cursor
    /// is on its last element. Returns whether it did.
    pub(crate) fn try_extend(&mut self, cursor: Cursor, extension: &Span<T>) -> bool {
        let leaf = &mut self.leaves[cursor.leaf as usize];
        let span = &mut leaf.spans[cursor.span];
        if cursor.offset + 1 != span.len() || !span.continued_by(extension) {
            return false;
        }
        span.extend(extension);
        let added = extension.visible();
        self.add_visible(cursor.leaf, added, 0);
        true
    }

    /// Inserts `span` into the gap before element `offset` of span `index` in `leaf` (`index`
    /// may be the leaf's length: after its last span).
    pub(crate) fn insert(&mut self, leaf: u32, mut index: usize, offset: u64, span: Span<T>) {
        if self.leaves.is_empty() {
            self.leaves.push(Leaf {
                spans: Vec::new(),
                parent: NONE,
                slot: 0,
                next: NONE,
            });
        }
        if offset > 0 {
            if offset < self.leaves[leaf as usize].spans[index].len() {
                self.split(leaf, index, offset);
            }
            index += 1;
        }
        let added = span.visible();
        self.index.insert(span.id, leaf);
        insert_span(&mut self.leaves[leaf as usize].spans, index, span);
        self.spans += 1;
        self.add_visible(leaf, added, 0);
        if self.leaves[leaf as usize].spans.len() > LEAF_CAPACITY {
            self.split_leaf(leaf);
        }
    }

    /// Marks the elements `first..=last` of one replica deleted, wherever they are. Returns
    /// the ranges of counters not present.
    pub(crate) fn delete_range(
        &mut self,
        first: ElementId,
        last: u64,
    ) -> SmallVec<[(u64, u64); 1]> {
        let mut missing = SmallVec::new();
        let mut next = first.counter;
        while next <= last {
            let Some(cursor) = self.find_id(ElementId::new(first.agent, next)) else {
                // Skip to the next span of this replica that holds a counter in range.
                let found = self
                    .index
                    .range(ElementId::new(first.agent, next)..=ElementId::new(first.agent, last))
                    .next()
                    .map(|(start, _)| start.counter);
                let resume = found.unwrap_or(last + 1);
                missing.push((next, resume - 1));
                next = resume;
                continue;
            };
            next += self.delete_at(cursor, last - next + 1);
        }
        missing
    }

    /// Marks up to `wanted` elements deleted from `cursor` on, within its span. Returns how
    /// many elements that covered (deleted now or before).
    pub(crate) fn delete_at(&mut self, cursor: Cursor, wanted: u64) -> u64 {
        let (leaf, mut index) = (cursor.leaf, cursor.span);
        if cursor.offset > 0 {
            self.split(leaf, index, cursor.offset);
            index += 1;
        }
        let length = self.leaves[leaf as usize].spans[index].len();
        if wanted < length {
            self.split(leaf, index, wanted);
        }
        let span = &mut self.leaves[leaf as usize].spans[index];
        let count = span.len();
        if !span.deleted {
            span.delete();
            self.add_visible(leaf, 0, count);
        }
        if self.leaves[leaf as usize].spans.len() > LEAF_CAPACITY {
            self.split_leaf(leaf);
        }
        count
    }

    /// Removes the deleted span starting with `id` (a tombstone: no visible element), if
    /// present. Returns whether it did.
    pub(crate) fn remove_tombstone(&mut self, id: ElementId) -> bool {
        let Some(cursor) = self.find_id(id) else {
            return false;
        };
        let spans = &mut self.leaves[cursor.leaf as usize].spans;
        if cursor.offset != 0 || !spans[cursor.span].deleted {
            return false;
        }
        spans.remove(cursor.span);
        self.index.remove(&id);
        self.hint = None;
        self.spans -= 1;
        true
    }

    /// Removes all but the first `keep` elements (`0 < keep < len`) of the deleted span
    /// starting with `id`, if present. Returns whether it did.
    pub(crate) fn truncate_tombstone(&mut self, id: ElementId, keep: u64) -> bool {
        let Some(cursor) = self.find_id(id) else {
            return false;
        };
        let span = &self.leaves[cursor.leaf as usize].spans[cursor.span];
        if cursor.offset != 0 || !span.deleted || keep == 0 || keep >= span.len() {
            return false;
        }
        self.split(cursor.leaf, cursor.span, keep);
        self.remove_tombstone(id.plus(keep))
    }

    /// Splits span `index` of `leaf` before its element `offset` (`0 < offset < len`).
    fn split(&mut self, leaf: u32, index: usize, offset: u64) {
        let spans = &mut self.leaves[leaf as usize].spans;
        let tail = spans[index].split_off(offset);
        self.index.insert(tail.id, leaf);
        insert_span(spans, index + 1, tail);
        self.spans += 1;
    }

    /// Adds `added` and removes `removed` visible elements from `leaf` and its ancestors.
    fn add_visible(&mut self, leaf: u32, added: u64, removed: u64) {
        self.visible = self.visible + added - removed;
        if self.hint.is_some_and(|(hinted, _)| hinted != leaf) {
            self.hint = None;
        }
        let leaf = &self.leaves[leaf as usize];
        let (mut slot, mut parent) = (leaf.slot as usize, leaf.parent);
        while parent != NONE {
            let internal = &mut self.internals[parent as usize];
            internal.visible[slot] = internal.visible[slot] + added - removed;
            (slot, parent) = (internal.slot as usize, internal.parent);
        }
    }

    fn split_leaf(&mut self, leaf: u32) {
        self.hint = None;
        let new = self.leaves.len() as u32;
        let old = &mut self.leaves[leaf as usize];
        let moved = old.spans.split_off(old.spans.len() / 2);
        old.spans.shrink_to_fit();
        let moved_visible: u64 = moved.iter().map(Span::visible).sum();
        for span in &moved {
            self.index.insert(span.id, new);
        }
        let (parent, next) = (old.parent, old.next);
        old.next = new;
        self.leaves.push(Leaf {
            spans: moved,
            parent,
            slot: 0,
            next,
        });
        self.attach(leaf, new, moved_visible, true);
    }

    /// Puts `new` (holding `moved_visible` elements taken from `old`) right after `old` in
    /// their parent, growing a new root or splitting the parent as needed.
    fn attach(&mut self, old: u32, new: u32, moved_visible: u64, leaves: bool) {
        let parent = if leaves {
            self.leaves[old as usize].parent
        } else {
            self.internals[old as usize].parent
        };
        if parent == NONE {
            let root = self.internals.len() as u32;
            // `old` has already given its moved part to `new`.
            let kept = self.visible_under(old, leaves);
            self.internals.push(Internal {
                children: Vec::from([old, new]),
                visible: Vec::from([kept, moved_visible]),
                parent: NONE,
                slot: 0,
            });
            self.set_parent(old, root, 0, leaves);
            self.set_parent(new, root, 1, leaves);
            self.root = root;
            self.height += 1;
            return;
        }
        let slot = if leaves {
            self.leaves[old as usize].slot
        } else {
            self.internals[old as usize].slot
        } as usize;
        let internal = &mut self.internals[parent as usize];
        internal.visible[slot] -= moved_visible;
        internal.children.insert(slot + 1, new);
        internal.visible.insert(slot + 1, moved_visible);
        // Every child from the new one on moved one slot right.
        let shifted: Vec<u32> = internal.children[slot + 1..].to_vec();
        let full = internal.children.len() > FANOUT;
        for (offset, child) in shifted.into_iter().enumerate() {
            self.set_parent(child, parent, (slot + 1 + offset) as u32, leaves);
        }
        if full {
            self.split_internal(parent);
        }
    }

    fn split_internal(&mut self, node: u32) {
        let new = self.internals.len() as u32;
        let old = &mut self.internals[node as usize];
        let half = old.children.len() / 2;
        let children = old.children.split_off(half);
        let visible = old.visible.split_off(half);
        let moved_visible: u64 = visible.iter().sum();
        let parent = old.parent;
        let leaves = self.height_of(node) == 1;
        for (slot, &child) in children.iter().enumerate() {
            self.set_parent(child, new, slot as u32, leaves);
        }
        self.internals.push(Internal {
            children,
            visible,
            parent,
            slot: 0,
        });
        self.attach(node, new, moved_visible, false);
    }

    /// How many levels of internal nodes `node` (an internal node) has below and including
    /// itself: 1 if its children are leaves.
    fn height_of(&self, node: u32) -> usize {
        let mut depth = 0;
        let mut current = node;
        while current != self.root {
            current = self.internals[current as usize].parent;
            depth += 1;
        }
        self.height - depth
    }

    fn visible_under(&self, node: u32, leaf: bool) -> u64 {
        if leaf {
            self.leaves[node as usize]
                .spans
                .iter()
                .map(Span::visible)
                .sum()
        } else {
            self.internals[node as usize].visible.iter().sum()
        }
    }

    fn set_parent(&mut self, node: u32, parent: u32, slot: u32, leaf: bool) {
        if leaf {
            let leaf = &mut self.leaves[node as usize];
            (leaf.parent, leaf.slot) = (parent, slot);
        } else {
            let internal = &mut self.internals[node as usize];
            (internal.parent, internal.slot) = (parent, slot);
        }
    }
}

/// Inserts `span` into a leaf's spans, growing the leaf by a quarter when full rather than
/// doubling it: most leaves stop growing somewhere below [`LEAF_CAPACITY`] (the document is
/// edited elsewhere), and a doubled one would keep up to half of its room empty for good.
fn insert_span<T>(spans: &mut Vec<Span<T>>, index: usize, span: Span<T>) {
    if spans.len() == spans.capacity() {
        spans.reserve_exact((spans.len() / 4).max(4));
    }
    spans.insert(index, span);
}
