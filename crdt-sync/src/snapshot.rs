//! Snapshots: a whole replica of a collection in one byte string, for a replica that keeps no
//! store of its own (a browser tab in localStorage, an app's file), so that it comes back as the
//! same replica with every edit it made.
//!
//! ```
//! use crdt_core::{AWSet, ReplicaId};
//! use crdt_sync::collection::Collection;
//! use crdt_sync::object_id::ObjectId;
//! use crdt_sync::snapshot;
//!
//! let mut groceries = Collection::new("groceries", ReplicaId::from_u128(1));
//! let fruit = ObjectId::new("fruit").unwrap();
//! groceries.update(&fruit, |set: &mut AWSet<String>, me| set.add(me, "apples".into())).unwrap();
//!
//! let bytes = snapshot::save(&groceries).unwrap();
//! let back = snapshot::load(&bytes, "groceries").unwrap();
//! assert_eq!(back.replica(), groceries.replica());
//! assert_eq!(back.get(&fruit), groceries.get(&fruit));
//! assert!(snapshot::load(&bytes, "another").is_err());
//! assert!(snapshot::load(&bytes[..bytes.len() - 1], "groceries").is_err());
//! ```
//!
//! Layout: the magic bytes `crdt-doc`, a format version byte (1), then a postcard payload:
//! the collection name, the replica id, the head of the delta log, and every object as
//! (id, canonical object encoding), ascending by id. The log's entries themselves are not
//! kept: their effects are in the objects, and anti-entropy ships them to the relay after a
//! reload, while numbering resumes after the head so the relay's record of what it has from
//! this replica stays true.

use crate::collection::Collection;
use crate::delta_log::DeltaLog;
use crate::object::Object;
use crate::object_id::ObjectId;
use crdt_core::ReplicaId;
use crdt_core::codec::canonical::is_encoding_of;
use serde::{Deserialize, Serialize};

use crate::sync_error::SyncError;

const MAGIC: &[u8; 8] = b"crdt-doc";
const FORMAT_VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct Payload {
    collection: String,
    replica: ReplicaId,
    log_head: u64,
    objects: Vec<(ObjectId, Object)>,
}

/// The snapshot of `collection`.
pub fn save(collection: &Collection) -> Result<Vec<u8>, SyncError> {
    let payload = Payload {
        collection: collection.name().to_owned(),
        replica: collection.replica(),
        log_head: collection.log().head(),
        objects: collection
            .iter()
            .map(|(id, object)| (id.clone(), object.clone()))
            .collect(),
    };
    let mut bytes = MAGIC.to_vec();
    bytes.push(FORMAT_VERSION);
    postcard::to_extend(&payload, bytes)
        .map_err(|error| SyncError::Snapshot(format!("cannot encode: {error}")))
}

/// The collection saved in `bytes`, which must be `expected`'s. Bytes from anywhere: every
/// object is checked as it decodes, and whatever is wrong is a [`SyncError::Snapshot`].
pub fn load(bytes: &[u8], expected: &str) -> Result<Collection, SyncError> {
    restore(bytes, expected).map_err(SyncError::Snapshot)
}

fn restore(bytes: &[u8], expected: &str) -> Result<Collection, String> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("not a saved document (no crdt-doc header)")?;
    let (&version, payload_bytes) = rest.split_first().ok_or("a saved document cut short")?;
    if version != FORMAT_VERSION {
        return Err(format!(
            "a saved document of format {version}; this build reads format {FORMAT_VERSION}"
        ));
    }
    let (payload, trailing) = postcard::take_from_bytes::<Payload>(payload_bytes)
        .map_err(|error| format!("a corrupt saved document: {error}"))?;
    if !trailing.is_empty() {
        return Err(format!(
            "a corrupt saved document: {} bytes after its end",
            trailing.len()
        ));
    }
    if !is_encoding_of(&payload, payload_bytes) {
        return Err("a corrupt saved document: not the canonical encoding of its contents".into());
    }
    if payload.collection != expected {
        return Err(format!(
            "this saved document is of collection {:?}, not {expected:?}",
            payload.collection
        ));
    }
    let objects = payload.objects.len();
    let mut ids: Vec<&ObjectId> = payload.objects.iter().map(|(id, _)| id).collect();
    ids.sort();
    ids.dedup();
    if ids.len() != objects {
        return Err("a corrupt saved document: an object id appears twice".to_owned());
    }
    Ok(Collection::restore(
        payload.collection,
        payload.replica,
        payload.objects,
        DeltaLog::starting_after(payload.log_head),
        [],
    ))
}
