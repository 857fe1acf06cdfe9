//! Writes the seed corpora under `fuzz/corpus/<target>/`:
//!
//! ```sh
//! cargo run -p crdt-fuzz-checks --example seed_corpus
//! ```
//!
//! Deterministic: the same files every run, so the committed corpus only changes when this
//! program does. Seeds are
//! - for the merge-law targets, pseudo-random scripts per type (the first byte picks the type);
//! - for `decode_core`, real encodings of every type, from histories with concurrent edits,
//!   removes, deletes, and a sequence with an insert still waiting for its origin;
//! - for `decode_sync`, those objects, the frames of a real session exchange (handshakes,
//!   deltas, acknowledgements, anti-entropy) and an error frame, and a snapshot;
//! - for `session`, scripts that replay a real peer's frames (a handshake, gossip, a round of
//!   anti-entropy, a read-only peer) with ticks, drains and local edits between them;
//! - for `session_pair`, scripts of edits on both sides with a lossy and a clean link.

use std::path::{Path, PathBuf};

use crdt_core::{
    AWSet, CausalContext, CausalCounter, Codec, Dot, GCounter, HybridClock, Lattice, LwwRegister,
    MvRegister, ORMap, PNCounter, ReplicaId, Rga, Text, VersionVector,
};
use crdt_fuzz_checks::decode_sync::SNAPSHOT_COLLECTION;
use crdt_fuzz_checks::session::{COLLECTION, LOCAL, PEER, READ_ONLY_TOKEN, Script, event};
use crdt_fuzz_checks::{TARGETS, target};
use crdt_sync::collection::Collection;
use crdt_sync::message::{ErrorCode, ErrorFrame, Message, encode_frame};
use crdt_sync::object::{CounterMap, Object, RegisterMap};
use crdt_sync::object_id::ObjectId;
use crdt_sync::session::{Session, SessionConfig};
use crdt_sync::snapshot;

const ALICE: ReplicaId = ReplicaId::from_u128(0xa11ce);
const BOB: ReplicaId = ReplicaId::from_u128(0xb0b);

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut seeds: Vec<(&str, String, Vec<u8>)> = Vec::new();
    law_scripts(&mut seeds);
    for (name, bytes) in encodings() {
        seeds.push(("decode_core", name, bytes));
    }
    for (name, bytes) in sync_inputs() {
        seeds.push(("decode_sync", name, bytes));
    }
    for (name, bytes) in session_scripts() {
        seeds.push(("session", name, bytes));
    }
    for (name, bytes) in pair_scripts() {
        seeds.push(("session_pair", name, bytes));
    }
    for (target_name, name, bytes) in &seeds {
        // A seed that fails its own target would make the replay test fail for the wrong
        // reason: check each before writing it.
        let run = target(target_name).expect("seeds are written for known targets");
        run(bytes);
        let dir: PathBuf = root.join(target_name);
        std::fs::create_dir_all(&dir).expect("the corpus directory can be made");
        std::fs::write(dir.join(name), bytes).expect("the seed can be written");
    }
    for (name, _) in TARGETS {
        let count = seeds.iter().filter(|(target, _, _)| target == name).count();
        println!("fuzz/corpus/{name}: {count} seeds");
    }
}

