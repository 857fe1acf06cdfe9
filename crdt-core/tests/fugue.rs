//! An executable specification of the sequence order: a small reference FugueMax in the tree
//! form of Weidner and Kleppmann ("The Art of the Fugue", arXiv:2305.00583), and random
//! concurrent sessions on 2–5 replicas that must give, on every replica and after every sync,
//! the document the reference gives for the operations that replica holds.
//!
//! The reference keeps every element as a node of a tree under a virtual root (the start of the
//! document): a node is a left or a right child of its parent, and the document is the in-order
//! walk (a node's left children, the node, its right children), tombstones included. Left
//! siblings are ordered by id; right siblings by their right origins, the one whose right
//! origin is further right first, then by id (FugueMax's rule). An insert at a visible position
//! takes the visible element before it as its left origin `l` (the root at position 0) and the
//! next node of the walk as its right origin `r` (none at the end): it is a right child of `l`
//! if `l` has no right child, otherwise a left child of `r`.
//!
//! Nothing here is fast: the walk is recomputed from scratch whenever a node is added.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use crdt_core::{DeltaSince, Lattice, ReplicaId, Rga};

/// An element of the reference: where it hangs, what it was inserted between, its value.
#[derive(Clone, Debug)]
struct Node {
    /// `(replica, counter)`, as the sequence names it.
    id: (ReplicaId, u64),
    /// The parent node (`None`: the root).
    parent: Option<usize>,
    /// Whether it is a right child of its parent.
    right_child: bool,
    /// Its left origin (`None`: the start).
    left_origin: Option<usize>,
    /// Its right origin (`None`: the end).
    right_origin: Option<usize>,
    value: u64,
}

/// An operation of a session, as the reference sees it: nodes inserted or deleted (by index in
/// the session's list of nodes).
#[derive(Clone, Debug)]
enum Op {
    Insert(Vec<usize>),
    Delete(Vec<usize>),
}

/// Every node and operation of a session, in the order they were made.
#[derive(Default)]
struct Reference {
    nodes: Vec<Node>,
    ops: Vec<Op>,
}

/// A replica's view in the reference: the nodes it has placed, in document order (tombstones
/// included), and which of them are deleted.
#[derive(Default)]
struct View {
    order: Vec<usize>,
    deleted: BTreeSet<usize>,
}

impl Reference {
    /// Brings `view` to the document of a replica holding the operations `known` (a superset
    /// of what it held before). A node is placed once both its origins are (as the sequence
    /// keeps the others pending).
    fn update(&self, view: &mut View, known: &BTreeSet<usize>) {
        let mut held: BTreeSet<usize> = BTreeSet::new();
        let mut deleted = BTreeSet::new();
        for &op in known {
            match &self.ops[op] {
                Op::Insert(nodes) => held.extend(nodes),
                Op::Delete(nodes) => deleted.extend(nodes),
            }
        }
        let mut placed: BTreeSet<usize> = view.order.iter().copied().collect();
        // Nodes are made after their origins, so one pass in creation order places each node
        // after everything it depends on.
        for node in held {
            let Node {
                left_origin,
                right_origin,
                ..
            } = self.nodes[node];
            let ready = |origin: Option<usize>| origin.is_none_or(|o| placed.contains(&o));
            if !placed.contains(&node) && ready(left_origin) && ready(right_origin) {
                placed.insert(node);
                view.order = self.walk(&placed, &view.order);
            }
        }
        deleted.retain(|node| placed.contains(node));
        view.deleted = deleted;
    }

