//! [`CounterRanges`]: the counters of one replica that a causal context has seen, as sorted,
//! disjoint, non-adjacent inclusive ranges. A replica that saw every event in order has one
//! range `1..=n`; out-of-order arrivals add further ranges until the gaps fill.

use core::cmp::Ordering;

use smallvec::SmallVec;

/// Sorted, disjoint, non-adjacent inclusive ranges of counters, all `>= 1`.
#[derive(Clone, PartialEq, Eq, Hash, Default, Debug)]
pub(crate) struct CounterRanges(SmallVec<[(u64, u64); 1]>);

impl CounterRanges {
    /// The ranges, ascending.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, u64)> + '_ {
        self.0.iter().copied()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The highest counter seen, 0 if none.
    pub(crate) fn max(&self) -> u64 {
        self.0.last().map_or(0, |&(_, end)| end)
    }

    /// `n` such that `1..=n` is all seen (the version-vector part), 0 if counter 1 is unseen.
    pub(crate) fn contiguous_prefix(&self) -> u64 {
        match self.0.first() {
            Some(&(1, end)) => end,
            _ => 0,
        }
    }

    pub(crate) fn contains(&self, counter: u64) -> bool {
        self.0
            .binary_search_by(|&(start, end)| {
                if end < counter {
                    Ordering::Less
                } else if start > counter {
                    Ordering::Greater
                } else {
                    Ordering::Equal
                }
            })
            .is_ok()
    }

    /// Adds `start..=end` (with `1 <= start <= end`), merging what it touches.
    pub(crate) fn insert(&mut self, start: u64, end: u64) {
        debug_assert!(1 <= start && start <= end);
        // The common case: the next event of a replica seen in order.
        if let Some(last) = self.0.last_mut() {
            if last.1.saturating_add(1) >= start && last.0 <= start {
                last.1 = last.1.max(end);
                return;
            }
        } else {
            self.0.push((start, end));
            return;
        }
        // First range that ends at or after start - 1 (could merge with the new one).
        let first = self
            .0
            .partition_point(|&(_, e)| e.saturating_add(1) < start);
        // First range that starts after end + 1 (cannot merge).
        let last = self.0.partition_point(|&(s, _)| s <= end.saturating_add(1));
        if first == last {
            self.0.insert(first, (start, end));
        } else {
            let merged = (start.min(self.0[first].0), end.max(self.0[last - 1].1));
            self.0.drain(first + 1..last);
            self.0[first] = merged;
        }
    }

    /// Adds every range of `other`.
    pub(crate) fn union(&mut self, other: &Self) {
        if self.0.is_empty() {
            self.0.clone_from(&other.0);
            return;
        }
        for (start, end) in other.iter() {
            self.insert(start, end);
        }
    }

    /// Removes the given counters, which must be ascending.
    pub(crate) fn remove_sorted(&mut self, counters: impl IntoIterator<Item = u64>) {
        let mut result: SmallVec<[(u64, u64); 1]> = SmallVec::new();
        let mut counters = counters.into_iter().peekable();
        for &(start, end) in &self.0 {
            let mut from = start;
            while let Some(&counter) = counters.peek() {
                if counter > end {
                    break;
                }
                counters.next();
                if counter < from {
                    continue;
                }
                if counter > from {
                    result.push((from, counter - 1));
                }
                from = counter + 1;
            }
            if from <= end {
                result.push((from, end));
            }
        }
        self.0 = result;
    }

    /// Builds from ranges already checked to be valid (see [`Self::validate`]).
    pub(crate) fn from_valid(ranges: impl IntoIterator<Item = (u64, u64)>) -> Self {
        Self(ranges.into_iter().collect())
    }

    /// Whether `ranges` satisfy the invariant: each `1 <= start <= end <= MAX`, sorted,
    /// disjoint and non-adjacent.
    pub(crate) fn validate(ranges: &[(u64, u64)], max: u64) -> bool {
        ranges.iter().all(|&(s, e)| 1 <= s && s <= e && e <= max)
            && ranges.windows(2).all(|pair| pair[0].1 + 1 < pair[1].0)
    }
}
