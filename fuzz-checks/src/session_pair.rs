//! Two replicas, each with a [`Session`] to the other, edit their collections while the link
//! between them loses, duplicates and reorders frames as the input says, and time passes in
//! arbitrary steps; then the link becomes clean and time runs on.
//!
//! Checked: neither session ever closes (both peers are honest, so any error frame is a bug),
//! and once the link is clean both collections converge to exactly the join of every edit
//! either side made, within a bounded simulated time (the retransmission and anti-entropy
//! timers must get there on their own). Ids have one type each (`objects::local_edit`'s typed
//! mode), since two replicas that give an id different types are refused by design.
//!
//! Input: a header byte (frame limit, gossip, log cap, anti-entropy shape), then events of one
//! tag byte each: a local edit on either side, a side transmitting frames onto the link, the
//! link delivering (or dropping, or duplicating) the frame at a chosen position in either
//! direction, time passing, or an application-started anti-entropy round.

use std::collections::{BTreeMap, VecDeque};

use arbitrary::Unstructured;
use crdt_sync::collection::Collection;
use crdt_sync::message::decode_frame;
use crdt_sync::object::Object;
use crdt_sync::object_id::ObjectId;
use crdt_sync::reconcile::Shape;
use crdt_sync::session::{Session, SessionConfig};

use crate::laws::byte;
use crate::objects::local_edit;
use crate::session::{COLLECTION, LOCAL, PEER};

/// At most this many events in the lossy phase.
const MAX_EVENTS: usize = 200;

/// Timer firings allowed in the clean phase before the pair is declared stuck: each is at
/// least a retransmission interval, so this is well over a minute of simulated time.
const SETTLE_STEPS: usize = 600;

/// More frames than this at one instant of a clean link is a livelock: it takes a handful of
/// round trips to exchange everything this target makes.
const MAX_FRAMES_AT_ONCE: usize = 2_000;

struct Side {
    collection: Collection,
    session: Session,
    /// Frames on the link toward the other side, in the order sent.
    link: VecDeque<Vec<u8>>,
}

impl Side {
    fn transmit(&mut self, max: usize, now: u64) -> usize {
        let mut sent = 0;
        while sent < max {
            let Some(frame) = self.session.poll_transmit(&mut self.collection, now) else {
                break;
            };
            self.link.push_back(frame);
            sent += 1;
        }
        sent
    }

    fn fire_timers(&mut self, now: u64) {
        if self.session.poll_timeout().is_some_and(|at| at <= now) {
            self.session.handle_timeout(&mut self.collection, now);
        }
    }
}

