//! [`DotMap`]: keys mapped to nested dot stores, the store of AWSet (element → dot set) and
//! ORMap (key → the embedded value's store).
//!
//! ```
//! use crdt_core::{AWSet, ReplicaId};
//!
//! let mut set = AWSet::new();
//! set.add(ReplicaId::from_u128(1), "eggs");
//! let store = set.state().store();
//! assert!(store.contains_key(&"eggs"));
//! assert_eq!(store.keys().collect::<Vec<_>>(), [&"eggs"]);
//! ```
//!
//! Join is per key, by the nested store's join under the shared contexts; a key whose store
//! becomes bottom disappears. A key exists while some dot under it is live.
//!
//! Cost: entries live in a hash map (iteration order is unspecified; encodings sort by key, so
//! they stay canonical), beside an index from each live dot to its key. A join visits only the
//! keys the other side holds plus the keys owning dots that both sides have seen, found through
//! the index: joining a small delta into a large map costs O(k) hash lookups for k touched keys,
//! independent of the map's size. A full-state join stays linear, as it must.

use alloc::vec::Vec;
use core::fmt;

use hashbrown::HashMap;
use hashbrown::hash_map::RawEntryMut;
use serde::de::DeserializeOwned;
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use smallvec::SmallVec;

use crate::causal::causal_context::CausalContext;
use crate::causal::dot::Dot;
use crate::causal::dot_store::{DotStore, Key, StoreEncoding, WithContext};
use crate::codec::decode_error::DecodeError;

/// Keys, each with a non-bottom nested store; plus an index from live dot to key.
#[derive(Clone)]
pub struct DotMap<K, S> {
    entries: HashMap<K, S>,
    /// Every live dot of every entry, with its key: derived from `entries`, never encoded.
    index: HashMap<Dot, K>,
}

impl<K, S> Default for DotMap<K, S> {
    fn default() -> Self {
        Self {
            entries: HashMap::default(),
            index: HashMap::default(),
        }
    }
}

impl<K: Key, S: PartialEq> PartialEq for DotMap<K, S> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl<K: Key, S: Eq> Eq for DotMap<K, S> {}

impl<K: Key, S: fmt::Debug> fmt::Debug for DotMap<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(sorted(&self.entries)).finish()
    }
}

/// The entries in key order: what encodings and debug output need to be canonical.
fn sorted<K: Ord, S>(entries: &HashMap<K, S>) -> Vec<(&K, &S)> {
    let mut sorted: Vec<(&K, &S)> = entries.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    sorted
}

impl<K: Key, S: DotStore> DotMap<K, S> {
    /// The map holding `store` under `key` only (nothing if `store` is bottom).
    pub fn single(key: K, store: S) -> Self {
        let mut map = Self::default();
        map.insert_entry(key, store);
        map
    }

    /// The store under `key`.
    pub fn get(&self, key: &K) -> Option<&S> {
        self.entries.get(key)
    }

    /// Whether `key` has a live entry.
    pub fn contains_key(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    /// The keys, in no particular order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &K> + '_ {
        self.entries.keys()
    }

    /// The entries, in no particular order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, &S)> + '_ {
        self.entries.iter()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The key owning the live dot `dot`.
    pub fn key_of(&self, dot: &Dot) -> Option<&K> {
        self.index.get(dot)
    }

    fn insert_entry(&mut self, key: K, store: S) {
        if store.is_bottom() {
            return;
        }
        for dot in store.dots() {
            self.index.insert(dot, key.clone());
        }
        self.entries.insert(key, store);
    }

    /// The keys this map holds that the other side does not, but whose dots it has seen: it
    /// removed them. Only dots both contexts cover can be such dots; when they are fewer than
    /// the live dots here, each is looked up in the index, otherwise the index is scanned.
    fn removed_by(
        &self,
        context: &CausalContext,
        other: &Self,
        other_context: &CausalContext,
    ) -> Vec<K> {
        let overlap = context.overlap(other_context);
        let shared_dots = overlap.iter().fold(0u64, |sum, &(_, start, end)| {
            sum.saturating_add(end - start + 1)
        });
        let mut removed: Vec<K> = Vec::new();
        let mut consider = |key: &K| {
            if !other.entries.contains_key(key) {
                removed.push(key.clone());
            }
        };
        if shared_dots <= self.index.len() as u64 {
            for (replica, start, end) in overlap {
                for counter in start..=end {
                    if let Some(key) = self.index.get(&Dot::new(replica, counter)) {
                        consider(key);
                    }
                }
            }
        } else {
            for (dot, key) in &self.index {
                if other_context.contains(dot) {
                    consider(key);
                }
            }
        }
        removed.sort_unstable();
        removed.dedup();
        removed
    }

