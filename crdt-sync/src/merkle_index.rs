//! An ordered map from keys to 128-bit item hashes, built for range-based
//! anti-entropy.
//!
//! ```rust
//! use crdt_sync::merkle_index::MerkleIndex;
//!
//! let mut index = MerkleIndex::new();
//! index.insert("b", 20);
//! index.insert("a", 10);
//! index.insert("c", 30);
//! assert_eq!(index.rank("b"), 1);
//! assert_eq!(index.select(2), Some((&"c", 30)));
//! assert_eq!(index.range_sum(1..3), 50);
//! assert_eq!(index.insert("b", 25), Some(20));
//! assert_eq!(index.sum(), 65);
//! assert_eq!(index.remove("a"), Some(10));
//! assert_eq!(index.iter_ranks(0..2).collect::<Vec<_>>(), [(&"b", 25), (&"c", 30)]);
//! ```
//!
//! [`MerkleIndex`] keeps its keys sorted in a B+tree in which every subtree
//! stores its element count and the wrapping sum of its hashes. The
//! fingerprint of any run of keys by rank is then a difference of two prefix
//! sums, `prefix_sum(end) - prefix_sum(start)`, each found on a single
//! root-to-leaf walk, so two replicas can compare and bisect their key sets
//! without touching the keys themselves. Wrapping addition is used because it
//! is commutative and invertible: the sum of a range does not depend on how
//! the tree happens to be shaped, and subtracting an old hash undoes its
//! contribution exactly.
//!
//! Costs for `n` keys: [`insert`](MerkleIndex::insert),
//! [`remove`](MerkleIndex::remove), [`get`](MerkleIndex::get),
//! [`rank`](MerkleIndex::rank), [`select`](MerkleIndex::select),
//! [`prefix_sum`](MerkleIndex::prefix_sum) and
//! [`range_sum`](MerkleIndex::range_sum) are `O(log n)`;
//! [`iter_ranks`](MerkleIndex::iter_ranks) is `O(log n + k)` for `k` entries;
//! [`from_sorted`](MerkleIndex::from_sorted) is `O(n)`. A change only touches
//! the nodes on one root-to-leaf path and their immediate siblings, so the
//! index is never rebuilt wholesale.

use core::borrow::Borrow;
use core::iter::Zip;
use core::ops::Range;
use core::slice;

/// Most entries a leaf holds. Leaves keep keys and hashes in separate arrays,
/// so a binary search over 64 keys stays within a few cache lines.
const LEAF_CAP: usize = 64;
/// Most children a branch holds; with leaves at least half full, four levels
/// of branches already cover over two million keys.
const BRANCH_CAP: usize = 32;

/// An ordered map from keys to `u128` hashes that answers rank, select and
/// prefix-sum queries over the sorted keys in `O(log n)`.
#[derive(Clone, Debug)]
pub struct MerkleIndex<K> {
    root: Node<K>,
    len: usize,
    sum: u128,
}

#[derive(Clone, Debug)]
enum Node<K> {
    Leaf { keys: Vec<K>, hashes: Vec<u128> },
    Branch(Branch<K>),
}

/// `seps[i]` is a lower bound for the keys of `children[i + 1]` and a strict
/// upper bound for those of `children[i]`. It need not be a present key,
/// which is what lets a removal leave separators alone.
#[derive(Clone, Debug)]
struct Branch<K> {
    seps: Vec<K>,
    children: Vec<Node<K>>,
    /// Per-child totals live in the parent so that walking down by rank or
    /// summing a prefix reads one contiguous array per level.
    counts: Vec<usize>,
    sums: Vec<u128>,
}

fn wrapping_total(values: &[u128]) -> u128 {
    values.iter().fold(0, |acc, value| acc.wrapping_add(*value))
}

/// Splits `items` into the fewest chunks of at most `cap`, with sizes
/// differing by at most one, so that when there is more than one chunk each
/// is at least half full.
fn even_chunks<T>(items: Vec<T>, cap: usize) -> Vec<Vec<T>> {
    let parts = items.len().div_ceil(cap).max(1);
    let (base, extra) = (items.len() / parts, items.len() % parts);
    let mut items = items.into_iter();
    (0..parts)
        .map(|part| {
            items
                .by_ref()
                .take(base + usize::from(part < extra))
                .collect()
        })
        .collect()
}