/// The fuzz target: two honest sessions over a bad link, then a clean one.
pub fn session_pair(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let header = byte(&mut u);
    let config = SessionConfig {
        max_frame_bytes: [16 << 10, 4 << 20][usize::from(header % 2)],
        retransmit_ms: 100,
        // Long enough that no loss in the lossy phase can make an honest handshake time out.
        handshake_timeout_ms: 24 * 3_600_000,
        anti_entropy_every_ms: 1_000,
        round_timeout_ms: 500,
        gossip: !(header / 2).is_multiple_of(4),
        shape: Shape {
            fanout: 2 + usize::from(header / 8 % 2) * 14,
            leaf_size: 1 + usize::from(header / 16 % 2) * 15,
        },
        ..SessionConfig::default()
    };
    let mut now = 0;
    let mut sides = [LOCAL, PEER].map(|replica| {
        let mut collection = Collection::new(COLLECTION, replica);
        if header / 32 % 2 == 1 {
            collection.set_max_log_entries(2);
        }
        let session = Session::new(&mut collection, config.clone(), now);
        Side {
            collection,
            session,
            link: VecDeque::new(),
        }
    });
    let mut expected: BTreeMap<ObjectId, Object> = BTreeMap::new();

    let mut events = 0;
    while !u.is_empty() && events < MAX_EVENTS {
        events += 1;
        let tag = byte(&mut u);
        let side = usize::from(tag / 8 % 2);
        match tag % 8 {
            0 | 1 => {
                if let Some((id, delta)) =
                    local_edit(&mut sides[side].collection, &mut u, now, true)
                {
                    match expected.get_mut(&id) {
                        Some(object) => {
                            object.join(&delta).expect("an id keeps its type");
                        }
                        None => {
                            expected.insert(id, delta);
                        }
                    }
                }
            }
            2 | 3 => {
                let max = usize::from(byte(&mut u) % 4) + 1;
                sides[side].transmit(max, now);
            }
            4 | 5 => {
                let how = byte(&mut u);
                let at = usize::from(byte(&mut u));
                let len = sides[side].link.len();
                if len > 0 {
                    let frame = match how {
                        0..=191 => sides[side].link.remove(at % len),
                        192..=223 => sides[side].link.get(at % len).cloned(),
                        _ => {
                            sides[side].link.remove(at % len);
                            None
                        }
                    };
                    if let Some(frame) = frame {
                        let other = &mut sides[1 - side];
                        other
                            .session
                            .handle_frame(&mut other.collection, &frame, now);
                    }
                }
            }
            6 => {
                now += u64::from(byte(&mut u)) * 10;
                for side in &mut sides {
                    side.fire_timers(now);
                }
            }
            _ => {
                let side = &mut sides[side];
                side.session.start_anti_entropy(&mut side.collection, now);
            }
        }
        assert_open(&sides);
    }

    // The clean link: frames arrive in order, none lost; time jumps from timer to timer. What
    // was on the link or still queued when it turned clean is lost with the bad link (a
    // backlog the script never let out would otherwise all arrive at one instant).
    for side in &mut sides {
        side.transmit(usize::MAX, now);
        side.link.clear();
    }
    let mut settled = false;
    for _ in 0..SETTLE_STEPS {
        // Without time passing, an exchange must fall silent: frames answer frames, and every
        // answer makes progress, so a long run at one instant is a livelock.
        let mut moved_now = 0;
        loop {
            let mut moved = 0;
            for index in 0..2 {
                moved += sides[index].transmit(usize::MAX, now);
                while let Some(frame) = sides[index].link.pop_front() {
                    if moved_now + moved > MAX_FRAMES_AT_ONCE - 8 {
                        eprintln!(
                            "{} → {:?}",
                            ["local", "peer"][index],
                            decode_frame(&frame, usize::MAX)
                        );
                    }
                    let other = &mut sides[1 - index];
                    other
                        .session
                        .handle_frame(&mut other.collection, &frame, now);
                    moved += 1;
                }
            }
            assert_open(&sides);
            moved_now += moved;
            if moved_now > MAX_FRAMES_AT_ONCE {
                report(&sides, &expected);
                panic!("a livelock: {moved_now} frames at {now} ms and the sessions still talk");
            }
            if moved == 0 {
                break;
            }
        }
        if sides.iter().all(|side| {
            side.collection.iter().eq(expected.iter()) && side.session.is_idle(&side.collection)
        }) {
            settled = true;
            break;
        }
        let Some(next) = sides
            .iter()
            .filter_map(|side| side.session.poll_timeout())
            .min()
        else {
            break;
        };
        now = now.max(next);
        for side in &mut sides {
            side.fire_timers(now);
        }
    }
    if !settled {
        report(&sides, &expected);
        panic!("the pair did not converge on a clean link by {now} ms");
    }
}

/// Prints where the two sides stand against what they should hold.
fn report(sides: &[Side; 2], expected: &BTreeMap<ObjectId, Object>) {
    for (side, name) in sides.iter().zip(["local", "peer"]) {
        for (id, object) in expected {
            let held = side.collection.get(id);
            if held != Some(object) {
                eprintln!("{name}: {id} is {held:?}\n  expected {object:?}");
            }
        }
        let extra = side
            .collection
            .iter()
            .filter(|(id, _)| !expected.contains_key(*id))
            .count();
        eprintln!(
            "{name}: +{extra} unexpected objects, idle {}, log {}..={}, {:?}",
            side.session.is_idle(&side.collection),
            side.collection.log().base(),
            side.collection.log().head(),
            side.session.stats()
        );
    }
}

#[track_caller]
fn assert_open(sides: &[Side; 2]) {
    for (side, name) in sides.iter().zip(["local", "peer"]) {
        assert!(
            !side.session.is_closed(),
            "the {name} session closed between honest peers: {:?}",
            side.session.close_reason()
        );
    }
}
