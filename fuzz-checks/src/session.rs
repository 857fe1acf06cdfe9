//! One [`Session`] and its [`Collection`] driven by an arbitrary sequence of events: frames from
//! the peer (raw bytes, or well-formed [`Message`]s of every kind built from arbitrary parts,
//! some then corrupted), timer ticks, local edits, drains of what it transmits, anti-entropy
//! starts, its own frames reflected back, and oversized frames.
//!
//! Checked on every step:
//! - nothing panics;
//! - it never queues a second `Hello` while one waits to be taken (a driver that leaves the
//!   session undrained, say behind a full socket, finds one, not one per retransmission);
//! - every frame it transmits decodes ([`decode_frame`]) within its own frame limit and within
//!   the limit the peer's accepted `Hello` named (when that limit leaves room for the largest
//!   object this target makes); its `Hello`s carry its replica, collection and limit; its
//!   `Deltas` name each object once and cover a non-empty interval of its log; its anti-entropy
//!   ranges unpack;
//! - a frame that closes the session applies nothing it carried (PROTOCOL.md: "nothing the frame
//!   carried is applied"), one refused for the collection's object count names an object the
//!   collection does not hold, and only a `Hello` of the right collection, from another
//!   replica, with a token that grants access, completes the handshake;
//! - once closed, it sends its one error frame (with the code and detail of its close reason)
//!   or, if the peer closed it, nothing; it handles nothing more and wants no timer;
//! - its counters ([`SessionStats`]), the log's base and head, and each peer's progress never go
//!   backwards; the frames and bytes it counts as sent are those the driver received;
//! - after [`Session::handle_timeout`] at a due time, the next timer is strictly later (a
//!   driver that sleeps until [`Session::poll_timeout`] never spins).
//!
//! The input starts with a header (frame limit, gossip, anti-entropy period, split shape,
//! in-flight window, log cap, collection limits) and a few local edits made before the session
//! opens; then events follow, one tag byte each (see [`event`]). [`Script`] writes inputs in
//! this format, for the seed corpus.

use std::collections::BTreeMap;
use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use crdt_core::ReplicaId;
use crdt_sync::collection::{Collection, Limits, PeerProgress, item_hash};
use crdt_sync::message::{
    Bound, Deltas, ErrorCode, ErrorFrame, Hello, Message, ObjectItem, PROTOCOL_VERSION, Range,
    RangeKind, Reconcile, ReplyTo, RoundId, Want, decode_frame, encode_frame, pack_ranges,
    unpack_ranges,
};
use crdt_sync::object::{Object, ObjectVersion};
use crdt_sync::object_id::ObjectId;
use crdt_sync::reconcile::Shape;
use crdt_sync::session::{Access, CloseReason, Session, SessionConfig, SessionStats};

use crate::laws::byte;
use crate::objects::{BOUNDS, IDS, local_edit, number, object_id, remote_object};

/// The collection every session of the session targets replicates.
pub const COLLECTION: &str = "fuzz";

/// The replica under test.
pub const LOCAL: ReplicaId = ReplicaId::from_u128(0x4c4f_4341_4c00_0000_0000_0000_0000_0001);

/// The peer the frames mostly claim to come from.
pub const PEER: ReplicaId = ReplicaId::from_u128(0x5045_4552_0000_0000_0000_0000_0000_0002);

/// Another replica, for a second handshake from someone else.
pub const OTHER: ReplicaId = ReplicaId::from_u128(0x0700_0000_0000_0000_0000_0000_0000_0003);

/// The tokens peers present: the authorizer grants read-write to any but these two.
pub const READ_ONLY_TOKEN: &str = "ro";
/// See [`READ_ONLY_TOKEN`].
pub const DENIED_TOKEN: &str = "no";

/// The frame limits the header picks from.
const FRAME_LIMITS: [usize; 3] = [8 << 10, 64 << 10, 4 << 20];

/// At most this many events per input.
const MAX_EVENTS: usize = 160;