impl<K> Default for Node<K> {
    fn default() -> Self {
        Node::Leaf {
            keys: Vec::new(),
            hashes: Vec::new(),
        }
    }
}

impl<K: Ord + Clone> Node<K> {
    /// The quantity the capacities bound: entries of a leaf, children of a branch.
    fn width(&self) -> usize {
        match self {
            Node::Leaf { keys, .. } => keys.len(),
            Node::Branch(branch) => branch.children.len(),
        }
    }

    fn cap(&self) -> usize {
        match self {
            Node::Leaf { .. } => LEAF_CAP,
            Node::Branch(_) => BRANCH_CAP,
        }
    }

    fn is_overfull(&self) -> bool {
        self.width() > self.cap()
    }

    fn is_underfull(&self) -> bool {
        self.width() < self.cap() / 2
    }

    fn count(&self) -> usize {
        match self {
            Node::Leaf { keys, .. } => keys.len(),
            Node::Branch(branch) => branch.counts.iter().sum(),
        }
    }

    fn sum(&self) -> u128 {
        match self {
            Node::Leaf { hashes, .. } => wrapping_total(hashes),
            Node::Branch(branch) => wrapping_total(&branch.sums),
        }
    }

    /// Moves the upper half into a new right sibling, returned with the
    /// separator that goes between the two.
    fn split(&mut self) -> (K, Node<K>) {
        let mid = self.width() / 2;
        match self {
            Node::Leaf { keys, hashes } => {
                let right = keys.split_off(mid);
                (
                    right[0].clone(),
                    Node::Leaf {
                        keys: right,
                        hashes: hashes.split_off(mid),
                    },
                )
            }
            Node::Branch(branch) => {
                let seps = branch.seps.split_off(mid);
                let sep = branch
                    .seps
                    .pop()
                    .expect("a split branch has several separators");
                let right = Branch {
                    seps,
                    children: branch.children.split_off(mid),
                    counts: branch.counts.split_off(mid),
                    sums: branch.sums.split_off(mid),
                };
                (sep, Node::Branch(right))
            }
        }
    }

    /// Appends the right sibling `right`, `sep` being the separator between them.
    fn absorb(&mut self, sep: K, right: Node<K>) {
        match (self, right) {
            (
                Node::Leaf { keys, hashes },
                Node::Leaf {
                    keys: more,
                    hashes: more_hashes,
                },
            ) => {
                keys.extend(more);
                hashes.extend(more_hashes);
            }
            (Node::Branch(branch), Node::Branch(right)) => {
                branch.seps.push(sep);
                branch.seps.extend(right.seps);
                branch.children.extend(right.children);
                branch.counts.extend(right.counts);
                branch.sums.extend(right.sums);
            }
            _ => unreachable!("siblings are always at the same depth"),
        }
    }

    fn insert(&mut self, key: K, hash: u128) -> Option<u128> {
        match self {
            Node::Leaf { keys, hashes } => match keys.binary_search(&key) {
                Ok(at) => Some(core::mem::replace(&mut hashes[at], hash)),
                Err(at) => {
                    keys.insert(at, key);
                    hashes.insert(at, hash);
                    None
                }
            },
            Node::Branch(branch) => {
                let at = branch.route(&key);
                let old = branch.children[at].insert(key, hash);
                branch.sums[at] = branch.sums[at]
                    .wrapping_add(hash)
                    .wrapping_sub(old.unwrap_or(0));
                if old.is_none() {
                    branch.counts[at] += 1;
                    if branch.children[at].is_overfull() {
                        branch.split_child(at);
                    }
                }
                old
            }
        }
    }

    fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<u128>
    where
        K: Borrow<Q>,
    {
        match self {
            Node::Leaf { keys, hashes } => {
                let at = keys
                    .binary_search_by(|probe| probe.borrow().cmp(key))
                    .ok()?;
                keys.remove(at);
                Some(hashes.remove(at))
            }
            Node::Branch(branch) => {
                let at = branch.route(key);
                let old = branch.children[at].remove(key)?;
                branch.counts[at] -= 1;
                branch.sums[at] = branch.sums[at].wrapping_sub(old);
                if branch.children[at].is_underfull() {
                    branch.rebalance(at);
                }
                Some(old)
            }
        }
    }
}

