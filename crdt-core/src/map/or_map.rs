//! [`ORMap`]: a map from keys to embedded causal CRDTs that share the map's causal context.
//!
//! ```
//! use crdt_core::{Lattice, MvRegister, ORMap, ReplicaId};
//!
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! // A shopping cart: item → quantity.
//! let mut at_alice: ORMap<String, MvRegister<u32>> = ORMap::new();
//! at_alice.update("milk".to_string(), |quantity| quantity.write(alice, 1)).unwrap();
//! let mut at_bob = at_alice.clone();
//!
//! // Concurrently: Alice removes milk, Bob sets its quantity to 3.
//! let removal = at_alice.remove(&"milk".to_string());
//! let update = at_bob.update("milk".to_string(), |quantity| quantity.write(bob, 3)).unwrap();
//! at_alice.join(&update);
//! at_bob.join(&removal);
//!
//! // Observed-remove: Bob's write was not observed by the remove, so it survives alone.
//! let milk = at_alice.get(&"milk".to_string()).unwrap();
//! assert_eq!(milk.values().collect::<Vec<_>>(), [&3]);
//! assert_eq!(at_alice, at_bob);
//! ```
//!
//! Semantics: a key is present while its embedded value holds a live event. Updates go through
//! the embedded type's own mutators, so concurrent updates of one key merge by that type's
//! rules. `remove` is an observed-remove *reset*: it removes every event of the key that the
//! remover had seen, nothing else. So on a concurrent remove and update of one key, the update
//! wins for exactly its own effects: the key stays, holding only what the remover had not seen
//! (a concurrent write to an MvRegister, elements added concurrently to an AWSet, …). What is
//! kept: the live events of each present key; removed keys are gone, remembered only by the
//! one shared causal context.

use alloc::vec::Vec;

use crate::causal::causal_context::CausalContext;
use crate::causal::causal_state::{CausalState, causal_crdt_impls};
use crate::causal::causality_error::CausalityError;
use crate::causal::dot::Dot;
use crate::causal::dot_map::DotMap;
use crate::causal::dot_store::{DotStore, Key};
use crate::codec::type_tag;
use crate::lattice::{CausalCrdt, Lattice, MutatorResult};

/// A map from `K` to embedded causal CRDTs `V` (AWSet, MvRegister, ORMap, …).
#[derive(Clone, PartialEq, Debug)]
pub struct ORMap<K: Key, V: CausalCrdt> {
    state: CausalState<DotMap<K, V::Store>>,
}

causal_crdt_impls!(
    ORMap<K, V> where [K: Key, V: CausalCrdt],
    store = DotMap<K, V::Store>,
    view = ORMapRef,
    encodable where [
        K: Key + serde::Serialize + serde::de::DeserializeOwned,
        V: CausalCrdt<Store: crate::causal::dot_store::StoreEncoding> + crate::codec::MapValueTag,
    ],
    tag = <V as crate::codec::MapValueTag>::MAP_TYPE_TAG,
    map_tag = type_tag::OR_MAP
);

impl<K: Key, V: CausalCrdt> ORMap<K, V> {
    /// The empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `mutate` to the value under `key` (starting from the empty value if the key is
    /// absent); returns the map's delta, or `mutate`'s error with the map unchanged (see
    /// [`MutatorResult`]: `mutate` may end with a fallible mutator or an infallible one).
    ///
    /// `mutate` receives the value as seen here, with the map's context, so that new events get
    /// fresh dots and supersede what is seen; it calls the value's mutators, as many as it
    /// likes (`|quantity| quantity.add(alice, 2)`). The map's delta is made from what `mutate`
    /// did to the value, not from what it returns: the `Ok` value (a mutator's delta, usually)
    /// is ignored (only an error counts). So a closure that returns some other value changes nothing by it, and one
    /// that never touches its argument leaves the map as it was and returns the empty delta.
    /// The delta holds the events `mutate` made (those the map had not seen) and removes the
    /// ones it removed; events the value already had are kept as they are.
    pub fn update<R: MutatorResult<V>>(
        &mut self,
        key: K,
        mutate: impl FnOnce(&mut V) -> R,
    ) -> Result<Self, CausalityError> {
        let before = self.state.store().get(&key).cloned().unwrap_or_default();
        let mut value = V::from_state(CausalState::new(
            before.clone(),
            self.state.context().clone(),
        ));
        mutate(&mut value).into_result()?;
        let (after, after_context) = value.into_state().into_parts();
        let mut kept: Vec<Dot> = after.dots().collect();
        kept.sort_unstable();
        let mut context = after_context.difference(self.state.context());
        context.extend(before.dots().filter(|dot| kept.binary_search(dot).is_err()));
        let delta = Self {
            state: CausalState::new(
                DotMap::single(key, after.unseen_by(self.state.context())),
                context,
            ),
        };
        self.join(&delta);
        Ok(delta)
    }

    /// Removes every event of `key` seen here (observed-remove reset); returns the delta.
    pub fn remove(&mut self, key: &K) -> Self {
        let seen: CausalContext = self
            .state
            .store()
            .get(key)
            .into_iter()
            .flat_map(DotStore::dots)
            .collect();
        let delta = Self {
            state: CausalState::new(DotMap::default(), seen),
        };
        self.join(&delta);
        delta
    }

    /// Removes every key as seen here; returns the delta.
    pub fn clear(&mut self) -> Self {
        let delta = Self {
            state: CausalState::new(DotMap::default(), self.state.store().dots().collect()),
        };
        self.join(&delta);
        delta
    }

    /// A read-only view of the value under `key`, if present: borrowed, so reading one value
    /// costs nothing in proportion to the map.
    pub fn get(&self, key: &K) -> Option<V::Ref<'_>> {
        self.view().get(key)
    }

    /// The `(key, value)` entries, in no particular order, values as read-only views.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, V::Ref<'_>)> + '_ {
        self.view().iter()
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &K) -> bool {
        self.view().contains_key(key)
    }

    /// The keys, in no particular order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &K> + '_ {
        self.view().keys()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.view().len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.view().is_empty()
    }
}

/// A read-only view of an [`ORMap`] (as an enclosing map lends its values out).
pub struct ORMapRef<'a, K: Key, V: CausalCrdt>(&'a DotMap<K, V::Store>);

impl<K: Key, V: CausalCrdt> Clone for ORMapRef<'_, K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: Key, V: CausalCrdt> Copy for ORMapRef<'_, K, V> {}

impl<K: Key, V: CausalCrdt> PartialEq for ORMapRef<'_, K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<K: Key, V: CausalCrdt> core::fmt::Debug for ORMapRef<'_, K, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("ORMapRef").field(self.0).finish()
    }
}

impl<'a, K: Key, V: CausalCrdt + 'a> ORMapRef<'a, K, V> {
    /// The value under `key`, if present.
    pub fn get(self, key: &K) -> Option<V::Ref<'a>> {
        self.0.get(key).map(V::view_of)
    }

    /// The `(key, value)` entries, in no particular order.
    pub fn iter(self) -> impl ExactSizeIterator<Item = (&'a K, V::Ref<'a>)> {
        self.0.iter().map(|(key, store)| (key, V::view_of(store)))
    }

    /// Whether `key` is present.
    pub fn contains_key(self, key: &K) -> bool {
        self.0.contains_key(key)
    }

    /// The keys, in no particular order.
    pub fn keys(self) -> impl ExactSizeIterator<Item = &'a K> {
        self.0.keys()
    }

    /// The number of keys.
    pub fn len(self) -> usize {
        self.0.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }
}
