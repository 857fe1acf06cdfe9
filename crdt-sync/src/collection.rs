//! [`Collection`]: a replica's objects, their delta log, and what each peer has of it.
//!
//! ```
//! use crdt_core::{AWSet, ReplicaId};
//! use crdt_sync::collection::Collection;
//! use crdt_sync::object_id::ObjectId;
//!
//! let alice = ReplicaId::from_u128(1);
//! let mut carts = Collection::new("carts", alice);
//! let cart = ObjectId::new("cart").unwrap();
//! carts.update(&cart, |items: &mut AWSet<String>, me| items.add(me, "milk".into())).unwrap();
//! assert!(carts.get_as::<AWSet<String>>(&cart).unwrap().unwrap().contains(&"milk".to_string()));
//! assert_eq!(carts.log().head(), 1); // the delta waits in the log for the peers
//! ```
//!
//! Every edit, local or from a peer, is joined into its object; an edit that changed something
//! is appended to the delta log, so it reaches every other peer, even one that never talks to the
//! replica that made it. The log drops a delta once every known peer has acknowledged it, or when
//! it outgrows its cap (peers behind it are then repaired by anti-entropy). Each object's
//! digest, a hash of its canonical encoding, feeds the [`MerkleIndex`]; digests of edited objects
//! are recomputed lazily, when anti-entropy next looks, so an edit costs no encoding of its object.

use std::collections::{BTreeMap, BTreeSet};

use crdt_core::ReplicaId;

use crate::delta_log::DeltaLog;
use crate::edit_result::EditResult;
use crate::merkle_index::MerkleIndex;
use crate::object::{Object, ObjectType};
use crate::object_id::ObjectId;
use crate::sync_error::SyncError;

/// How much of two logs a peer and this replica have exchanged.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct PeerProgress {
    /// The last delta of this replica's log the peer has acknowledged.
    pub acked: u64,
    /// The last delta of the peer's log this replica has, with every one before it.
    pub received: u64,
}

/// A replica of one named collection: object id → object, plus the sync bookkeeping.
#[derive(Clone, Debug)]
pub struct Collection {
    name: String,
    replica: ReplicaId,
    objects: BTreeMap<ObjectId, Object>,
    index: MerkleIndex<ObjectId>,
    stale: BTreeSet<ObjectId>,
    log: DeltaLog,
    peers: BTreeMap<ReplicaId, PeerProgress>,
    changed: BTreeSet<ObjectId>,
    unsaved: BTreeSet<ObjectId>,
    max_log_entries: usize,
    limits: Limits,
    size_bounds: BTreeMap<ObjectId, usize>,
    attached: BTreeMap<ReplicaId, usize>,
    keep_log_for_detached: bool,
}

/// What a collection accepts from peers. Local edits are the application's own and are not
/// limited; a peer's update that would break a limit is refused whole, before it is joined.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Limits {
    /// The most objects the collection holds.
    pub max_objects: usize,
    /// The largest canonical encoding of one object, in bytes.
    pub max_object_bytes: usize,
}

impl Default for Limits {
    /// A million objects of at most 1 MiB each: any object then fits in a default frame.
    fn default() -> Self {
        Self {
            max_objects: 1_000_000,
            max_object_bytes: 1 << 20,
        }
    }
}

impl Collection {
    /// How many deltas the log holds at most by default, whatever peers have acknowledged.
    pub const DEFAULT_MAX_LOG_ENTRIES: usize = 100_000;
    /// How many peers' progress records are kept (ids come from peers: this bounds them).
    pub const MAX_PEERS: usize = 10_000;

    /// An empty collection held by `replica`.
    pub fn new(name: impl Into<String>, replica: ReplicaId) -> Self {
        Self {
            name: name.into(),
            replica,
            objects: BTreeMap::new(),
            index: MerkleIndex::new(),
            stale: BTreeSet::new(),
            log: DeltaLog::new(),
            peers: BTreeMap::new(),
            changed: BTreeSet::new(),
            unsaved: BTreeSet::new(),
            max_log_entries: Self::DEFAULT_MAX_LOG_ENTRIES,
            limits: Limits::default(),
            size_bounds: BTreeMap::new(),
            attached: BTreeMap::new(),
            keep_log_for_detached: true,
        }
    }