    /// Joins `theirs` into the entry of `key`, keeping the index in step.
    fn join_entry(
        &mut self,
        key: &K,
        context: &CausalContext,
        theirs: &S,
        other_context: &CausalContext,
    ) {
        let mine = match self.entries.raw_entry_mut().from_key(key) {
            RawEntryMut::Vacant(vacant) => {
                let mut fresh = S::default();
                fresh.join(context, theirs, other_context);
                if !fresh.is_bottom() {
                    for dot in fresh.dots() {
                        self.index.insert(dot, key.clone());
                    }
                    vacant.insert(key.clone(), fresh);
                }
                return;
            }
            RawEntryMut::Occupied(occupied) => occupied.into_mut(),
        };
        let mut before: SmallVec<[Dot; 4]> = mine.dots().collect();
        mine.join(context, theirs, other_context);
        let mut after: SmallVec<[Dot; 4]> = mine.dots().collect();
        let bottom = mine.is_bottom();
        before.sort_unstable();
        after.sort_unstable();
        let (mut before, mut after) = (before.into_iter().peekable(), after.into_iter().peekable());
        // Both ascending: walk them together to find the dots that left and arrived.
        loop {
            match (before.peek().copied(), after.peek().copied()) {
                (None, None) => break,
                (Some(old), Some(new)) if old == new => {
                    before.next();
                    after.next();
                }
                (Some(old), Some(new)) if new < old => {
                    self.index.insert(new, key.clone());
                    after.next();
                }
                (Some(old), _) => {
                    self.index.remove(&old);
                    before.next();
                }
                (None, Some(new)) => {
                    self.index.insert(new, key.clone());
                    after.next();
                }
            }
        }
        if bottom {
            self.entries.remove(key);
        }
    }
}

impl<K: Key, S: DotStore> DotStore for DotMap<K, S> {
    fn is_bottom(&self) -> bool {
        self.entries.is_empty()
    }

    fn dots(&self) -> impl Iterator<Item = Dot> + '_ {
        self.index.keys().copied()
    }

    fn join(&mut self, context: &CausalContext, other: &Self, other_context: &CausalContext) {
        let bottom = S::default();
        for key in &self.removed_by(context, other, other_context) {
            self.join_entry(key, context, &bottom, other_context);
        }
        for (key, theirs) in &other.entries {
            self.join_entry(key, context, theirs, other_context);
        }
    }

    fn unseen_by(&self, context: &CausalContext) -> Self {
        let mut unseen = Self::default();
        for (key, store) in &self.entries {
            unseen.insert_entry(key.clone(), store.unseen_by(context));
        }
        unseen
    }
}

impl<K, S> StoreEncoding for DotMap<K, S>
where
    K: Key + Serialize + DeserializeOwned,
    S: StoreEncoding,
{
    type Raw = Vec<(K, S::Raw)>;

    fn serialize_with<Ser: Serializer>(
        &self,
        context: &CausalContext,
        serializer: Ser,
    ) -> Result<Ser::Ok, Ser::Error> {
        let mut seq = serializer.serialize_seq(Some(self.entries.len()))?;
        for (key, store) in sorted(&self.entries) {
            seq.serialize_element(&(key, WithContext(store, context)))?;
        }
        seq.end()
    }

    fn from_raw(raw: Self::Raw, context: &CausalContext) -> Result<Self, DecodeError> {
        let mut map = Self::default();
        let mut previous: Option<K> = None;
        for (key, raw_store) in raw {
            if previous.as_ref().is_some_and(|previous| *previous >= key) {
                return Err(DecodeError::invalid("map keys not sorted or duplicated"));
            }
            let store = S::from_raw(raw_store, context)?;
            if store.is_bottom() {
                return Err(DecodeError::invalid("map entry with an empty store"));
            }
            for dot in store.dots() {
                if map.index.insert(dot, key.clone()).is_some() {
                    return Err(DecodeError::invalid("one dot under two map keys"));
                }
            }
            previous = Some(key.clone());
            map.entries.insert(key, store);
        }
        Ok(map)
    }
}