/// xorshift64: the same bytes everywhere.
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn law_scripts(seeds: &mut Vec<(&'static str, String, Vec<u8>)>) {
    let families: [(&str, &[&str]); 5] = [
        ("counters", &["gcounter", "pncounter", "causal-counter"]),
        ("registers", &["lww", "mv"]),
        ("aw_set", &["aw-set"]),
        ("or_map", &["registers", "counters", "sets", "nested"]),
        ("rga", &["rga", "text"]),
    ];
    for (family, types) in families {
        for (index, name) in types.iter().enumerate() {
            for (n, len) in [96, 300, 700].into_iter().enumerate() {
                let mut bytes = random_bytes((index * 10 + n) as u64 + 1, len);
                // `aw_set` has one type and reads no selector byte.
                if types.len() > 1 {
                    bytes[0] = index as u8;
                }
                seeds.push((family, format!("{name}-{len}"), bytes));
            }
        }
    }
}

fn encode(value: &impl Codec) -> Vec<u8> {
    value.encode().expect("seed values encode")
}

/// Real encodings of every type crdt-core decodes, from small histories on two replicas.
fn encodings() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| out.push((name.to_owned(), bytes));

    let mut vv = VersionVector::new();
    vv.raise(ALICE, 3);
    vv.raise(BOB, 200);
    add("version-vector", encode(&vv));
    let mut context = CausalContext::new();
    for counter in [1, 2, 3, 7, 9, 10] {
        context.insert(Dot::new(ALICE, counter));
    }
    context.insert(Dot::new(BOB, 1));
    add("causal-context", encode(&context));

    let mut g = GCounter::new();
    g.increment(ALICE, 5);
    g.increment(BOB, 300);
    add("gcounter", encode(&g));
    let mut pn = PNCounter::new();
    pn.increment(ALICE, 5);
    pn.decrement(BOB, 2);
    add("pncounter", encode(&pn));
    let mut cc = CausalCounter::new();
    cc.add(ALICE, 3).unwrap();
    let mut other = cc.clone();
    other.reset();
    other.add(BOB, -2).unwrap();
    cc.add(ALICE, 4).unwrap();
    add("causal-counter", encode(&cc.joined(&other)));

    let mut lww = LwwRegister::new();
    lww.set(
        "tuesday".to_string(),
        &mut HybridClock::new(ALICE),
        &mut || 1_000,
    )
    .expect("1 s is far from the end of the clock's range");
    add("lww-register", encode(&lww));
    let mut mv = MvRegister::new();
    mv.write(ALICE, "a".to_string()).unwrap();
    let mut concurrent = MvRegister::new();
    concurrent.write(BOB, "b".to_string()).unwrap();
    add("mv-register", encode(&mv.joined(&concurrent)));

    let mut set = AWSet::new();
    set.add(ALICE, "milk".to_string()).unwrap();
    set.add(ALICE, "eggs".to_string()).unwrap();
    let mut at_bob = set.clone();
    at_bob.remove(&"milk".to_string());
    at_bob.add(BOB, "bread".to_string()).unwrap();
    set.add(ALICE, "milk".to_string()).unwrap();
    add("aw-set", encode(&set.joined(&at_bob)));

    let mut map: ORMap<String, MvRegister<String>> = ORMap::new();
    map.update("title".into(), |r| r.write(ALICE, "Groceries".into()))
        .unwrap();
    map.update("owner".into(), |r| r.write(BOB, "bob".into()))
        .unwrap();
    map.remove(&"owner".to_string());
    add("map-of-registers", encode(&map));
    let mut cart: ORMap<String, CausalCounter> = ORMap::new();
    cart.update("apples".into(), |c| c.add(ALICE, 3)).unwrap();
    cart.update("pears".into(), |c| c.add(BOB, 1)).unwrap();
    add("map-of-counters", encode(&cart));
    let mut sets: ORMap<u8, AWSet<u16>> = ORMap::new();
    sets.update(1, |s| s.add(ALICE, 10)).unwrap();
    sets.update(2, |s| s.add(BOB, 20)).unwrap();
    add("map-of-sets", encode(&sets));
    let mut nested: ORMap<String, ORMap<u8, MvRegister<u64>>> = ORMap::new();
    nested
        .update("row".into(), |m| m.update(1, |r| r.write(ALICE, 42)))
        .unwrap();
    nested
        .update("col".into(), |m| m.update(2, |r| r.write(BOB, 7)))
        .unwrap();
    add("map-of-maps", encode(&nested));

    let mut bytes: Rga<u8> = Rga::new();
    bytes.insert(ALICE, 0, [1, 2, 3, 4]).expect("in range");
    let mut at_bob = bytes.clone();
    at_bob.insert(BOB, 2, [9, 9]).expect("in range");
    at_bob.delete(BOB, 0, 1).expect("in range");
    bytes.delete(ALICE, 3, 1).expect("in range");
    add("rga-u8", encode(&bytes.joined(&at_bob)));
    let mut chars: Rga<char> = Rga::new();
    let first = chars.insert(ALICE, 0, "hello".chars()).expect("in range");
    let second = chars.insert(ALICE, 5, " world".chars()).expect("in range");
    add("rga-char", encode(&chars));
    // The second insert without the first: it waits for its origin.
    add("rga-char-pending", encode(&second));
    add("rga-char-first", encode(&first));
    let mut strings: Rga<String> = Rga::new();
    strings
        .insert(ALICE, 0, ["milk".to_string(), "eggs".to_string()])
        .expect("in range");
    strings.delete(ALICE, 0, 1).expect("in range");
    add("rga-string", encode(&strings));
    let mut text = Text::new();
    text.insert(ALICE, 0, "héllo 🦀 wörld").expect("in range");
    let mut at_bob = text.clone();
    at_bob.insert(BOB, 6, "字").expect("in range");
    text.delete(ALICE, 0, 2).expect("in range");
    add("text", encode(&text.joined(&at_bob)));
    out
}

