//! [`Span`]: a run of elements inserted by one replica in one go, stored as one entry.
//!
//! Typing "hello" makes one span of five elements with consecutive ids and Lamport
//! timestamps, each element inserted after the previous one. Storing the run instead of the
//! elements is what keeps a text replica small and fast. Spans split when an edit lands inside
//! them (a remote insert between two of their elements, or a delete of part of them).

use alloc::vec::Vec;

/// The id of an element: `(replica index in the sequence's replica table, counter)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
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

/// A run of elements: element `i` has id `id + i`, Lamport timestamp `lamport + i`, and was
/// inserted after element `i - 1` (the first after `origin`, or at the start if `None`).
/// A deleted run is a tombstone: it keeps its ids, origin and timestamps, not its values.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Span<T> {
    pub(crate) id: ElementId,
    pub(crate) origin: Option<ElementId>,
    pub(crate) lamport: u64,
    pub(crate) deleted: bool,
    len: u64,
    /// The values, one per element; empty once deleted.
    pub(crate) content: Vec<T>,
}

impl<T> Span<T> {
    /// A live run holding `content`.
    pub(crate) fn new(
        id: ElementId,
        origin: Option<ElementId>,
        lamport: u64,
        content: Vec<T>,
    ) -> Self {
        Self {
            id,
            origin,
            lamport,
            deleted: false,
            len: content.len() as u64,
            content,
        }
    }

    /// A deleted run of `len` elements (their values are gone).
    pub(crate) fn tombstone(
        id: ElementId,
        origin: Option<ElementId>,
        lamport: u64,
        len: u64,
    ) -> Self {
        Self {
            id,
            origin,
            lamport,
            deleted: true,
            len,
            content: Vec::new(),
        }
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
            origin: Some(self.id.plus(offset - 1)),
            lamport: self.lamport + offset,
            deleted: self.deleted,
            len: self.len - offset,
            content,
        };
        self.len = offset;
        tail
    }

    /// Whether `next` continues this run: same replica, next ids and timestamps, inserted
    /// after this run's last element, same deletion state.
    pub(crate) fn continued_by(&self, next: &Self) -> bool {
        next.id == self.id.plus(self.len())
            && next.origin == Some(self.last_id())
            && next.lamport == self.lamport + self.len()
            && next.deleted == self.deleted
    }
}