impl<K: Ord + Clone> Branch<K> {
    /// The child whose key range contains `key`.
    fn route<Q: Ord + ?Sized>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
    {
        self.seps.partition_point(|sep| sep.borrow() <= key)
    }

    /// Splits the overfull child `at`, placing its new sibling right after it.
    fn split_child(&mut self, at: usize) {
        let (sep, right) = self.children[at].split();
        let (count, sum) = (right.count(), right.sum());
        self.counts[at] -= count;
        self.sums[at] = self.sums[at].wrapping_sub(sum);
        self.seps.insert(at, sep);
        self.children.insert(at + 1, right);
        self.counts.insert(at + 1, count);
        self.sums.insert(at + 1, sum);
    }

    /// Fixes the underfull child `at` by merging it with a neighbour and, if
    /// that is too big for one node, splitting it evenly again. This covers
    /// both merging and borrowing with one code path: an even split of more
    /// than `cap` items leaves both halves at least half full.
    fn rebalance(&mut self, at: usize) {
        // Every branch has at least two children (the root is collapsed as
        // soon as it has one), so a neighbour always exists.
        let left = at.saturating_sub(1);
        let sep = self.seps.remove(left);
        let right = self.children.remove(left + 1);
        self.counts[left] += self.counts.remove(left + 1);
        self.sums[left] = self.sums[left].wrapping_add(self.sums.remove(left + 1));
        self.children[left].absorb(sep, right);
        if self.children[left].is_overfull() {
            self.split_child(left);
        }
    }
}

impl<K> Default for MerkleIndex<K> {
    fn default() -> Self {
        Self {
            root: Node::default(),
            len: 0,
            sum: 0,
        }
    }
}

