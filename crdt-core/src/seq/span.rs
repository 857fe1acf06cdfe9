//! [`Span`]: a run of elements inserted by one replica in one go, stored as one entry.
//!
//! Typing "hello" makes one span of five elements with consecutive ids, each element inserted
//! after the previous one and before the same element (what followed the cursor). Storing the
//! run instead of the elements is what keeps a text replica small and fast. Spans split when an edit lands inside
//! them (a remote insert between two of their elements, or a delete of part of them).

use alloc::vec::Vec;

/// The id of an element: `(replica index in the sequence's replica table, counter)`.
///
/// Packed to 4-byte alignment: 12 bytes instead of 16, in every span three times (its id and
/// its two origins), which is a fifth of a span. Fields are only ever copied out, never
/// borrowed (the compiler refuses a reference to a field of a packed struct).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[repr(C, packed(4))]
pub(crate) struct ElementId {
    pub(crate) agent: u32,
    pub(crate) counter: u64,
}

impl ElementId {
    pub(crate) const fn new(agent: u32, counter: u64) -> Self {
        Self { agent, counter }
    }

    /// The id `offset` elements further in the same run.
    pub(crate) const fn plus(self, offset: u64) -> Self {
        Self::new(self.agent, self.counter + offset)
    }
}

/// An origin, or none (the start for a left origin, the end for a right one), in the 12 bytes
/// of an id: none is the id `(u32::MAX, 0)`, which names no element since counters start at
/// 1. (`Option<ElementId>` would take 16.)
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Origin(ElementId);

impl Origin {
    const NONE: Self = Self(ElementId::new(u32::MAX, 0));

    fn new(id: Option<ElementId>) -> Self {
        id.map_or(Self::NONE, Self)
    }

    fn get(self) -> Option<ElementId> {
        (self != Self::NONE).then_some(self.0)
    }
}

/// A run of elements: element `i` has id `id + i` and was inserted between element `i - 1`
/// (its left origin; for the first, `left`, or the start if `None`) and `right` (the right
/// origin of every element of the run; the end if `None`). A deleted run is a tombstone: it
/// keeps its ids and origins, not its values.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Span<T> {
    pub(crate) id: ElementId,
    left: Origin,
    right: Origin,
    pub(crate) deleted: bool,
    len: u64,
    /// The values, one per element; empty once deleted.
    pub(crate) content: Vec<T>,
}

impl<T> Span<T> {
    /// A live run holding `content`.
    pub(crate) fn new(
        id: ElementId,
        left: Option<ElementId>,
        right: Option<ElementId>,
        content: Vec<T>,
    ) -> Self {
        Self {
            id,
            left: Origin::new(left),
            right: Origin::new(right),
            deleted: false,
            len: content.len() as u64,
            content,
        }
    }

    /// A deleted run of `len` elements (their values are gone).
    pub(crate) fn tombstone(
        id: ElementId,
        left: Option<ElementId>,
        right: Option<ElementId>,
        len: u64,
    ) -> Self {
        Self {
            id,
            left: Origin::new(left),
            right: Origin::new(right),
            deleted: true,
            len,
            content: Vec::new(),
        }
    }

    /// The left origin of the first element (`None`: the start).
    pub(crate) fn left(&self) -> Option<ElementId> {
        self.left.get()
    }

    /// The right origin of every element (`None`: the end).
    pub(crate) fn right(&self) -> Option<ElementId> {
        self.right.get()
    }

    /// Replaces both origins.
    pub(crate) fn set_origins(&mut self, left: Option<ElementId>, right: Option<ElementId>) {
        (self.left, self.right) = (Origin::new(left), Origin::new(right));
    }

    /// The number of elements.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Marks the run deleted and drops its values.
    pub(crate) fn delete(&mut self) {
        self.deleted = true;
        self.content = Vec::new();
    }

    /// Appends the elements of `next`, which continues this run.
    pub(crate) fn extend(&mut self, next: &Self)
    where
        T: Clone,
    {
        self.len += next.len;
        if !self.deleted {
            self.content.extend_from_slice(&next.content);
        }
    }

    /// The number of visible elements: all of them, or none if deleted.
    pub(crate) fn visible(&self) -> u64 {
        if self.deleted { 0 } else { self.len() }
    }

    /// The id of the last element.
    pub(crate) fn last_id(&self) -> ElementId {
        self.id.plus(self.len() - 1)
    }

    /// Whether the element `id` is in this run.
    pub(crate) fn contains(&self, id: ElementId) -> bool {
        id.agent == self.id.agent
            && id.counter >= self.id.counter
            && id.counter - self.id.counter < self.len()
    }

    /// Splits off and returns the elements from `offset` on (`0 < offset < len`).
    pub(crate) fn split_off(&mut self, offset: u64) -> Self {
        let content = if self.content.is_empty() {
            Vec::new()
        } else {
            self.content
                .split_off(usize::try_from(offset).unwrap_or(usize::MAX))
        };
        let tail = Self {
            id: self.id.plus(offset),
            left: Origin(self.id.plus(offset - 1)),
            right: self.right,
            deleted: self.deleted,
            len: self.len - offset,
            content,
        };
        self.len = offset;
        tail
    }

    /// The left origin of element `offset`.
    pub(crate) fn left_of(&self, offset: u64) -> Option<ElementId> {
        match offset {
            0 => self.left(),
            _ => Some(self.id.plus(offset - 1)),
        }
    }

    /// Whether `next` continues this run: same replica, next ids, inserted after this run's
    /// last element and before the same right origin, same deletion state.
    pub(crate) fn continued_by(&self, next: &Self) -> bool {
        next.id == self.id.plus(self.len())
            && next.left == Origin(self.last_id())
            && next.right == self.right
            && next.deleted == self.deleted
    }
}
