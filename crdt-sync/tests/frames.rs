//! Untrusted frames: malformed, truncated, oversized, wrong-version and unauthorized input gets an
//! error frame and a close, never a panic, and changes nothing.

mod support;

use std::sync::Arc;

use crdt_core::{GCounter, ReplicaId};
use crdt_sync::collection::Collection;
use crdt_sync::message::{
    ErrorCode, FrameError, Hello, Message, PROTOCOL_VERSION, decode_frame, encode_frame,
};
use crdt_sync::object_id::ObjectId;
use crdt_sync::session::{Access, CloseReason, Session, SessionConfig};
use quickcheck::{Gen, QuickCheck};
use support::{End, pump};

fn replica(name: &str, id: u128) -> Collection {
    let mut collection = Collection::new(name, ReplicaId::from_u128(id));
    let hits = ObjectId::new("hits").unwrap();
    collection
        .update(&hits, |c: &mut GCounter, me| c.increment(me, id as u64))
        .unwrap();
    collection
}

fn snapshot(collection: &Collection) -> Vec<String> {
    collection
        .iter()
        .map(|(id, object)| format!("{id}={object:?}"))
        .collect()
}

/// The error frame a closed session sent last.
fn error_sent(session: &mut Session, collection: &mut Collection) -> ErrorCode {
    let mut last = None;
    while let Some(frame) = session.poll_transmit(collection, 0) {
        last = Some(frame);
    }
    match decode_frame(&last.expect("an error frame"), usize::MAX) {
        Ok(Message::Error(error)) => error.code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

/// Real frames of a session: its hello, an ack, deltas and anti-entropy.
fn real_frames() -> Vec<Vec<u8>> {
    let mut left = replica("c", 1);
    let mut right = replica("c", 2);
    let mut left_session = Session::new(&mut left, SessionConfig::default(), 0);
    let mut right_session = Session::new(&mut right, SessionConfig::default(), 0);
    let mut frames = Vec::new();
    for _ in 0..6 {
        while let Some(frame) = left_session.poll_transmit(&mut left, 0) {
            right_session.handle_frame(&mut right, &frame, 0);
            frames.push(frame);
        }
        while let Some(frame) = right_session.poll_transmit(&mut right, 0) {
            left_session.handle_frame(&mut left, &frame, 0);
            frames.push(frame);
        }
    }
    assert!(frames.len() >= 4);
    frames
}

/// Feeds `frame` to a fresh session that has completed its handshake; returns how it ended.
fn feed_after_handshake(frame: &[u8]) -> (Option<CloseReason>, bool) {
    let mut a = End::open(replica("c", 1), SessionConfig::default());
    let mut b = End::open(replica("c", 2), SessionConfig::default());
    pump(&mut a, &mut b, 0, 50);
    let before = snapshot(&b.collection);
    b.session.handle_frame(&mut b.collection, frame, 0);
    let unchanged = snapshot(&b.collection) == before;
    (b.session.close_reason().cloned(), unchanged)
}

#[test]
fn random_bytes_never_panic_and_never_change_the_collection() {
    fn property(bytes: Vec<u8>, versioned: bool) -> bool {
        let mut frame = bytes;
        if versioned {
            frame.insert(0, PROTOCOL_VERSION);
        }
        let (closed, unchanged) = feed_after_handshake(&frame);
        // Random bytes almost never form a valid message; when they do not, the session says so.
        unchanged || closed.is_none()
    }
    QuickCheck::new()
        .tests(500)
        .rng(Gen::new(200))
        .quickcheck(property as fn(Vec<u8>, bool) -> bool);
}

#[test]
fn every_truncation_and_bit_flip_of_real_frames_is_handled() {
    for frame in real_frames() {
        for cut in 0..frame.len() {
            let (closed, _) = feed_after_handshake(&frame[..cut]);
            let Some(CloseReason::Sent(code, _)) = closed else {
                panic!("a frame cut to {cut} of {} bytes was accepted", frame.len());
            };
            assert_eq!(code, ErrorCode::Malformed);
        }
        for bit in 0..frame.len() * 8 {
            let mut flipped = frame.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            // Decodes or not; either way no panic, and a refusal is a clean close.
            let (closed, _) = feed_after_handshake(&flipped);
            if let Some(reason) = closed {
                assert!(matches!(reason, CloseReason::Sent(..)), "{reason:?}");
            }
        }
    }
}

#[test]
fn an_oversized_frame_is_refused_before_decoding() {
    let mut collection = replica("c", 1);
    let config = SessionConfig {
        max_frame_bytes: 1_000,
        ..SessionConfig::default()
    };
    let mut session = Session::new(&mut collection, config, 0);
    session.handle_frame(&mut collection, &vec![PROTOCOL_VERSION; 1_001], 0);
    assert_eq!(
        error_sent(&mut session, &mut collection),
        ErrorCode::FrameTooLarge
    );
    assert!(matches!(
        session.close_reason(),
        Some(CloseReason::Sent(ErrorCode::FrameTooLarge, _))
    ));
}

#[test]
fn another_protocol_version_is_refused() {
    let mut collection = replica("c", 1);
    let mut session = Session::new(&mut collection, SessionConfig::default(), 0);
    let mut frame = encode_frame(&Message::Hello(Hello {
        replica: ReplicaId::from_u128(2),
        collection: "c".into(),
        token: String::new(),
        log_base: 0,
        log_head: 0,
        max_frame_bytes: 0,
    }))
    .unwrap();
    frame[0] = PROTOCOL_VERSION + 1;
    session.handle_frame(&mut collection, &frame, 0);
    assert_eq!(
        error_sent(&mut session, &mut collection),
        ErrorCode::UnsupportedVersion
    );
    assert!(session.is_closed());
    assert_eq!(session.peer(), None);
}

fn hello_frame(collection: &str, token: &str) -> Vec<u8> {
    encode_frame(&Message::Hello(Hello {
        replica: ReplicaId::from_u128(2),
        collection: collection.into(),
        token: token.into(),
        log_base: 0,
        log_head: 0,
        max_frame_bytes: 0,
    }))
    .unwrap()
}

fn guarded() -> SessionConfig {
    SessionConfig {
        authorizer: Some(Arc::new(|collection: &str, token: &str| {
            match (collection, token) {
                ("c", "writer") => Access::ReadWrite,
                ("c", "reader") => Access::ReadOnly,
                _ => Access::Denied,
            }
        })),
        ..SessionConfig::default()
    }
}

#[test]
fn a_wrong_collection_or_a_bad_token_is_refused() {
    for (name, token, code) in [
        ("other", "writer", ErrorCode::WrongCollection),
        ("c", "guess", ErrorCode::Unauthorized),
        ("c", "", ErrorCode::Unauthorized),
    ] {
        let mut collection = replica("c", 1);
        let mut session = Session::new(&mut collection, guarded(), 0);
        session.handle_frame(&mut collection, &hello_frame(name, token), 0);
        assert_eq!(error_sent(&mut session, &mut collection), code);
        assert_eq!(session.peer(), None);
    }
}

#[test]
fn a_read_only_peer_reads_but_its_writes_are_refused() {
    let reader_config = SessionConfig {
        token: "reader".into(),
        ..SessionConfig::default()
    };
    let mut a = End::open(replica("c", 1), guarded());
    let mut b = End::open(Collection::new("c", ReplicaId::from_u128(2)), reader_config);
    pump(&mut a, &mut b, 0, 50);
    let hits = ObjectId::new("hits").unwrap();
    assert_eq!(a.session.peer_access(), Some(Access::ReadOnly));
    assert_eq!(
        b.collection.get(&hits),
        a.collection.get(&hits),
        "the reader got the relay's state"
    );
    assert!(!a.session.is_closed());

    let before = snapshot(&a.collection);
    b.collection
        .update(&hits, |c: &mut GCounter, me| c.increment(me, 5))
        .unwrap();
    pump(&mut a, &mut b, 0, 50);
    assert!(matches!(
        a.session.close_reason(),
        Some(CloseReason::Sent(ErrorCode::ReadOnly, _))
    ));
    assert!(matches!(
        b.session.close_reason(),
        Some(CloseReason::Received(ErrorCode::ReadOnly, _))
    ));
    assert_eq!(snapshot(&a.collection), before);
}

#[test]
fn frames_round_trip_and_report_their_faults() {
    for frame in real_frames() {
        let message = decode_frame(&frame, usize::MAX).unwrap();
        assert_eq!(encode_frame(&message).unwrap(), frame);
    }
    assert!(decode_frame(&[], 10).is_err());
    let mut padded = hello_frame("c", "");
    padded.push(0);
    assert!(decode_frame(&padded, usize::MAX).is_err());
}

#[test]
fn over_long_varints_in_real_frames_are_refused_as_non_canonical() {
    let mut refused_as_such = 0;
    for frame in real_frames() {
        for at in 1..frame.len() {
            if frame[at] >= 0x80 {
                continue;
            }
            // The same number in one byte more, if a varint ends here.
            let mut long = frame[..at].to_vec();
            long.extend([frame[at] | 0x80, 0x00]);
            long.extend(&frame[at + 1..]);
            match decode_frame(&long, usize::MAX) {
                // Where no varint ends, the longer frame may read as another message: then as
                // its own canonical encoding.
                Ok(message) => assert_eq!(encode_frame(&message).unwrap(), long),
                Err(FrameError::NonCanonical) => refused_as_such += 1,
                Err(_) => {}
            }
        }
    }
    assert!(refused_as_such > 0, "no varint was lengthened");
}