    /// A collection reloaded from stored objects (a log and peer records start empty): the
    /// Merkle index is built in one pass.
    pub fn from_objects(
        name: impl Into<String>,
        replica: ReplicaId,
        objects: impl IntoIterator<Item = (ObjectId, Object)>,
    ) -> Self {
        let mut collection = Self::new(name, replica);
        collection.objects = objects.into_iter().collect();
        let mut hashes = Vec::with_capacity(collection.objects.len());
        for (id, object) in &collection.objects {
            let encoding = object.encode().unwrap_or_default();
            collection.size_bounds.insert(id.clone(), encoding.len());
            hashes.push((id.clone(), hash_encoding(id, &encoding)));
        }
        // The ids come sorted and unique out of the map, which is all `from_sorted` asks.
        collection.index = MerkleIndex::from_sorted(hashes).unwrap_or_default();
        collection
    }

    /// A collection reloaded from a store: its objects, its log (with the numbers it had) and
    /// what each peer had of it, so gossip resumes where it stopped.
    pub fn restore(
        name: impl Into<String>,
        replica: ReplicaId,
        objects: impl IntoIterator<Item = (ObjectId, Object)>,
        log: DeltaLog,
        peers: impl IntoIterator<Item = (ReplicaId, PeerProgress)>,
    ) -> Self {
        let mut collection = Self::from_objects(name, replica, objects);
        collection.log = log;
        collection.peers = peers.into_iter().collect();
        collection
    }

    /// Sets what the collection accepts from peers.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// What the collection accepts from peers.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Caps the log at `entries` deltas (at least 1); older deltas are dropped first.
    pub fn set_max_log_entries(&mut self, entries: usize) {
        self.max_log_entries = entries.max(1);
        self.trim_log();
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The replica holding this copy.
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// The object named `id`.
    pub fn get(&self, id: &ObjectId) -> Option<&Object> {
        self.objects.get(id)
    }

    /// The object named `id` as a `T`; an error if it holds another type.
    pub fn get_as<T: ObjectType>(&self, id: &ObjectId) -> Result<Option<&T>, SyncError> {
        match self.objects.get(id) {
            None => Ok(None),
            Some(object) => T::as_object(object)
                .map(Some)
                .ok_or(SyncError::TypeMismatch {
                    held: object.type_tag(),
                    received: T::default().into().type_tag(),
                }),
        }
    }

    /// Every object, by id.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&ObjectId, &Object)> + '_ {
        self.objects.iter()
    }

    /// How many objects there are.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether there is no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Edits the object `id` as a `T` (created empty if absent) with a delta mutator, which is
    /// given the object and this replica's id; logs the delta and returns it. The mutator may
    /// be infallible or fallible ([`EditResult`]); a refused edit changes nothing and is
    /// returned as [`SyncError::Edit`].
    pub fn update<T: ObjectType + Clone, R: EditResult<T>>(
        &mut self,
        id: &ObjectId,
        edit: impl FnOnce(&mut T, ReplicaId) -> R,
    ) -> Result<T, SyncError> {
        self.try_update(id, |value, replica| edit(value, replica).into_result())
    }

    /// [`update`](Self::update) with a mutator that may refuse (a position out of range, say):
    /// then nothing changes, not even the creation of the object, and its error is returned.
    pub fn try_update<T: ObjectType + Clone, E: From<SyncError>>(
        &mut self,
        id: &ObjectId,
        edit: impl FnOnce(&mut T, ReplicaId) -> Result<T, E>,
    ) -> Result<T, E> {
        let created = !self.objects.contains_key(id);
        let object = self
            .objects
            .entry(id.clone())
            .or_insert_with(|| T::default().into());
        let held = object.type_tag();
        let value = T::as_object_mut(object).ok_or_else(|| SyncError::TypeMismatch {
            held,
            received: T::default().into().type_tag(),
        })?;
        let delta = match edit(value, self.replica) {
            Ok(delta) => delta,
            Err(error) => {
                if created {
                    self.objects.remove(id);
                }
                return Err(error);
            }
        };
        let delta_object: Object = delta.clone().into();
        let size = encoded_size(&delta_object);
        self.log_delta(id, delta_object, None, size);
        Ok(delta)
    }

