//! crdt-sync's decoders on bytes from anywhere: [`Object::decode`], [`decode_frame`] (with a
//! frame limit of [`FRAME_LIMIT`]) and [`snapshot::load`] (of collection
//! [`SNAPSHOT_COLLECTION`]). Each input goes to all three; they tell their inputs apart by the
//! first bytes (a type tag, the protocol version 1, the magic `crdt-doc`).
//!
//! None may panic. What decodes must round-trip:
//! - an object re-encodes to exactly the input bytes (crdt-core's decoders accept only the
//!   canonical encoding, see [`crate::canonical`]), and is a lawful
//!   value: it joins into the bottom of its type to itself (a compacted sequence to the same
//!   events, see [`crate::decode_core`]), and `delta_since(Absent)` is itself;
//! - a frame re-encodes ([`encode_frame`]) to exactly the input (`decode_frame` accepts only
//!   the canonical encoding of a message), which decodes to the same message. The packed keys
//!   inside anti-entropy ranges are opaque bytes at that level, and a packed key may share
//!   fewer bytes with the previous one than it could. Ranges that unpack ([`unpack_ranges`])
//!   must pack again
//!   ([`pack_ranges`], which shares as much as it can) to ranges that unpack to the same;
//! - a snapshot saves again to bytes that load to the same collection (replica, log head, every
//!   object), and saving that is a fixpoint. Snapshots are not canonical either: `load` accepts
//!   objects in any order of ids, and `save` writes them ascending.

use crdt_sync::collection::Collection;
use crdt_sync::message::{Message, decode_frame, encode_frame, pack_ranges, unpack_ranges};
use crdt_sync::object::{Object, ObjectVersion};
use crdt_sync::snapshot;

use crate::canonical::assert_canonical;

/// The frame limit the frame decoder is given: larger than any seed, small enough that the
/// fuzzer can reach it.
pub const FRAME_LIMIT: usize = 1 << 16;

/// The collection name snapshots must carry (the seeds are saved under it).
pub const SNAPSHOT_COLLECTION: &str = "fuzz";

/// The fuzz target: the input through the object, frame and snapshot decoders.
pub fn decode_sync(data: &[u8]) {
    if let Ok(object) = Object::decode(data) {
        check_object(data, &object);
    }
    match decode_frame(data, FRAME_LIMIT) {
        Ok(message) => check_message(data, &message),
        Err(error) => {
            // The error is reported to the peer: making its frame must not panic either.
            let _ = (error.code(), error.to_string());
        }
    }
    if let Ok(collection) = snapshot::load(data, SNAPSHOT_COLLECTION) {
        check_snapshot(data, &collection);
    }
}

fn check_object(data: &[u8], object: &Object) {
    let bytes = object
        .encode()
        .unwrap_or_else(|error| panic!("decoded {object:?} does not encode: {error}"));
    assert_canonical("Object", data, &bytes);
    let back = Object::decode(&bytes).expect("a re-encoded object decodes");
    assert_eq!(back, *object);
    assert_eq!(
        back.encode().ok(),
        Some(bytes),
        "re-encoding is not a fixpoint"
    );

    let mut joined = object.bottom();
    assert!(
        joined.join(object).is_ok(),
        "an object does not join its own type"
    );
    if joined != *object {
        // Only a compacted sequence may come out of a join smaller (see `decode_core`): with
        // the same events, so that neither adds anything to the other.
        assert!(compacted(object, &joined), "⊥ ⊔ v != v for {object:?}");
        assert_eq!(joined.clone().join(object).ok(), Some(false));
        assert_eq!(object.clone().join(&joined).ok(), Some(false));
    }
    let whole = object
        .delta_since(&ObjectVersion::Absent)
        .expect("delta_since(Absent) is always defined");
    assert_eq!(whole, *object);
    let nothing = object
        .delta_since(&object.version())
        .expect("an object's own version is of its type");
    let mut again = object.clone();
    assert_eq!(
        again.join(&nothing).ok(),
        Some(false),
        "{object:?} lacks {nothing:?}"
    );
}

/// Whether `object` is a sequence whose context covers more than `joined`'s, which holds the
/// same events (`Rga::compact` leaves such contexts, and a join does not carry them).
fn compacted(object: &Object, joined: &Object) -> bool {
    let (mine, theirs) = match (object, joined) {
        (Object::List(mine), Object::List(theirs)) => (mine.context(), theirs.context()),
        (Object::Text(mine), Object::Text(theirs)) => {
            (mine.as_rga().context(), theirs.as_rga().context())
        }
        _ => return false,
    };
    mine != theirs && mine.includes(theirs)
}

fn check_message(data: &[u8], message: &Message) {
    let frame = encode_frame(message)
        .unwrap_or_else(|error| panic!("decoded {message:?} does not encode: {error}"));
    assert_canonical("frame", data, &frame);
    let back = decode_frame(&frame, FRAME_LIMIT)
        .unwrap_or_else(|error| panic!("a re-encoded frame does not decode: {error}"));
    assert_eq!(back, *message);
    assert_eq!(
        encode_frame(&back).ok(),
        Some(frame),
        "re-encoding is not a fixpoint"
    );

    if let Message::Reconcile(reconcile) = message
        && let Ok(ranges) = unpack_ranges(reconcile.ranges.clone())
    {
        let packed = pack_ranges(&ranges);
        let again = unpack_ranges(packed.clone())
            .unwrap_or_else(|error| panic!("packed ranges {ranges:?} do not unpack: {error}"));
        assert_eq!(again, ranges);
        assert_eq!(pack_ranges(&again), packed, "packing is not a fixpoint");
    }
}

fn check_snapshot(data: &[u8], collection: &Collection) {
    let saved = snapshot::save(collection).expect("a loaded collection saves");
    assert!(
        saved.len() <= data.len(),
        "a re-saved snapshot grew from {} to {} bytes",
        data.len(),
        saved.len()
    );
    let back = snapshot::load(&saved, SNAPSHOT_COLLECTION)
        .unwrap_or_else(|error| panic!("a re-saved snapshot does not load: {error}"));
    assert_eq!(back.replica(), collection.replica());
    assert_eq!(back.name(), collection.name());
    assert_eq!(back.log().head(), collection.log().head());
    assert!(
        back.iter().eq(collection.iter()),
        "objects changed in a save and load"
    );
    assert_eq!(
        snapshot::save(&back).ok(),
        Some(saved),
        "saving is not a fixpoint"
    );
}
