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
//! Cost: besides the sorted entries, the map keeps an index from each live dot to its key, so
//! a join only visits the keys the other side holds plus the keys owning dots the other side's
//! context covers. Joining a small delta into a large map is thus O(k log n) for k touched
//! keys, independent of the map's size; a full-state join stays linear, as it must be.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use serde::de::DeserializeOwned;
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use smallvec::SmallVec;

use crate::causal::causal_context::CausalContext;
use crate::causal::dot::Dot;
use crate::causal::dot_store::{DotStore, Key, StoreEncoding, WithContext};
use crate::codec::decode_error::DecodeError;

/// Keys, sorted, each with a non-bottom nested store; plus an index from live dot to key.
#[derive(Clone)]
pub struct DotMap<K, S> {
    entries: BTreeMap<K, S>,
    /// Every live dot of every entry, with its key: derived from `entries`, never encoded.
    index: BTreeMap<Dot, K>,
}

impl<K, S> Default for DotMap<K, S> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            index: BTreeMap::new(),
        }
    }
}

impl<K: PartialEq, S: PartialEq> PartialEq for DotMap<K, S> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl<K: Eq, S: Eq> Eq for DotMap<K, S> {}

impl<K: fmt::Debug, S: fmt::Debug> fmt::Debug for DotMap<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter()).finish()
    }
}

impl<K: Ord + Clone, S: DotStore> DotMap<K, S> {
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

    /// The keys, ascending.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &K> + '_ {
        self.entries.keys()
    }

    /// The entries, ascending by key.
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

    /// Joins `theirs` into the entry of `key`, keeping the index in step.
    fn join_entry(
        &mut self,
        key: &K,
        context: &CausalContext,
        theirs: &S,
        other_context: &CausalContext,
    ) {
        let Some(mine) = self.entries.get_mut(key) else {
            let mut fresh = S::default();
            fresh.join(context, theirs, other_context);
            self.insert_entry(key.clone(), fresh);
            return;
        };
        let before: SmallVec<[Dot; 4]> = mine.dots().collect();
        mine.join(context, theirs, other_context);
        let mut after = mine.dots().peekable();
        let mut before = before.into_iter().peekable();
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
        drop(after);
        if mine.is_bottom() {
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
        // Keys the other side does not hold but whose dots it has seen: it removed them there.
        // Found through the index, so a small delta costs no walk over the whole map.
        let mut removed: Vec<K> = Vec::new();
        for (replica, ranges) in other_context.entries() {
            for (start, end) in ranges.iter() {
                let span = Dot::new(replica, start)..=Dot::new(replica, end);
                removed.extend(
                    self.index
                        .range(span)
                        .map(|(_, key)| key)
                        .filter(|key| !other.entries.contains_key(key))
                        .cloned(),
                );
            }
        }
        removed.sort_unstable();
        removed.dedup();
        let bottom = S::default();
        for key in &removed {
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
        for (key, store) in &self.entries {
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