/// A perfect wire between two sessions until both fall silent; returns the frames each sent.
fn exchange(
    a: &mut Collection,
    b: &mut Collection,
    config_a: SessionConfig,
    config_b: SessionConfig,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let now = 0;
    let mut at_a = Session::new(a, config_a, now);
    let mut at_b = Session::new(b, config_b, now);
    let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
    loop {
        let mut moved = false;
        while let Some(frame) = at_a.poll_transmit(a, now) {
            at_b.handle_frame(b, &frame, now);
            from_a.push(frame);
            moved = true;
        }
        while let Some(frame) = at_b.poll_transmit(b, now) {
            at_a.handle_frame(a, &frame, now);
            from_b.push(frame);
            moved = true;
        }
        if !moved {
            break;
        }
    }
    (from_a, from_b)
}

/// A peer's collection with an object of every type.
fn peer_collection() -> Collection {
    let mut peer = Collection::new(COLLECTION, PEER);
    let id = |name: &str| ObjectId::new(name).expect("a valid id");
    peer.update(&id("a"), |c: &mut GCounter, me| c.increment(me, 3))
        .expect("fresh");
    peer.update(&id("cart"), |c: &mut CounterMap, me| {
        c.update("apples".into(), |n| n.add(me, 2))
    })
    .expect("fresh");
    peer.update(&id("cart/note"), |s: &mut AWSet<String>, me| {
        s.add(me, "milk".into())
    })
    .expect("fresh");
    peer.update(&id("n"), |m: &mut RegisterMap, me| {
        m.update("title".into(), |r| r.write(me, "list".into()))
    })
    .expect("fresh");
    peer.update(&id("zz"), |t: &mut Text, me| {
        t.insert(me, 0, "hi").expect("in range")
    })
    .expect("fresh");
    peer
}

fn sync_inputs() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = encodings()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("version") && !name.starts_with("causal-context"))
        .filter_map(|(name, bytes)| {
            Object::decode(&bytes)
                .ok()
                .map(|_| (format!("object-{name}"), bytes))
        })
        .collect();
    let mut peer = peer_collection();
    let mut local = Collection::new(COLLECTION, LOCAL);
    let (from_local, from_peer) = exchange(
        &mut local,
        &mut peer,
        SessionConfig::default(),
        SessionConfig::default(),
    );
    for (index, frame) in from_peer.iter().chain(&from_local).enumerate() {
        out.push((format!("frame-{index:02}"), frame.clone()));
    }
    out.push((
        "frame-error".into(),
        encode_frame(&Message::Error(ErrorFrame {
            code: ErrorCode::BadUpdate,
            detail: "object a: type mismatch".into(),
        }))
        .expect("encodes"),
    ));
    let mut saved = peer_collection();
    saved
        .update(
            &ObjectId::new("b").expect("valid"),
            |c: &mut PNCounter, me| c.decrement(me, 1),
        )
        .expect("fresh");
    let mut renamed = Collection::new(SNAPSHOT_COLLECTION, PEER);
    for (id, object) in saved.iter() {
        renamed.apply_remote(id, object, LOCAL).expect("fits");
    }
    out.push(("snapshot".into(), snapshot::save(&renamed).expect("saves")));
    out
}