    /// The in-order walk of the tree of `members`, ordering right siblings by the positions
    /// of their right origins in `before` (the walk without the newest member: adding a node
    /// never reorders the others, and every right origin is older than the node naming it).
    fn walk(&self, members: &BTreeSet<usize>, before: &[usize]) -> Vec<usize> {
        let positions: HashMap<usize, usize> =
            before.iter().enumerate().map(|(at, &n)| (n, at)).collect();
        let position = |origin: Option<usize>| match origin {
            Some(node) => positions[&node],
            None => usize::MAX,
        };
        let mut children: HashMap<(Option<usize>, bool), Vec<usize>> = HashMap::new();
        for &n in members {
            let node = &self.nodes[n];
            children
                .entry((node.parent, node.right_child))
                .or_default()
                .push(n);
        }
        for ((_, right), siblings) in &mut children {
            if *right {
                siblings.sort_by_key(|&n| {
                    (
                        Reverse(position(self.nodes[n].right_origin)),
                        self.nodes[n].id,
                    )
                });
            } else {
                siblings.sort_by_key(|&n| self.nodes[n].id);
            }
        }
        fn visit(
            node: Option<usize>,
            children: &HashMap<(Option<usize>, bool), Vec<usize>>,
            out: &mut Vec<usize>,
        ) {
            for &child in children.get(&(node, false)).into_iter().flatten() {
                visit(Some(child), children, out);
            }
            out.extend(node);
            for &child in children.get(&(node, true)).into_iter().flatten() {
                visit(Some(child), children, out);
            }
        }
        let mut out = Vec::new();
        visit(None, &children, &mut out);
        out
    }

    /// The visible values of a view.
    fn values(&self, view: &View) -> Vec<u64> {
        view.order
            .iter()
            .filter(|node| !view.deleted.contains(node))
            .map(|&node| self.nodes[node].value)
            .collect()
    }

    /// Records the insert of `ids` (a run: each after the previous) with `values` at visible
    /// position `pos` of `view`; returns the op's index.
    fn insert(
        &mut self,
        view: &View,
        pos: usize,
        ids: &[(ReplicaId, u64)],
        values: &[u64],
    ) -> usize {
        let visible: Vec<usize> = view
            .order
            .iter()
            .copied()
            .filter(|node| !view.deleted.contains(node))
            .collect();
        let left = pos.checked_sub(1).map(|before| visible[before]);
        // The next node of the walk after `left` (after the root: the first node).
        let next_index = match left {
            None => 0,
            Some(left) => view.order.iter().position(|&n| n == left).expect("placed") + 1,
        };
        let right = view.order.get(next_index).copied();
        let has_right_child = match left {
            None => !view.order.is_empty(),
            Some(left) => view
                .order
                .iter()
                .any(|&n| self.nodes[n].parent == Some(left) && self.nodes[n].right_child),
        };
        let mut made = Vec::new();
        let mut previous = left;
        for (index, (&id, &value)) in ids.iter().zip(values).enumerate() {
            // The first node follows the rule; each next one is a right child of the one
            // before, which has no child yet.
            let (parent, right_child) = if index == 0 && has_right_child {
                (right, false)
            } else {
                (previous, true)
            };
            self.nodes.push(Node {
                id,
                parent,
                right_child,
                left_origin: previous,
                right_origin: right,
                value,
            });
            previous = Some(self.nodes.len() - 1);
            made.push(self.nodes.len() - 1);
        }
        self.ops.push(Op::Insert(made));
        self.ops.len() - 1
    }

    /// Records the delete of visible elements `pos..pos + len` of `view`; returns the op's
    /// index.
    fn delete(&mut self, view: &View, pos: usize, len: usize) -> usize {
        let visible: Vec<usize> = view
            .order
            .iter()
            .copied()
            .filter(|node| !view.deleted.contains(node))
            .collect();
        self.ops.push(Op::Delete(visible[pos..pos + len].to_vec()));
        self.ops.len() - 1
    }
}

/// The replica id of replica `index`, spread so that the id order is not the index order.
fn replica(index: usize) -> ReplicaId {
    let spread = (index as u128).wrapping_mul(0x9e37_79b9) % 7 + 1;
    ReplicaId::from_u128(spread << 96 | index as u128)
}

/// One replica of a session: its sequence, what the reference says it holds, and the deltas
/// it made (with their op indexes), to be delivered out of order.
struct Replica {
    rga: Rga<u64>,
    known: BTreeSet<usize>,
    view: View,
}