    /// Joins a delta (or a whole object) received from `origin`; says whether anything changed.
    /// A change is logged so that it travels on to the other peers.
    /// Refused with [`SyncError::TooManyObjects`] or [`SyncError::ObjectTooLarge`] if it would
    /// break the collection's [`Limits`]; nothing changes then.
    pub fn apply_remote(
        &mut self,
        id: &ObjectId,
        delta: &Object,
        origin: ReplicaId,
    ) -> Result<bool, SyncError> {
        let size = encoded_size(delta);
        let changed = match self.fit(id, delta, size)? {
            Fit::New => {
                self.objects.insert(id.clone(), delta.clone());
                self.size_bounds.insert(id.clone(), size);
                self.stale.insert(id.clone());
                self.changed.insert(id.clone());
                self.unsaved.insert(id.clone());
                delta.bottom() != *delta
            }
            // `fit` found the object, so it is there.
            Fit::Within(bound) => match self.objects.get_mut(id) {
                Some(object) => {
                    let changed = object.join(delta)?;
                    self.size_bounds.insert(id.clone(), bound);
                    changed
                }
                None => false,
            },
            Fit::Joined(joined, changed, exact) => {
                self.objects.insert(id.clone(), *joined);
                self.size_bounds.insert(id.clone(), exact);
                changed
            }
        };
        if changed {
            self.log_delta(id, delta.clone(), Some(origin), size);
        }
        Ok(changed)
    }

    /// Whether a peer's `delta` (of encoded `size`) fits the limits on object `id`. A join's
    /// encoding is at most about the sum of its parts', so the exact size is only computed,
    /// on a joined copy, when that bound crosses the limit.
    fn fit(&self, id: &ObjectId, delta: &Object, size: usize) -> Result<Fit, SyncError> {
        let limit = self.limits.max_object_bytes;
        let Some(object) = self.objects.get(id) else {
            if self.objects.len() >= self.limits.max_objects {
                return Err(SyncError::TooManyObjects {
                    limit: self.limits.max_objects,
                });
            }
            if size > limit {
                return Err(SyncError::ObjectTooLarge { size, limit });
            }
            return Ok(Fit::New);
        };
        if object.type_tag() != delta.type_tag() {
            return Err(SyncError::TypeMismatch {
                held: object.type_tag(),
                received: delta.type_tag(),
            });
        }
        let bound = self.size_bounds.get(id).copied().unwrap_or(0) + size;
        if bound <= limit {
            return Ok(Fit::Within(bound));
        }
        let mut joined = object.clone();
        let changed = joined.join(delta)?;
        let exact = encoded_size(&joined);
        if exact > limit {
            return Err(SyncError::ObjectTooLarge { size: exact, limit });
        }
        Ok(Fit::Joined(Box::new(joined), changed, exact))
    }

    fn log_delta(&mut self, id: &ObjectId, delta: Object, origin: Option<ReplicaId>, size: usize) {
        if origin.is_none() {
            *self.size_bounds.entry(id.clone()).or_default() += size;
        }
        self.log.append(id.clone(), delta, origin, size);
        self.stale.insert(id.clone());
        self.changed.insert(id.clone());
        self.unsaved.insert(id.clone());
        self.trim_log();
    }

    /// The delta log.
    pub fn log(&self) -> &DeltaLog {
        &self.log
    }

    /// What `peer` and this replica have exchanged so far.
    pub fn progress(&self, peer: &ReplicaId) -> PeerProgress {
        self.peers.get(peer).copied().unwrap_or_default()
    }