impl<K: Ord + Clone> MerkleIndex<K> {
    /// Creates an empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bulk build from keys in strictly ascending order (returns
    /// `Err(index of first out-of-order key)` otherwise).
    ///
    /// Runs in `O(n)` by packing leaves and branches level by level instead
    /// of inserting one key at a time.
    pub fn from_sorted(items: impl IntoIterator<Item = (K, u128)>) -> Result<Self, usize> {
        let mut entries: Vec<(K, u128)> = Vec::new();
        for (index, (key, hash)) in items.into_iter().enumerate() {
            if entries.last().is_some_and(|(last, _)| *last >= key) {
                return Err(index);
            }
            entries.push((key, hash));
        }
        if entries.is_empty() {
            return Ok(Self::new());
        }
        let len = entries.len();
        let mut level: Vec<(K, Node<K>)> = even_chunks(entries, LEAF_CAP)
            .into_iter()
            .map(|chunk| {
                let (keys, hashes): (Vec<K>, Vec<u128>) = chunk.into_iter().unzip();
                (keys[0].clone(), Node::Leaf { keys, hashes })
            })
            .collect();
        while level.len() > 1 {
            level = even_chunks(level, BRANCH_CAP)
                .into_iter()
                .map(|group| {
                    let (mins, children): (Vec<K>, Vec<Node<K>>) = group.into_iter().unzip();
                    let mut mins = mins.into_iter();
                    let min = mins.next().expect("chunks are never empty");
                    let branch = Branch {
                        seps: mins.collect(),
                        counts: children.iter().map(Node::count).collect(),
                        sums: children.iter().map(Node::sum).collect(),
                        children,
                    };
                    (min, Node::Branch(branch))
                })
                .collect();
        }
        let (_, root) = level.pop().expect("a non-empty input builds one root");
        let sum = root.sum();
        Ok(Self { root, len, sum })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the index holds no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Inserts or replaces; returns the previous hash.
    pub fn insert(&mut self, key: K, hash: u128) -> Option<u128> {
        let old = self.root.insert(key, hash);
        self.sum = self.sum.wrapping_add(hash).wrapping_sub(old.unwrap_or(0));
        if old.is_none() {
            self.len += 1;
            if self.root.is_overfull() {
                // Growing at the root is the only way the height changes,
                // which keeps every leaf at the same depth.
                let mut root = Branch {
                    seps: Vec::new(),
                    children: vec![core::mem::take(&mut self.root)],
                    counts: vec![self.len],
                    sums: vec![self.sum],
                };
                root.split_child(0);
                self.root = Node::Branch(root);
            }
        }
        old
    }

    /// Removes `key`, returning its hash if it was present.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<u128>
    where
        K: Borrow<Q>,
    {
        let old = self.root.remove(key)?;
        self.len -= 1;
        self.sum = self.sum.wrapping_sub(old);
        if let Node::Branch(root) = &mut self.root
            && root.children.len() == 1
            && let Some(only) = root.children.pop()
        {
            self.root = only;
        }
        Some(old)
    }

    /// The hash stored for `key`, if present.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<u128>
    where
        K: Borrow<Q>,
    {
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf { keys, hashes } => {
                    let at = keys
                        .binary_search_by(|probe| probe.borrow().cmp(key))
                        .ok()?;
                    return Some(hashes[at]);
                }
                Node::Branch(branch) => node = &branch.children[branch.route(key)],
            }
        }
    }

    /// Number of keys strictly less than `key` (key need not be present).
    pub fn rank<Q: Ord + ?Sized>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
    {
        let (mut node, mut rank) = (&self.root, 0);
        loop {
            match node {
                Node::Leaf { keys, .. } => {
                    return rank + keys.partition_point(|probe| probe.borrow() < key);
                }
                Node::Branch(branch) => {
                    let at = branch.route(key);
                    rank += branch.counts[..at].iter().sum::<usize>();
                    node = &branch.children[at];
                }
            }
        }
    }

    /// The key of rank `rank` (0-based), with its hash.
    pub fn select(&self, rank: usize) -> Option<(&K, u128)> {
        (rank < self.len).then(|| {
            let (keys, hashes, at) = self.descend(rank, |_, _| {});
            (&keys[at], hashes[at])
        })
    }

    /// Wrapping sum of the hashes of the first `rank` keys (rank clamped to len).
    pub fn prefix_sum(&self, rank: usize) -> u128 {
        if rank >= self.len {
            return self.sum;
        }
        let mut sum = 0u128;
        let (_, hashes, at) = self.descend(rank, |branch, child| {
            sum = sum.wrapping_add(wrapping_total(&branch.sums[..child]));
        });
        sum.wrapping_add(wrapping_total(&hashes[..at]))
    }

    /// Wrapping sum of the hashes of keys with rank in `ranks` (clamped).
    pub fn range_sum(&self, ranks: Range<usize>) -> u128 {
        let end = ranks.end.min(self.len);
        let start = ranks.start.min(end);
        self.prefix_sum(end).wrapping_sub(self.prefix_sum(start))
    }

    /// Total wrapping sum.
    pub fn sum(&self) -> u128 {
        self.sum
    }

    /// Entries with rank in `ranks`, ascending, in O(log n + k).
    pub fn iter_ranks(&self, ranks: Range<usize>) -> impl Iterator<Item = (&K, u128)> + '_ {
        let remaining = ranks.end.min(self.len).saturating_sub(ranks.start);
        let mut stack = Vec::new();
        let (keys, hashes, at): (&[K], &[u128], usize) = if remaining == 0 {
            (&[], &[], 0)
        } else {
            self.descend(ranks.start, |branch, child| {
                stack.push(branch.children[child + 1..].iter());
            })
        };
        RankIter {
            stack,
            leaf: keys[at..].iter().zip(&hashes[at..]),
            remaining,
        }
    }

    /// Walks to the leaf holding rank `rank` (which must be below `len`),
    /// reporting each branch and the child taken, and returns that leaf's
    /// arrays with the rank's offset inside them.
    fn descend<'a>(
        &'a self,
        mut rank: usize,
        mut visit: impl FnMut(&'a Branch<K>, usize),
    ) -> (&'a [K], &'a [u128], usize) {
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf { keys, hashes } => return (keys, hashes, rank),
                Node::Branch(branch) => {
                    let mut child = 0;
                    while child + 1 < branch.counts.len() && rank >= branch.counts[child] {
                        rank -= branch.counts[child];
                        child += 1;
                    }
                    visit(branch, child);
                    node = &branch.children[child];
                }
            }
        }
    }
}

/// In-order walk that resumes from an explicit path, so each step costs
/// amortised `O(1)` instead of a fresh descent per entry.
struct RankIter<'a, K> {
    /// The not yet visited right siblings of every node on the current path.
    stack: Vec<slice::Iter<'a, Node<K>>>,
    leaf: Zip<slice::Iter<'a, K>, slice::Iter<'a, u128>>,
    remaining: usize,
}

