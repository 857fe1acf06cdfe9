//! Anti-entropy and gossip workloads of `crdt-sync`, shared by the `sync-costs` binary and the
//! `anti_entropy` bench: two collections that differ in a chosen number of objects, a lockstep
//! wire that counts flights, and the naive "send every (id, digest)" baseline.

use crdt_core::{GCounter, ReplicaId};
use crdt_sync::collection::Collection;
use crdt_sync::message::{Message, decode_frame};
use crdt_sync::object::Object;
use crdt_sync::object_id::ObjectId;
use crdt_sync::session::{Session, SessionConfig};

use crate::mix;

/// Object id number `i`: random-looking, like the UUID-based ids applications tend to use.
pub fn object_id(i: u64) -> ObjectId {
    ObjectId::new(format!("item/{:016x}", mix(i))).expect("a short ASCII id is valid")
}

/// Two replicas of `n` counters, the second with `d` of them incremented once more.
pub fn diverged(n: u64, d: u64) -> (Collection, Collection) {
    let writer = ReplicaId::from_u128(3);
    let objects = (0..n).map(|i| {
        let mut counter = GCounter::new();
        counter.increment(writer, 1 + i % 7);
        (object_id(i), Object::from(counter))
    });
    let objects: Vec<(ObjectId, Object)> = objects.collect();
    let left = Collection::from_objects("bench", ReplicaId::from_u128(1), objects.clone());
    let mut right = Collection::from_objects("bench", ReplicaId::from_u128(2), objects);
    for k in 0..d {
        // Spread the differences evenly over the id space's random order.
        let id = object_id(k * n / d.max(1));
        right
            .update(&id, |counter: &mut GCounter, me| counter.increment(me, 1))
            .expect("the id holds a counter");
    }
    (left, right)
}

/// What one anti-entropy exchange cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReconcileCost {
    /// Anti-entropy bytes on the wire, both ways, without the objects' deltas.
    pub control_bytes: u64,
    /// Bytes of the deltas themselves.
    pub delta_bytes: u64,
    /// Round trips with anti-entropy frames in them.
    pub round_trips: u64,
    /// Anti-entropy frames.
    pub frames: u64,
}

/// Connects the two replicas with gossip off (only anti-entropy moves objects) and runs the
/// round that the connection starts to completion, counting its frames.
pub fn reconcile(left: &mut Collection, right: &mut Collection) -> ReconcileCost {
    let config = SessionConfig {
        gossip: false,
        anti_entropy_every_ms: 0,
        max_frame_bytes: 64 << 20,
        ..SessionConfig::default()
    };
    let mut sessions = [
        Session::new(left, config.clone(), 0),
        Session::new(right, config, 0),
    ];
    let collections = [left, right];
    let mut cost = ReconcileCost::default();
    let mut flights_with_reconcile = 0;
    let mut idle = 0;
    let mut from = 0;
    while idle < 2 {
        let to = 1 - from;
        let mut moved = false;
        let mut reconciled = false;
        loop {
            let [first, second] = &mut sessions;
            let (sender, receiver) = if from == 0 {
                (first, second)
            } else {
                (second, first)
            };
            let Some(frame) = sender.poll_transmit(collections[from], 0) else {
                break;
            };
            if let Ok(Message::Reconcile(message)) = decode_frame(&frame, usize::MAX) {
                reconciled = true;
                cost.frames += 1;
                cost.delta_bytes += message
                    .objects
                    .iter()
                    .filter_map(|item| item.delta.as_ref())
                    .map(|delta| delta.encode().map_or(0, |bytes| bytes.len()) as u64)
                    .sum::<u64>();
            }
            receiver.handle_frame(collections[to], &frame, 0);
            moved = true;
        }
        idle = if moved { 0 } else { idle + 1 };
        flights_with_reconcile += u64::from(reconciled);
        from = to;
    }
    cost.control_bytes = sessions
        .iter()
        .map(|session| session.stats().reconcile_control_bytes_out)
        .sum();
    cost.round_trips = flights_with_reconcile.div_ceil(2);
    cost
}

/// The naive baseline's control bytes: one side sends every (id, 32-byte digest), postcard-
/// encoded; the other answers with the ids that differ (one round trip).
pub fn naive_control_bytes(collection: &Collection, differing: u64) -> u64 {
    let listing: Vec<(&str, [u8; 32])> = collection
        .iter()
        .map(|(id, object)| {
            let bytes = object.encode().unwrap_or_default();
            (id.as_str(), *blake3::hash(&bytes).as_bytes())
        })
        .collect();
    let answer: Vec<&str> = collection
        .iter()
        .take(differing as usize)
        .map(|(id, _)| id.as_str())
        .collect();
    let size = |bytes: Result<Vec<u8>, postcard::Error>| bytes.map_or(0, |b| b.len() as u64);
    size(postcard::to_stdvec(&listing)) + size(postcard::to_stdvec(&answer))
}
