//! [`RedbCollection`]: one open collection's handle on a [`RedbStore`](super::RedbStore).

use std::collections::{BTreeMap, BTreeSet};

use crdt_core::ReplicaId;

use super::StoredEntry;
use super::writer::{Change, Writer};
use crate::collection::{Collection, PeerProgress};
use crate::net::store::{CollectionStore, StoreFuture};

/// What of one collection is on disk (or handed to the writer), so a commit carries only
/// what changed since.
pub(super) struct RedbCollection {
    pub(super) name: String,
    pub(super) writer: Writer,
    pub(super) saved_head: u64,
    pub(super) saved_base: u64,
    pub(super) saved_peers: BTreeMap<ReplicaId, PeerProgress>,
}

impl CollectionStore for RedbCollection {
    fn prepare(&mut self, collection: &mut Collection) -> Option<StoreFuture<'static, ()>> {
        let mut change = Change {
            name: self.name.clone(),
            ..Change::default()
        };
        for id in collection.take_unsaved() {
            // An object that fails to encode (impossible for string elements) is skipped
            // rather than stored half; anti-entropy restores it from a peer after a restart.
            let encoding = collection.get(&id).and_then(|object| object.encode().ok());
            change.objects.push((id, encoding));
        }
        let log = collection.log();
        for entry in log.since(self.saved_head) {
            let stored = StoredEntry {
                id: entry.id.clone(),
                origin: entry.origin,
                delta: entry.delta.clone(),
            };
            if let Ok(bytes) = postcard::to_stdvec(&stored) {
                change.log.push((entry.seq, bytes));
            }
        }
        self.saved_head = log.head();
        if log.base() != self.saved_base {
            change.base = Some(log.base());
            self.saved_base = log.base();
        }
        for (peer, progress) in collection.peers() {
            if self.saved_peers.get(peer) != Some(progress) {
                change.peers.push((*peer, *progress));
                self.saved_peers.insert(*peer, *progress);
            }
        }
        if self.saved_peers.len() > collection.peers().count() {
            let kept: BTreeSet<&ReplicaId> = collection.peers().map(|(peer, _)| peer).collect();
            self.saved_peers.retain(|peer, _| {
                let keep = kept.contains(peer);
                if !keep {
                    change.forgotten.push(*peer);
                }
                keep
            });
        }
        if change.is_empty() {
            return None;
        }
        Some(Box::pin(self.writer.commit(change)))
    }
}