/// The event tags (an event's first byte, modulo [`event::COUNT`]).
pub mod event {
    /// A well-formed message from the peer, perhaps corrupted after encoding.
    pub const MESSAGE: u8 = 0;
    /// Raw bytes from the peer: a `u16` length (little-endian), then the bytes.
    pub const RAW: u8 = 1;
    /// Time passes: one byte of tens of milliseconds (sometimes more); due timers fire.
    pub const TICK: u8 = 2;
    /// A local edit (see `objects::local_edit`).
    pub const EDIT: u8 = 3;
    /// The driver takes up to the next byte's worth of frames (0: all).
    pub const DRAIN: u8 = 4;
    /// The application starts anti-entropy.
    pub const ANTI_ENTROPY: u8 = 5;
    /// One of the session's own recent frames comes back, as if from the peer.
    pub const ECHO: u8 = 6;
    /// A frame one byte over the session's limit.
    pub const OVERSIZED: u8 = 7;
    /// How many kinds there are.
    pub const COUNT: u8 = 8;
}

/// The fuzz target: one session under an arbitrary sequence of events.
pub fn session(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut driver = Driver::new(&mut u);
    let mut events = 0;
    while !u.is_empty() && events < MAX_EVENTS {
        events += 1;
        match byte(&mut u) % event::COUNT {
            event::MESSAGE => {
                let message = driver.message(&mut u);
                let mut frame = encode_frame(&message).expect("messages encode");
                match byte(&mut u) {
                    0..=231 => {}
                    232..=239 => frame[0] = byte(&mut u),
                    240..=247 => {
                        frame.pop();
                    }
                    extra => frame.push(extra),
                }
                driver.handle(&frame);
            }
            event::RAW => {
                let len = usize::from(u16::arbitrary(&mut u).unwrap_or_default());
                let frame = u.bytes(len.min(u.len())).unwrap_or_default().to_vec();
                driver.handle(&frame);
            }
            event::TICK => {
                let ms = match byte(&mut u) {
                    250.. => u64::from(u16::arbitrary(&mut u).unwrap_or_default()) * 10,
                    tens => u64::from(tens) * 10,
                };
                driver.tick(ms);
            }
            event::EDIT => {
                local_edit(&mut driver.collection, &mut u, driver.now, false);
                driver.after_call();
            }
            event::DRAIN => {
                let max = byte(&mut u);
                driver.drain(if max == 0 {
                    usize::MAX
                } else {
                    usize::from(max)
                });
            }
            event::ANTI_ENTROPY => {
                driver
                    .session
                    .start_anti_entropy(&mut driver.collection, driver.now);
                driver.after_call();
            }
            event::ECHO => {
                if !driver.recent.is_empty() {
                    let which = usize::from(byte(&mut u)) % driver.recent.len();
                    let frame = driver.recent[which].clone();
                    driver.handle(&frame);
                }
            }
            _ => {
                let frame = vec![PROTOCOL_VERSION; driver.limit + 1];
                driver.handle(&frame);
            }
        }
    }
    // The end: everything it has to say, then long enough for every timer to fire.
    driver.drain(usize::MAX);
    for _ in 0..4 {
        driver.tick(20_000);
        driver.drain(usize::MAX);
    }
    driver.finish();
}

/// Writes inputs for [`session`]: a header, then events.
#[derive(Clone, Debug)]
pub struct Script(Vec<u8>);

impl Script {
    /// A script with a default header: an 8 KiB frame limit, gossip on, retransmission after
    /// 200 ms, anti-entropy every second, default shape, log cap and object count, no edits
    /// before the session opens.
    pub fn new() -> Self {
        Self(vec![0, 1, 0, 2, 0])
    }

    /// A raw frame from the peer.
    pub fn frame(mut self, frame: &[u8]) -> Self {
        let len = u16::try_from(frame.len()).expect("seed frames are small");
        self.0.push(event::RAW);
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(frame);
        self
    }

    /// Time passes: `tens` × 10 ms (below 250).
    pub fn tick(mut self, tens: u8) -> Self {
        self.0.extend_from_slice(&[event::TICK, tens.min(249)]);
        self
    }

    /// The driver takes every frame.
    pub fn drain(mut self) -> Self {
        self.0.extend_from_slice(&[event::DRAIN, 0]);
        self
    }

    /// A local edit, its choices given as bytes.
    pub fn edit(mut self, choices: &[u8]) -> Self {
        self.0.push(event::EDIT);
        self.0.extend_from_slice(choices);
        self
    }

    /// The input.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl Default for Script {
    fn default() -> Self {
        Self::new()
    }
}