impl<'a, K> Iterator for RankIter<'a, K> {
    type Item = (&'a K, u128);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if let Some((key, hash)) = self.leaf.next() {
                self.remaining -= 1;
                return Some((key, *hash));
            }
            let mut node = loop {
                match self.stack.last_mut()?.next() {
                    Some(node) => break node,
                    None => {
                        self.stack.pop();
                    }
                }
            };
            loop {
                match node {
                    Node::Leaf { keys, hashes } => {
                        self.leaf = keys.iter().zip(hashes);
                        break;
                    }
                    Node::Branch(branch) => {
                        let mut children = branch.children.iter();
                        node = children.next()?;
                        self.stack.push(children);
                    }
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks every structural invariant below `node`, returning its count,
    /// sum and height.
    fn check(
        node: &Node<u64>,
        is_root: bool,
        low: Option<u64>,
        high: Option<u64>,
    ) -> (usize, u128, u32) {
        assert!(!node.is_overfull());
        assert!(
            is_root || !node.is_underfull(),
            "non-root node below half full"
        );
        let in_bounds =
            |key: &u64| low.is_none_or(|low| low <= *key) && high.is_none_or(|high| *key < high);
        match node {
            Node::Leaf { keys, hashes } => {
                assert_eq!(keys.len(), hashes.len());
                assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
                assert!(keys.iter().all(in_bounds));
                (keys.len(), wrapping_total(hashes), 0)
            }
            Node::Branch(branch) => {
                assert!(
                    branch.children.len() >= 2,
                    "a branch with one child wastes a level"
                );
                assert_eq!(branch.seps.len() + 1, branch.children.len());
                assert_eq!(branch.counts.len(), branch.children.len());
                assert_eq!(branch.sums.len(), branch.children.len());
                assert!(branch.seps.iter().all(in_bounds));
                let mut heights = branch.children.iter().enumerate().map(|(at, child)| {
                    let low = if at == 0 {
                        low
                    } else {
                        Some(branch.seps[at - 1])
                    };
                    let high = branch.seps.get(at).copied().or(high);
                    let (count, sum, height) = check(child, false, low, high);
                    assert_eq!((count, sum), (branch.counts[at], branch.sums[at]));
                    height
                });
                let first = heights.next().unwrap_or(0);
                assert!(
                    heights.all(|height| height == first),
                    "leaves at different depths"
                );
                (node.count(), node.sum(), first + 1)
            }
        }
    }

    fn check_index(index: &MerkleIndex<u64>) {
        let (count, sum, height) = check(&index.root, true, None, None);
        assert_eq!((count, sum), (index.len(), index.sum()));
        if height > 0 {
            // The sparsest legal tree: two children at the root, half-full below.
            let min_keys = 2 * (BRANCH_CAP / 2).pow(height - 1) * (LEAF_CAP / 2);
            assert!(
                index.len() >= min_keys,
                "height {height} too tall for {} keys",
                index.len()
            );
        }
    }

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn structure_stays_balanced_through_growth_and_shrinkage() {
        let mut state = 0x9E37_79B9_7F4A_7C15;
        let keys: Vec<u64> = (0..30_000).map(|_| xorshift(&mut state) % 50_000).collect();
        let mut index = MerkleIndex::new();
        for (step, key) in keys.iter().enumerate() {
            index.insert(*key, u128::from(*key) << 64 | 7);
            if step % 997 == 0 {
                check_index(&index);
            }
        }
        check_index(&index);
        for (step, key) in keys.iter().rev().enumerate() {
            index.remove(key);
            if step % 997 == 0 {
                check_index(&index);
            }
        }
        check_index(&index);
        assert!(index.is_empty());
        assert!(matches!(&index.root, Node::Leaf { keys, .. } if keys.is_empty()));
    }

    #[test]
    fn bulk_built_trees_are_valid() {
        for len in [0, 1, 64, 65, 2048, 2049, 65_537] {
            let index = MerkleIndex::from_sorted((0..len).map(|key| (key * 3, u128::from(key))))
                .expect("sorted");
            check_index(&index);
            assert_eq!(index.len(), len as usize);
        }
    }
}