/// Plays a random session of `replicas` replicas and `steps` steps from `seed`, checking every
/// replica against the reference after every sync and at the end, and that all converge.
fn session(seed: u64, replicas: usize, steps: usize) {
    let mut random = fastrand::Rng::with_seed(seed);
    let mut reference = Reference::default();
    let mut all: Vec<Replica> = (0..replicas)
        .map(|_| Replica {
            rga: Rga::new(),
            known: BTreeSet::new(),
            view: View::default(),
        })
        .collect();
    let mut deltas: Vec<(usize, Rga<u64>)> = Vec::new();
    // Where each replica last edited, so that runs get typed forwards and backwards.
    let mut cursors = vec![0u64; replicas];
    let mut next_value = 1u64;
    for _ in 0..steps {
        let who = random.usize(..replicas);
        let me = &mut all[who];
        reference.update(&mut me.view, &me.known);
        let view = &me.view;
        let len = me.rga.len();
        let roll = random.u8(..10);
        if roll < 6 {
            // Insert: mostly where the cursor is (typing forwards after the previous insert,
            // or backwards before it), sometimes anywhere.
            let pos = match roll {
                0 | 1 => random.u64(..=len),
                _ => cursors[who].min(len),
            };
            let count = 1 + random.usize(..3);
            let values: Vec<u64> = (next_value..next_value + count as u64).collect();
            next_value += count as u64;
            let delta = me.rga.insert(replica(who), pos, values.clone()).unwrap();
            let ids: Vec<(ReplicaId, u64)> = (0..count as u64)
                .map(|k| {
                    let dot = me.rga.id_at(pos + k).unwrap();
                    (dot.replica, dot.counter)
                })
                .collect();
            let op = reference.insert(view, pos as usize, &ids, &values);
            me.known.insert(op);
            deltas.push((op, delta));
            cursors[who] = if random.bool() {
                pos + count as u64
            } else {
                pos
            };
        } else if roll < 8 && len > 0 {
            let pos = random.u64(..len);
            let count = (1 + random.u64(..2)).min(len - pos);
            let delta = me.rga.delete(replica(who), pos, count).unwrap();
            let op = reference.delete(view, pos as usize, count as usize);
            me.known.insert(op);
            deltas.push((op, delta));
            cursors[who] = pos;
        } else {
            let to = random.usize(..replicas);
            let from = random.usize(..replicas);
            match random.u8(..3) {
                // A full state.
                0 => {
                    let state = all[from].rga.clone();
                    let known = all[from].known.clone();
                    all[to].rga.join(&state);
                    all[to].known.extend(known);
                }
                // What `to` lacks of `from`'s state.
                1 => {
                    let delta = all[from].rga.delta_since(&all[to].rga.version());
                    let known = all[from].known.clone();
                    all[to].rga.join(&delta);
                    all[to].known.extend(known);
                }
                // A few deltas, in any order, some maybe before what they depend on.
                _ => {
                    for _ in 0..1 + random.usize(..4) {
                        if deltas.is_empty() {
                            break;
                        }
                        let (op, delta) = &deltas[random.usize(..deltas.len())];
                        all[to].rga.join(delta);
                        all[to].known.insert(*op);
                    }
                }
            }
            check(&reference, &mut all[to], seed, "after a sync");
        }
    }
    for replica in &mut all {
        check(&reference, replica, seed, "before the final sync");
    }
    // Everybody receives everything, in a shuffled order.
    let mut shuffled: Vec<&(usize, Rga<u64>)> = deltas.iter().collect();
    for me in &mut all {
        random.shuffle(&mut shuffled);
        for (op, delta) in &shuffled {
            me.rga.join(delta);
            me.known.insert(*op);
        }
        check(&reference, me, seed, "after receiving everything");
        assert_eq!(me.rga.pending(), 0, "seed {seed}: nothing waits at the end");
    }
    for me in &all[1..] {
        assert_eq!(me.rga, all[0].rga, "seed {seed}: replicas converge");
    }
}

fn check(reference: &Reference, replica: &mut Replica, seed: u64, when: &str) {
    reference.update(&mut replica.view, &replica.known);
    let expected = reference.values(&replica.view);
    let actual: Vec<u64> = replica.rga.iter().copied().collect();
    assert_eq!(
        actual, expected,
        "seed {seed}, {when}: the sequence differs from FugueMax"
    );
}

#[test]
fn random_sessions_order_elements_as_the_reference_fuguemax() {
    for seed in 0..400 {
        session(seed, 2 + (seed % 4) as usize, 60);
    }
}

#[test]
fn long_random_sessions_order_elements_as_the_reference_fuguemax() {
    for seed in 1_000..1_020 {
        session(seed, 2 + (seed % 4) as usize, 250);
    }
}