/// The session under test, its collection, and what the checks remember between steps.
struct Driver {
    session: Session,
    collection: Collection,
    now: u64,
    /// This side's frame limit.
    limit: usize,
    /// The frame limit the accepted `Hello` named, once one was accepted (0: none said).
    peer_limit: Option<u64>,
    /// The smallest peer limit the frame-size check holds the session to: room for two of the
    /// largest objects this target makes, which a frame cannot split.
    honoured_peer_limit: u64,
    stats: SessionStats,
    closed: Option<CloseReason>,
    frames_after_close: usize,
    log: (u64, u64),
    progress: BTreeMap<ReplicaId, PeerProgress>,
    /// The last frames sent, for echoes.
    recent: Vec<Vec<u8>>,
}

impl Driver {
    fn new(u: &mut Unstructured<'_>) -> Self {
        let [frames, timers, shape, window, limits] = [(); 5].map(|()| byte(u));
        let limit = FRAME_LIMITS[usize::from(frames % 3)];
        let config = SessionConfig {
            token: String::new(),
            authorizer: Some(Arc::new(|collection: &str, token: &str| {
                assert_eq!(collection, COLLECTION, "authorizing another collection");
                match token {
                    READ_ONLY_TOKEN => Access::ReadOnly,
                    DENIED_TOKEN => Access::Denied,
                    _ => Access::ReadWrite,
                }
            })),
            max_frame_bytes: limit,
            retransmit_ms: 50 + u64::from(timers % 4) * 150,
            max_in_flight_bytes: if window % 2 == 0 { 8 << 20 } else { 256 },
            handshake_timeout_ms: 5_000,
            anti_entropy_every_ms: [1_000, 0, 5_000, 60_000][usize::from(timers / 4 % 4)],
            round_timeout_ms: 1_000 + u64::from(timers / 16 % 4) * 1_000,
            shape: Shape {
                fanout: usize::from(shape % 17),
                leaf_size: usize::from(shape / 17 % 17),
            },
            gossip: frames / 3 % 4 != 3,
        };
        let max_object_bytes = limit / 8;
        let mut collection = Collection::new(COLLECTION, LOCAL);
        collection.set_limits(Limits {
            max_objects: [1_000, 3, 1][usize::from(limits % 3)],
            max_object_bytes,
        });
        if window / 2 % 4 == 0 {
            collection.set_max_log_entries(usize::from(window / 8 % 8) + 1);
        }
        for _ in 0..limits / 3 % 4 {
            local_edit(&mut collection, u, 0, false);
        }
        let session = Session::new(&mut collection, config, 0);
        let mut driver = Self {
            session,
            collection,
            now: 0,
            limit,
            peer_limit: None,
            honoured_peer_limit: 2 * max_object_bytes as u64 + 1024,
            stats: SessionStats::default(),
            closed: None,
            frames_after_close: 0,
            log: (0, 0),
            progress: BTreeMap::new(),
            recent: Vec::new(),
        };
        driver.after_call();
        driver
    }

    /// Hands the session a frame from the peer.
    fn handle(&mut self, frame: &[u8]) {
        let was_closed = self.session.is_closed();
        let peer_before = self.session.peer();
        let objects_before: Vec<(ObjectId, Object)> = self
            .collection
            .iter()
            .map(|(id, object)| (id.clone(), object.clone()))
            .collect();
        self.session
            .handle_frame(&mut self.collection, frame, self.now);
        let unchanged = || {
            self.collection
                .iter()
                .eq(objects_before.iter().map(|(id, o)| (id, o)))
        };
        if was_closed {
            assert_eq!(
                *self.session.stats(),
                self.stats,
                "a closed session counted a frame"
            );
            assert!(unchanged(), "a closed session applied a frame");
        } else if self.session.is_closed() {
            assert!(
                unchanged(),
                "the frame that closed the session ({:?}) changed the collection",
                self.session.close_reason()
            );
            if let Some(CloseReason::Sent(ErrorCode::LimitExceeded, detail)) =
                self.session.close_reason()
                && detail.contains("create an object")
            {
                // Refused for the object count: it must have named an object not held (local
                // edits are not limited, so the collection may already be past the limit).
                let named = objects_carried(frame, self.limit);
                assert!(
                    named
                        .iter()
                        .any(|id| !objects_before.iter().any(|(held, _)| held == id)),
                    "refused as too many objects, naming only objects held: {named:?}"
                );
            }
        }
        match (peer_before, self.session.peer()) {
            (None, Some(peer)) => {
                let Ok(Message::Hello(hello)) = decode_frame(frame, self.limit) else {
                    panic!("a frame that is not a Hello completed the handshake");
                };
                assert_eq!(hello.replica, peer);
                assert_ne!(peer, LOCAL, "the session accepted its own replica id");
                assert_eq!(
                    hello.collection, COLLECTION,
                    "the session accepted another collection"
                );
                assert_ne!(
                    hello.token, DENIED_TOKEN,
                    "the session accepted a denied token"
                );
                assert_eq!(
                    self.session.peer_access(),
                    Some(if hello.token == READ_ONLY_TOKEN {
                        Access::ReadOnly
                    } else {
                        Access::ReadWrite
                    })
                );
                self.peer_limit = Some(hello.max_frame_bytes);
            }
            (Some(before), after) => assert_eq!(after, Some(before), "the peer changed"),
            (None, None) => {}
        }
        self.after_call();
    }

