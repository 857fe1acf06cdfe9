//! Tests of `MerkleIndex` against a `BTreeMap` model.

use std::collections::BTreeMap;

use crdt_sync::merkle_index::MerkleIndex;
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

/// A small deterministic generator, so the non-quickcheck tests are reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    fn hash(&mut self) -> u128 {
        u128::from(self.next()) << 64 | u128::from(self.next())
    }
}

fn model_sum<'a>(hashes: impl Iterator<Item = &'a u128>) -> u128 {
    hashes.fold(0, |acc, hash| acc.wrapping_add(*hash))
}

/// Compares everything observable about `index` with `model`, probing ranks
/// and ranges chosen by `random`.
fn assert_matches(index: &MerkleIndex<u16>, model: &BTreeMap<u16, u128>, random: &mut XorShift) {
    let entries: Vec<(u16, u128)> = model.iter().map(|(key, hash)| (*key, *hash)).collect();
    assert_eq!(index.len(), entries.len());
    assert_eq!(index.is_empty(), entries.is_empty());
    assert_eq!(index.sum(), model_sum(model.values()));
    for (rank, (key, hash)) in entries.iter().enumerate() {
        assert_eq!(index.select(rank), Some((key, *hash)), "select({rank})");
    }
    assert_eq!(index.select(entries.len()), None);
    let all: Vec<(u16, u128)> = index
        .iter_ranks(0..usize::MAX)
        .map(|(key, hash)| (*key, hash))
        .collect();
    assert_eq!(all, entries);

    let mut prefix = vec![0u128];
    for (_, hash) in &entries {
        prefix.push(prefix[prefix.len() - 1].wrapping_add(*hash));
    }
    for _ in 0..8 {
        let (start, end) = (
            random.below(entries.len() + 3),
            random.below(entries.len() + 3),
        );
        let (clamped_start, clamped_end) = (start.min(entries.len()), end.min(entries.len()));
        assert_eq!(
            index.prefix_sum(end),
            prefix[clamped_end],
            "prefix_sum({end})"
        );
        let expected = if clamped_start < clamped_end {
            prefix[clamped_end].wrapping_sub(prefix[clamped_start])
        } else {
            0
        };
        assert_eq!(
            index.range_sum(start..end),
            expected,
            "range_sum({start}..{end})"
        );
        let slice: Vec<(u16, u128)> = index
            .iter_ranks(start..end)
            .map(|(key, hash)| (*key, hash))
            .collect();
        assert_eq!(
            slice,
            entries
                .get(start..end.max(start).min(entries.len()))
                .unwrap_or(&[])
        );
    }

    for _ in 0..8 {
        // Mostly neighbours of present keys, where off-by-one errors show.
        let probe = match entries.len() {
            len if len > 0 && random.below(4) > 0 => entries[random.below(len)]
                .0
                .wrapping_add(random.below(3) as u16)
                .wrapping_sub(1),
            _ => random.next() as u16,
        };
        assert_eq!(
            index.rank(&probe),
            model.range(..probe).count(),
            "rank({probe})"
        );
        assert_eq!(
            index.get(&probe),
            model.get(&probe).copied(),
            "get({probe})"
        );
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u16, u128),
    Remove(u16),
    /// Runs of consecutive keys fill or empty whole leaves at once, so splits
    /// and merges cascade through several levels within a short script.
    InsertRun(u16, u8, u128),
    RemoveRun(u16, u8),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 16 {
            0..=7 => Op::Insert(u16::arbitrary(g), u128::arbitrary(g)),
            8..=12 => Op::Remove(u16::arbitrary(g)),
            13 | 14 => Op::InsertRun(u16::arbitrary(g), u8::arbitrary(g), u128::arbitrary(g)),
            _ => Op::RemoveRun(u16::arbitrary(g), u8::arbitrary(g)),
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        match self.clone() {
            Op::InsertRun(start, len, hash) => {
                Box::new(len.shrink().map(move |len| Op::InsertRun(start, len, hash)))
            }
            Op::RemoveRun(start, len) => {
                Box::new(len.shrink().map(move |len| Op::RemoveRun(start, len)))
            }
            _ => Box::new(std::iter::empty()),
        }
    }
}

