//! [`ORMap`]: a map from keys to embedded causal CRDTs that share the map's causal context.
//!
//! ```
//! use crdt_core::{Lattice, MvRegister, ORMap, ReplicaId};
//!
//! let (alice, bob) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! // A shopping cart: item → quantity.
//! let mut at_alice: ORMap<String, MvRegister<u32>> = ORMap::new();
//! at_alice.update("milk".to_string(), |quantity| quantity.write(alice, 1));
//! let mut at_bob = at_alice.clone();
//!
//! // Concurrently: Alice removes milk, Bob sets its quantity to 3.
//! let removal = at_alice.remove(&"milk".to_string());
//! let update = at_bob.update("milk".to_string(), |quantity| quantity.write(bob, 3));
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

use crate::causal::causal_context::CausalContext;
use crate::causal::causal_state::{CausalState, causal_crdt_impls};
use crate::causal::dot_map::DotMap;
use crate::causal::dot_store::{DotStore, Key};
use crate::codec::type_tag;
use crate::lattice::{CausalCrdt, Lattice};

/// A map from `K` to embedded causal CRDTs `V` (AWSet, MvRegister, ORMap, …).
#[derive(Clone, PartialEq, Debug)]
pub struct ORMap<K: Key, V: CausalCrdt> {
    state: CausalState<DotMap<K, V::Store>>,
}

causal_crdt_impls!(
    ORMap<K, V> where [K: Key, V: CausalCrdt],
    store = DotMap<K, V::Store>,
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

    /// Applies `mutate` (a mutator of `V`, returning its delta) to the value under `key`,
    /// starting from the empty value if the key is absent; returns the map's delta.
    ///
    /// `mutate` receives the value as seen here, with the map's context, so that new events get
    /// fresh dots and supersede what is seen. It must return the delta its mutator returned
    /// (join several with [`Lattice::join`] if it calls more than one), never the value itself:
    /// the value carries the whole map's context, and as a delta it would remove every other
    /// key it has seen.
    pub fn update(&mut self, key: K, mutate: impl FnOnce(&mut V) -> V) -> Self {
        let store = self.state.store().get(&key).cloned().unwrap_or_default();
        let mut value = V::from_state(CausalState::new(store, self.state.context().clone()));
        let (store, context) = mutate(&mut value).into_state().into_parts();
        let delta = Self {
            state: CausalState::new(DotMap::single(key, store), context),
        };
        self.join(&delta);
        delta
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

    /// The value under `key`, if present.
    pub fn get(&self, key: &K) -> Option<V> {
        self.state.store().get(key).map(|store| {
            V::from_state(CausalState::new(
                store.clone(),
                self.state.context().clone(),
            ))
        })
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &K) -> bool {
        self.state.store().contains_key(key)
    }

    /// The keys, in no particular order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &K> + '_ {
        self.state.store().keys()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.state.store().len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.state.store().is_empty()
    }
}