    /// Advances time by `ms` and fires the timers due.
    fn tick(&mut self, ms: u64) {
        self.now += ms;
        if self.session.poll_timeout().is_some_and(|at| at <= self.now) {
            self.session.handle_timeout(&mut self.collection, self.now);
            if let Some(next) = self.session.poll_timeout() {
                assert!(
                    next > self.now,
                    "a timer at {next} is still due after handle_timeout({})",
                    self.now
                );
            }
        }
        self.after_call();
    }

    /// Takes up to `max` frames from the session.
    fn drain(&mut self, max: usize) {
        let mut hellos = 0;
        for _ in 0..max {
            let closed = self.session.is_closed();
            let Some(frame) = self.session.poll_transmit(&mut self.collection, self.now) else {
                break;
            };
            let counted = *self.session.stats();
            assert_eq!(counted.frames_out, self.stats.frames_out + 1);
            assert_eq!(counted.bytes_out, self.stats.bytes_out + frame.len() as u64);
            if self.check_sent(&frame, closed) {
                hellos += 1;
                // However long the driver left it, the outbox holds one Hello at most.
                assert!(hellos <= 1, "two Hellos queued at once");
            }
            if self.recent.len() >= 8 {
                self.recent.remove(0);
            }
            self.recent.push(frame);
            self.after_call();
        }
    }

    /// Checks a frame the session sent; returns whether it was a `Hello`.
    fn check_sent(&mut self, frame: &[u8], closed: bool) -> bool {
        let message = decode_frame(frame, self.limit).unwrap_or_else(|error| {
            panic!(
                "the session sent a frame of {} bytes it would refuse: {error}",
                frame.len()
            )
        });
        let is_hello = matches!(message, Message::Hello(_));
        if let Some(peer_limit) = self
            .peer_limit
            .filter(|&limit| limit >= self.honoured_peer_limit)
        {
            assert!(
                frame.len() as u64 <= peer_limit,
                "a frame of {} bytes to a peer that accepts {peer_limit}",
                frame.len()
            );
        }
        if closed || matches!(message, Message::Error(_)) {
            self.frames_after_close += 1;
            let reason = self.session.close_reason();
            let Some(CloseReason::Sent(code, detail)) = reason else {
                panic!("sent {message:?} while closed by {reason:?}");
            };
            assert_eq!(
                message,
                Message::Error(ErrorFrame {
                    code: *code,
                    detail: detail.clone()
                })
            );
            assert_eq!(
                self.frames_after_close, 1,
                "more than one frame after closing"
            );
            return is_hello;
        }
        match message {
            Message::Hello(hello) => {
                assert_eq!(hello.replica, LOCAL);
                assert_eq!(hello.collection, COLLECTION);
                assert_eq!(hello.max_frame_bytes, self.limit as u64);
                assert!(hello.log_base <= hello.log_head);
            }
            Message::Deltas(deltas) => {
                assert!(
                    deltas.from < deltas.to && deltas.to <= self.collection.log().head(),
                    "an interval {}..={} of a log with head {}",
                    deltas.from,
                    deltas.to,
                    self.collection.log().head()
                );
                let mut ids: Vec<&ObjectId> = deltas.objects.iter().map(|(id, _)| id).collect();
                ids.sort();
                ids.dedup();
                assert_eq!(
                    ids.len(),
                    deltas.objects.len(),
                    "an object twice in one interval"
                );
            }
            Message::Reconcile(reconcile) => {
                if let Err(error) = unpack_ranges(reconcile.ranges) {
                    panic!("the session sent ranges it would refuse: {error}");
                }
            }
            Message::Ack { .. } | Message::Error(_) => {}
        }
        is_hello
    }