/// Operations on keys drawn from `0..domain`: small domains force replacements
/// and removals of present keys, large ones grow trees several levels deep.
#[derive(Clone, Debug)]
struct Script {
    domain: u16,
    ops: Vec<Op>,
}

impl Arbitrary for Script {
    fn arbitrary(g: &mut Gen) -> Self {
        let domain = *g.choose(&[16, 300, 5000]).unwrap_or(&300);
        // Checking every rank after every op costs O(n log n), so the deep
        // trees get shorter scripts; runs still grow them past 2000 keys.
        let len = match domain {
            5000 => usize::from(u16::arbitrary(g)) % 300 + 300,
            _ => usize::from(u16::arbitrary(g)) % 1500 + 500,
        };
        Script {
            domain,
            ops: (0..len).map(|_| Op::arbitrary(g)).collect(),
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let domain = self.domain;
        Box::new(self.ops.shrink().map(move |ops| Script { domain, ops }))
    }
}

fn script_matches_model(script: Script) -> TestResult {
    let mut index = MerkleIndex::new();
    let mut model = BTreeMap::new();
    let mut random = XorShift(0x2545_F491_4F6C_DD1D);
    let domain = script.domain;
    for op in script.ops {
        match op {
            Op::Insert(key, hash) => {
                let key = key % domain;
                assert_eq!(
                    index.insert(key, hash),
                    model.insert(key, hash),
                    "insert({key})"
                );
            }
            Op::Remove(key) => {
                let key = key % domain;
                assert_eq!(index.remove(&key), model.remove(&key), "remove({key})");
            }
            Op::InsertRun(start, len, hash) => {
                for key in (start % domain..domain).take(usize::from(len)) {
                    let hash = hash.wrapping_mul(u128::from(key) + 1);
                    assert_eq!(
                        index.insert(key, hash),
                        model.insert(key, hash),
                        "insert({key})"
                    );
                }
            }
            Op::RemoveRun(start, len) => {
                for key in (start % domain..domain).take(usize::from(len)) {
                    assert_eq!(index.remove(&key), model.remove(&key), "remove({key})");
                }
            }
        }
        assert_matches(&index, &model, &mut random);
    }
    TestResult::passed()
}

#[test]
fn random_operations_match_btreemap() {
    QuickCheck::new()
        .tests(30)
        .rng(Gen::new(100))
        .quickcheck(script_matches_model as fn(Script) -> TestResult);
}

#[test]
fn large_random_workload_matches_btreemap() {
    let mut random = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut index = MerkleIndex::new();
    let mut model = BTreeMap::new();
    for _ in 0..100_000 {
        let (key, hash) = (random.next(), random.hash());
        assert_eq!(index.insert(key, hash), model.insert(key, hash));
    }
    assert_eq!(index.len(), model.len());

    let every_other: Vec<u64> = model.keys().step_by(2).copied().collect();
    for key in &every_other {
        assert_eq!(index.remove(key), model.remove(key));
        assert_eq!(index.remove(key), None, "a removed key must be gone");
    }
    assert_eq!(index.len(), model.len());
    assert_eq!(index.sum(), model_sum(model.values()));
    assert!(
        index
            .iter_ranks(0..index.len())
            .eq(model.iter().map(|(key, hash)| (key, *hash)))
    );
    let mut prefix = 0u128;
    for (rank, (key, hash)) in model.iter().enumerate() {
        if rank % 101 == 0 {
            assert_eq!(index.select(rank), Some((key, *hash)));
            assert_eq!(index.rank(key), rank);
            assert_eq!(index.prefix_sum(rank), prefix);
            assert_eq!(
                index.range_sum(rank..rank + 50),
                model
                    .values()
                    .skip(rank)
                    .take(50)
                    .fold(0, |acc: u128, h| acc.wrapping_add(*h))
            );
        }
        prefix = prefix.wrapping_add(*hash);
    }
    for key in every_other.iter().step_by(97) {
        assert_eq!(index.get(key), None);
        assert_eq!(index.rank(key), model.range(..key).count());
    }

    let mut remaining: Vec<u64> = model.keys().copied().collect();
    // Remove in an order unrelated to key order, so merges hit every part of the tree.
    remaining.sort_by_key(|key| key.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    for key in &remaining {
        assert_eq!(index.remove(key), model.remove(key));
    }
    assert!(index.is_empty());
    assert_eq!((index.len(), index.sum(), index.prefix_sum(10)), (0, 0, 0));
    assert_eq!(index.select(0), None);
    assert_eq!(index.iter_ranks(0..10).count(), 0);
    assert_eq!(index.get(&remaining[0]), None);

    // The emptied tree must still work as a tree.
    for key in (0..1000u64).rev() {
        index.insert(key, u128::from(key));
    }
    assert_eq!(index.select(500), Some((&500, 500)));
    assert_eq!(index.prefix_sum(1000), (0..1000).sum::<u128>());
}

#[test]
fn from_sorted_equals_inserting_one_by_one() {
    let mut random = XorShift(0xDEAD_BEEF_CAFE_F00D);
    for len in [0usize, 1, 2, 63, 64, 65, 127, 2047, 2048, 2049, 40_000] {
        let items: Vec<(u32, u128)> = (0..len as u32)
            .map(|i| (i * 2 + 1, random.hash()))
            .collect();
        let bulk = MerkleIndex::from_sorted(items.iter().copied()).expect("input is sorted");
        let mut incremental = MerkleIndex::new();
        for (key, hash) in items.iter().rev() {
            incremental.insert(*key, *hash);
        }
        assert_eq!(bulk.len(), len);
        assert_eq!(bulk.sum(), incremental.sum());
        assert_eq!(bulk.sum(), model_sum(items.iter().map(|(_, hash)| hash)));
        for rank in 0..=len + 1 {
            assert_eq!(
                bulk.select(rank),
                incremental.select(rank),
                "select({rank})"
            );
            assert_eq!(
                bulk.prefix_sum(rank),
                incremental.prefix_sum(rank),
                "prefix_sum({rank})"
            );
        }
        assert!(
            bulk.iter_ranks(0..len)
                .eq(items.iter().map(|(key, hash)| (key, *hash)))
        );
        for probe in (0..len as u32 * 2 + 2).step_by(7) {
            assert_eq!(bulk.rank(&probe), incremental.rank(&probe));
            assert_eq!(bulk.get(&probe), incremental.get(&probe));
        }

        // A bulk-built tree must keep working under edits in both directions.
        let mut bulk = bulk;
        for (key, _) in items.iter().step_by(3) {
            assert_eq!(bulk.remove(key), incremental.remove(key));
            assert_eq!(bulk.insert(key + 1, 5), incremental.insert(key + 1, 5));
        }
        assert_eq!(bulk.sum(), incremental.sum());
        assert!(
            bulk.iter_ranks(0..usize::MAX)
                .eq(incremental.iter_ranks(0..usize::MAX))
        );
    }
}

#[test]
fn from_sorted_rejects_out_of_order_input_at_the_offending_index() {
    let build = |keys: &[u8]| {
        MerkleIndex::from_sorted(keys.iter().map(|key| (*key, u128::from(*key))))
            .map(|index| index.len())
    };
    assert_eq!(build(&[]), Ok(0));
    assert_eq!(build(&[1, 3, 2]), Err(2));
    assert_eq!(build(&[5, 6, 7, 7]), Err(3));
    assert_eq!(build(&[4, 4]), Err(1));
    assert_eq!(build(&[9, 1, 2]), Err(1));
    assert_eq!(build(&[1, 2, 3]), Ok(3));
}