/// The peer's frames of a session with an empty `LOCAL` replica, as the session under test
/// (which starts empty) would receive them.
fn peer_frames(config: SessionConfig, gossip_local: bool) -> Vec<Vec<u8>> {
    let mut peer = peer_collection();
    let mut local = Collection::new(COLLECTION, LOCAL);
    let local_config = SessionConfig {
        gossip: gossip_local,
        ..SessionConfig::default()
    };
    exchange(&mut local, &mut peer, local_config, config).1
}

fn session_scripts() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let replay = |frames: &[Vec<u8>]| {
        frames.iter().fold(Script::new(), |script, frame| {
            script.frame(frame).drain().tick(5)
        })
    };
    let gossip = peer_frames(SessionConfig::default(), true);
    out.push(("gossip".to_owned(), replay(&gossip).into_bytes()));
    let repair = peer_frames(
        SessionConfig {
            gossip: false,
            ..SessionConfig::default()
        },
        false,
    );
    out.push(("anti-entropy".to_owned(), replay(&repair).into_bytes()));
    let reader = peer_frames(
        SessionConfig {
            token: READ_ONLY_TOKEN.into(),
            ..SessionConfig::default()
        },
        true,
    );
    out.push(("read-only-peer".to_owned(), replay(&reader).into_bytes()));
    // Local edits (a text insert, a counter increment) gossiped after the handshake, and a
    // retransmission after silence.
    let edits = gossip
        .iter()
        .take(1)
        // Choices: the id (its index in `objects::IDS`), the type, then the mutation's own.
        .fold(
            Script::new().edit(&[8, 8, 1, 0, 1]).edit(&[0, 0, 2, 0]),
            |script, frame| script.frame(frame),
        )
        .drain()
        .edit(&[8, 8, 1, 1, 1, 2])
        .drain()
        .tick(200)
        .drain();
    out.push(("local-edits".to_owned(), edits.into_bytes()));
    let mut timers = Script::new()
        .tick(120)
        .drain()
        .tick(249)
        .drain()
        .into_bytes();
    timers.extend_from_slice(&[event::ANTI_ENTROPY, event::OVERSIZED]);
    out.push(("timers-and-faults".to_owned(), timers));
    out
}

fn pair_scripts() -> Vec<(String, Vec<u8>)> {
    // Edits on both sides (tags 0 and 8), transmissions (2, 10), deliveries (4, 12), ticks (6).
    let clean = [
        0u8, 0, 8, 0, 8, 0, 1, 0, 3, 0, 2, 3, 10, 3, 4, 0, 0, 4, 0, 0, 12, 0, 0, 12, 0, 0, 6, 30,
        2, 3, 10, 3, 4, 0, 0, 12, 0, 0, 8, 17, 0, 1, 2, 1, 4, 0, 0,
    ];
    let mut lossy = clean.to_vec();
    lossy.extend_from_slice(&[4, 250, 0, 12, 200, 1, 6, 100, 7, 15]);
    let mut out = vec![
        ("clean".to_owned(), clean.to_vec()),
        ("lossy".to_owned(), lossy),
    ];
    for (n, len) in [200, 600].into_iter().enumerate() {
        out.push((format!("random-{len}"), random_bytes(100 + n as u64, len)));
    }
    out
}