    /// Every peer this replica has exchanged deltas with.
    pub fn peers(&self) -> impl Iterator<Item = (&ReplicaId, &PeerProgress)> + '_ {
        self.peers.iter()
    }

    /// Records that `peer` has this replica's log through `seq`, dropping what every peer has.
    pub fn record_acked(&mut self, peer: ReplicaId, seq: u64) {
        let progress = self.peers.entry(peer).or_default();
        progress.acked = progress.acked.max(seq.min(self.log.head()));
        self.trim_log();
    }

    /// Records that this replica has `peer`'s log through `seq`; says whether that is news.
    pub fn record_received(&mut self, peer: ReplicaId, seq: u64) -> bool {
        let progress = self.peers.entry(peer).or_default();
        let advanced = seq > progress.received;
        progress.received = progress.received.max(seq);
        advanced
    }

    /// Registers `peer` (if new) as connected through one more session: the log keeps deltas
    /// for it from now on.
    /// At most [`Collection::MAX_PEERS`] records are kept: a new peer beyond it evicts the
    /// record of a detached peer, which is then repaired by anti-entropy if it returns.
    pub fn attach_peer(&mut self, peer: ReplicaId) {
        if !self.peers.contains_key(&peer) && self.peers.len() >= Self::MAX_PEERS {
            // The detached peer furthest behind is the one holding the log back most.
            let evicted = self
                .peers
                .iter()
                .filter(|(id, _)| !self.attached.contains_key(id))
                .min_by_key(|(_, progress)| progress.acked)
                .map(|(id, _)| *id);
            if let Some(evicted) = evicted {
                self.peers.remove(&evicted);
            }
        }
        self.peers.entry(peer).or_default();
        *self.attached.entry(peer).or_default() += 1;
    }

    /// Records that one session with `peer` ended (see
    /// [`Collection::set_keep_log_for_detached`]).
    pub fn detach_peer(&mut self, peer: ReplicaId) {
        if let Some(sessions) = self.attached.get_mut(&peer) {
            *sessions -= 1;
            if *sessions == 0 {
                self.attached.remove(&peer);
            }
        }
        self.trim_log();
    }

    /// Whether the log keeps deltas for peers with no session (the default). A relay that
    /// serves many passing clients turns it off, so its log holds only what connected peers
    /// lack and shrinks back when they leave; a peer that returns after its deltas were
    /// dropped is repaired by anti-entropy, which sends only what it lacks. Peers' progress
    /// records are kept either way.
    pub fn set_keep_log_for_detached(&mut self, keep: bool) {
        self.keep_log_for_detached = keep;
        self.trim_log();
    }

    /// Checks a peer's frame of deltas against the types held and the limits before any of
    /// it is joined, so a refused frame changes nothing.
    pub fn check_remote(&self, objects: &[(ObjectId, Object)]) -> Result<(), SyncError> {
        let mut new_objects = 0;
        let mut seen = BTreeSet::new();
        for (id, delta) in objects {
            if !seen.insert(id) {
                return Err(SyncError::DuplicateObject { id: id.to_string() });
            }
            if let Fit::New = self.fit(id, delta, encoded_size(delta))? {
                new_objects += 1;
            }
        }
        // Only new objects count: local edits are not limited, so the collection may already
        // be past the limit, and an update of what it holds adds nothing to that.
        if new_objects > 0 && self.objects.len() + new_objects > self.limits.max_objects {
            return Err(SyncError::TooManyObjects {
                limit: self.limits.max_objects,
            });
        }
        Ok(())
    }

    fn trim_log(&mut self) {
        let all_acked = if self.keep_log_for_detached {
            self.peers.values().map(|progress| progress.acked).min()
        } else {
            self.attached
                .keys()
                .filter_map(|peer| self.peers.get(peer))
                .map(|progress| progress.acked)
                .min()
        }
        .unwrap_or(self.log.head());
        let over_cap = self.log.len().saturating_sub(self.max_log_entries) as u64;
        self.log
            .truncate_through(all_acked.max(self.log.base() + over_cap));
    }

    /// The ids of objects changed since the last call: for a user interface or a store to
    /// pick up.
    pub fn take_changed(&mut self) -> BTreeSet<ObjectId> {
        std::mem::take(&mut self.changed)
    }

    /// The ids of objects changed since the last call, for a store to write. Kept apart from
    /// [`Collection::take_changed`], so a user interface and a store can both follow changes.
    pub fn take_unsaved(&mut self) -> BTreeSet<ObjectId> {
        std::mem::take(&mut self.unsaved)
    }

    /// The Merkle index, with the digests of every edited object brought up to date.
    pub fn index(&mut self) -> &MerkleIndex<ObjectId> {
        for id in std::mem::take(&mut self.stale) {
            if let Some(object) = self.objects.get(&id) {
                self.index.insert(id.clone(), item_hash(&id, object));
            }
        }
        &self.index
    }
}

/// How a peer's delta fits an object's limits (see `Collection::fit`).
enum Fit {
    /// The object is new.
    New,
    /// The size bound after the join stays within the limit.
    Within(usize),
    /// Near the limit: the join, done on a copy, whether it changed anything, its exact size.
    Joined(Box<Object>, bool, usize),
}

/// The 128-bit hash of one object under its id: what range fingerprints sum.
pub fn item_hash(id: &ObjectId, object: &Object) -> u128 {
    // Encoding fails only for element types whose `Serialize` fails, never for strings; an
    // empty encoding still hashes the id, and the next edit refreshes it.
    hash_encoding(id, &object.encode().unwrap_or_default())
}

fn hash_encoding(id: &ObjectId, encoding: &[u8]) -> u128 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(id.as_bytes().len() as u64).to_le_bytes());
    hasher.update(id.as_bytes());
    hasher.update(encoding);
    let digest = hasher.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest.as_bytes()[..16]);
    u128::from_le_bytes(first)
}

/// The size of an object's canonical encoding. Encoding fails only for element types whose
/// `Serialize` fails, and the element types here are strings; 0 then only loosens the bounds.
fn encoded_size(object: &Object) -> usize {
    object.encode().map_or(0, |bytes| bytes.len())
}