    /// Checks made after every call into the session or the collection.
    fn after_call(&mut self) {
        let stats = *self.session.stats();
        assert!(
            monotone(&self.stats, &stats),
            "counters went back: {:?} → {stats:?}",
            self.stats
        );
        self.stats = stats;

        if let Some(before) = &self.closed {
            assert_eq!(
                self.session.close_reason(),
                Some(before),
                "the close reason changed"
            );
        }
        self.closed = self.session.close_reason().cloned();
        if self.closed.is_some() {
            assert_eq!(
                self.session.poll_timeout(),
                None,
                "a closed session wants a timer"
            );
        }

        let log = (self.collection.log().base(), self.collection.log().head());
        assert!(
            log.0 <= log.1,
            "log base {} above its head {}",
            log.0,
            log.1
        );
        assert!(
            log.0 >= self.log.0 && log.1 >= self.log.1,
            "the log went back: {:?} → {log:?}",
            self.log
        );
        self.log = log;
        for (peer, progress) in self.collection.peers() {
            assert!(
                progress.acked <= log.1,
                "{peer} acknowledged {} of a log of {}",
                progress.acked,
                log.1
            );
            if let Some(before) = self.progress.get(peer) {
                assert!(
                    progress.acked >= before.acked && progress.received >= before.received,
                    "the progress of {peer} went back: {before:?} → {progress:?}"
                );
            }
            self.progress.insert(*peer, *progress);
        }
    }

    /// The checks at the end of a run.
    fn finish(&mut self) {
        match self.session.close_reason() {
            Some(CloseReason::Sent(..)) => {
                assert_eq!(self.frames_after_close, 1, "the error frame was never sent");
            }
            Some(CloseReason::Received(..)) | None => {
                assert_eq!(self.frames_after_close, 0);
            }
        }
    }

    /// A message built from arbitrary parts: mostly what a real peer could send, in every kind.
    fn message(&self, u: &mut Unstructured<'_>) -> Message {
        match byte(u) % 5 {
            0 => Message::Hello(Hello {
                replica: replica(u),
                collection: if byte(u).is_multiple_of(8) {
                    "other"
                } else {
                    COLLECTION
                }
                .into(),
                token: ["", "", "t", READ_ONLY_TOKEN, DENIED_TOKEN][usize::from(byte(u)) % 5]
                    .into(),
                log_base: number(u),
                log_head: number(u),
                max_frame_bytes: match byte(u) % 6 {
                    0 => 0,
                    1 => self.limit as u64,
                    2 => self.limit as u64 / 2,
                    3 => 1 << 20,
                    4 => u64::MAX,
                    _ => number(u),
                },
            }),
            1 => {
                let from = number(u);
                Message::Deltas(Deltas {
                    from,
                    to: from.saturating_add(number(u)),
                    objects: (0..byte(u) % 4)
                        .map(|_| (object_id(u), remote_object(u, PEER, self.now)))
                        .collect(),
                })
            }
            2 => Message::Ack {
                received: number(u),
            },
            3 => Message::Reconcile(self.reconcile(u)),
            _ => Message::Error(ErrorFrame {
                code: ERROR_CODES[usize::from(byte(u)) % ERROR_CODES.len()],
                detail: "fuzz".into(),
            }),
        }
    }

    fn reconcile(&self, u: &mut Unstructured<'_>) -> Reconcile {
        let mut ranges = Vec::new();
        let mut lower: &[u8] = b"";
        for bound in BOUNDS {
            if !byte(u).is_multiple_of(4) {
                continue;
            }
            ranges.push(Range {
                upper: Bound::Key(bound.as_bytes().to_vec()),
                kind: self.range_kind(u, lower, Some(bound.as_bytes())),
            });
            lower = bound.as_bytes();
        }
        if !byte(u).is_multiple_of(4) {
            ranges.push(Range {
                upper: Bound::End,
                kind: self.range_kind(u, lower, None),
            });
        }
        let objects = (0..byte(u) % 3)
            .map(|_| ObjectItem {
                id: object_id(u),
                delta: (byte(u).is_multiple_of(2)).then(|| remote_object(u, PEER, self.now)),
                want: (byte(u).is_multiple_of(2)).then(|| Want {
                    version: match byte(u) % 3 {
                        0 => ObjectVersion::Absent,
                        1 => remote_object(u, PEER, self.now).version(),
                        _ => {
                            let id = object_id(u);
                            self.collection
                                .get(&id)
                                .map_or(ObjectVersion::Absent, Object::version)
                        }
                    },
                    reciprocate: byte(u).is_multiple_of(2),
                }),
            })
            .collect();
        Reconcile {
            round: RoundId {
                by_sender: byte(u).is_multiple_of(2),
                number: u32::from(byte(u) % 4),
            },
            head: number(u),
            request: (!byte(u).is_multiple_of(4)).then(|| u32::from(byte(u) % 8)),
            reply_to: (byte(u).is_multiple_of(2)).then(|| ReplyTo {
                request: u32::from(byte(u) % 8),
                part: u16::from(byte(u) % 3),
                parts: u16::from(byte(u) % 3) + 1,
            }),
            ranges: pack_ranges(&ranges),
            objects,
        }
    }

    /// What a peer says of the ids in `lower..upper`: mostly the truth about this side's
    /// objects there (so ranges settle and id lists match), sometimes not.
    fn range_kind(
        &self,
        u: &mut Unstructured<'_>,
        lower: &[u8],
        upper: Option<&[u8]>,
    ) -> RangeKind {
        let within = |id: &ObjectId| {
            id.as_bytes() >= lower && upper.is_none_or(|upper| id.as_bytes() < upper)
        };
        match byte(u) % 4 {
            0 => RangeKind::Skip,
            1 => {
                let sum = self
                    .collection
                    .iter()
                    .filter(|(id, _)| within(id))
                    .fold(0u128, |sum, (id, object)| {
                        sum.wrapping_add(item_hash(id, object))
                    });
                RangeKind::Fingerprint(if byte(u).is_multiple_of(2) {
                    sum
                } else {
                    sum ^ 1
                })
            }
            2 => RangeKind::Fingerprint(u128::from(number(u))),
            _ => {
                let mut ids = Vec::new();
                for name in IDS {
                    let id = ObjectId::new(name).expect("the pool's ids are valid");
                    if !within(&id) || byte(u).is_multiple_of(2) {
                        continue;
                    }
                    let hash = match self.collection.get(&id) {
                        Some(object) if byte(u).is_multiple_of(2) => item_hash(&id, object),
                        _ => u128::from(number(u)),
                    };
                    ids.push((id, hash));
                }
                RangeKind::Ids(ids)
            }
        }
    }
}

/// The ids of the objects a frame carries deltas for.
fn objects_carried(frame: &[u8], limit: usize) -> Vec<ObjectId> {
    match decode_frame(frame, limit) {
        Ok(Message::Deltas(deltas)) => deltas.objects.into_iter().map(|(id, _)| id).collect(),
        Ok(Message::Reconcile(reconcile)) => reconcile
            .objects
            .into_iter()
            .filter(|item| item.delta.is_some())
            .map(|item| item.id)
            .collect(),
        _ => Vec::new(),
    }
}

const ERROR_CODES: [ErrorCode; 11] = [
    ErrorCode::Malformed,
    ErrorCode::UnsupportedVersion,
    ErrorCode::FrameTooLarge,
    ErrorCode::Unexpected,
    ErrorCode::Unauthorized,
    ErrorCode::ReadOnly,
    ErrorCode::WrongCollection,
    ErrorCode::BadUpdate,
    ErrorCode::Timeout,
    ErrorCode::LimitExceeded,
    ErrorCode::Overloaded,
];

/// A replica id for a `Hello`: mostly the peer, sometimes another, this side's own, or any.
fn replica(u: &mut Unstructured<'_>) -> ReplicaId {
    match byte(u) % 6 {
        0..=2 => PEER,
        3 => OTHER,
        4 => LOCAL,
        _ => ReplicaId::from_u128(u128::arbitrary(u).unwrap_or_default()),
    }
}

/// Whether every counter of `after` is at least that of `before`.
fn monotone(before: &SessionStats, after: &SessionStats) -> bool {
    let fields = |s: &SessionStats| {
        [
            s.frames_out,
            s.bytes_out,
            s.frames_in,
            s.bytes_in,
            s.delta_frames_out,
            s.deltas_out,
            s.deltas_in,
            s.rounds_started,
            s.rounds_completed,
            s.reconcile_frames_out,
            s.reconcile_control_bytes_out,
            s.frames_ignored,
        ]
    };
    fields(before)
        .iter()
        .zip(fields(after))
        .all(|(before, after)| after >= *before)
}
