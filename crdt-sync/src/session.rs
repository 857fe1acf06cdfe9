//! [`Session`]: the sans-IO state machine of one connection to one peer.
//!
//! ```
//! use crdt_core::{GCounter, ReplicaId};
//! use crdt_sync::collection::Collection;
//! use crdt_sync::object_id::ObjectId;
//! use crdt_sync::session::{Session, SessionConfig};
//!
//! let hits = ObjectId::new("hits").unwrap();
//! let mut alice = Collection::new("site", ReplicaId::from_u128(1));
//! let mut bob = Collection::new("site", ReplicaId::from_u128(2));
//! alice.update(&hits, |counter: &mut GCounter, me| counter.increment(me, 3)).unwrap();
//!
//! let now = 0; // milliseconds, from whatever clock the driver has
//! let mut at_alice = Session::new(&mut alice, SessionConfig::default(), now);
//! let mut at_bob = Session::new(&mut bob, SessionConfig::default(), now);
//! // The driver moves bytes; here, a perfect wire, until both sides fall silent.
//! loop {
//!     let mut moved = false;
//!     while let Some(frame) = at_alice.poll_transmit(&mut alice, now) {
//!         at_bob.handle_frame(&mut bob, &frame, now);
//!         moved = true;
//!     }
//!     while let Some(frame) = at_bob.poll_transmit(&mut bob, now) {
//!         at_alice.handle_frame(&mut alice, &frame, now);
//!         moved = true;
//!     }
//!     if !moved { break; }
//! }
//! assert_eq!(bob.get_as::<GCounter>(&hits).unwrap().unwrap().value(), 3);
//! ```
//!
//! A session never touches a socket or a clock: frames come in through [`Session::handle_frame`],
//! go out through [`Session::poll_transmit`], and time is the `now` argument, in milliseconds;
//! [`Session::poll_timeout`] says when to call [`Session::handle_timeout`]. The same code runs
//! over WebSockets, in a browser, and in the deterministic simulator.
//!
//! What it does, in order:
//! - **Handshake.** Each side sends a [`Hello`] (replica id, collection, access token, log
//!   bounds) and repeats it until the peer shows it arrived. A wrong collection, a refused token,
//!   another protocol version or an undecodable frame gets an [`ErrorFrame`] and the session
//!   closes; the collection is untouched.
//! - **Delta gossip.** The peer is sent its delta-interval: the log after what it acknowledged,
//!   joined per object, cut to the frame size. It joins and acknowledges cumulatively; unanswered
//!   intervals are resent after [`SessionConfig::retransmit_ms`]. An interval received after a gap
//!   is joined (joins commute) but acknowledges nothing beyond the gap.
//! - **Anti-entropy** ([`crate::reconcile`]). Run on connect, every
//!   [`SessionConfig::anti_entropy_every_ms`], and whenever the peer has fallen behind what the
//!   log still holds. A round whose every request was answered proves this side has everything
//!   the peer had when the round's oldest message left it, so it acknowledges the peer's log up
//!   to that point: gossip resumes from there. A round that stalls (lost messages) is dropped
//!   after [`SessionConfig::round_timeout_ms`]; the next one starts over.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use crdt_core::ReplicaId;

use crate::collection::Collection;
use crate::message::{
    Bound, Deltas, ErrorCode, ErrorFrame, Hello, Message, ObjectItem, Range, Reconcile, ReplyTo,
    RoundId, decode_frame, encode_frame, pack_ranges, unpack_ranges,
};
use crate::object::Object;
use crate::object_id::ObjectId;
use crate::reconcile::{self, AnswerError, Shape};
use crate::sync_error::SyncError;

/// What a peer may do with a collection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    /// Read and change it.
    ReadWrite,
    /// Read it; any change it sends is refused and closes the session.
    ReadOnly,
    /// Nothing: the handshake is refused.
    Denied,
}

/// Decides a peer's access from the collection it names and its token.
pub type Authorizer = Arc<dyn Fn(&str, &str) -> Access + Send + Sync>;

/// A session's settings. Times are in milliseconds.
#[derive(Clone)]
pub struct SessionConfig {
    /// The token this side presents.
    pub token: String,
    /// Decides what the peer may do; `None` grants read-write to any peer.
    pub authorizer: Option<Authorizer>,
    /// The largest frame sent or accepted, in bytes.
    pub max_frame_bytes: usize,
    /// How long an unacknowledged interval or handshake waits before it is sent again. Over a
    /// transport that loses frames only with the connection, start from
    /// [`SessionConfig::for_stream`] instead.
    pub retransmit_ms: u64,
    /// How many bytes of delta frames may wait for the peer's acknowledgement; more waits
    /// until acknowledgements come (at least one frame is always sent).
    pub max_in_flight_bytes: usize,
    /// How long the handshake may take before the session gives up.
    pub handshake_timeout_ms: u64,
    /// How often this side starts anti-entropy (0: only on connect and when the peer lags).
    pub anti_entropy_every_ms: u64,
    /// How long a round may go without progress before it is dropped.
    pub round_timeout_ms: u64,
    /// How anti-entropy splits ranges.
    pub shape: Shape,
    /// Whether to gossip deltas; without it only anti-entropy moves changes (slower, but it
    /// is how a replica that keeps no log, or a test of repair alone, runs).
    pub gossip: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            token: String::new(),
            authorizer: None,
            max_frame_bytes: 4 << 20,
            retransmit_ms: 1_000,
            max_in_flight_bytes: 8 << 20,
            handshake_timeout_ms: 30_000,
            anti_entropy_every_ms: 60_000,
            round_timeout_ms: 10_000,
            shape: Shape::default(),
            gossip: true,
        }
    }
}

impl SessionConfig {
    /// How long [`SessionConfig::for_stream`] waits before resending, in milliseconds.
    pub const STREAM_RETRANSMIT_MS: u64 = 60_000;

    /// The defaults for a transport that delivers every frame, in order, or drops the
    /// connection (a WebSocket): a frame is then late, never lost, so resending it after a
    /// second (the default, right for lossy links) would only duplicate what is still in the
    /// pipe and bury a busy peer under more of it. Resending waits a minute instead, as a
    /// last resort; a dead connection is the transport's to notice.
    ///
    /// ```
    /// use crdt_sync::session::SessionConfig;
    ///
    /// let config = SessionConfig { token: "s3cret".into(), ..SessionConfig::for_stream() };
    /// assert_eq!(config.retransmit_ms, SessionConfig::STREAM_RETRANSMIT_MS);
    /// ```
    pub fn for_stream() -> Self {
        Self {
            retransmit_ms: Self::STREAM_RETRANSMIT_MS,
            ..Self::default()
        }
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("authorizer", &self.authorizer.as_ref().map(|_| "…"))
            .field("max_frame_bytes", &self.max_frame_bytes)
            .field("retransmit_ms", &self.retransmit_ms)
            .field("max_in_flight_bytes", &self.max_in_flight_bytes)
            .field("handshake_timeout_ms", &self.handshake_timeout_ms)
            .field("anti_entropy_every_ms", &self.anti_entropy_every_ms)
            .field("round_timeout_ms", &self.round_timeout_ms)
            .field("shape", &self.shape)
            .field("gossip", &self.gossip)
            .finish_non_exhaustive()
    }
}

/// Why a session closed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum CloseReason {
    /// This side found a fault and sent the peer an error frame.
    Sent(ErrorCode, String),
    /// The peer sent an error frame.
    Received(ErrorCode, String),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sent(code, detail) => write!(f, "closed by this side ({code:?}): {detail}"),
            Self::Received(code, detail) => write!(f, "refused by the peer ({code:?}): {detail}"),
        }
    }
}

/// Counters of one session.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct SessionStats {
    /// Frames sent.
    pub frames_out: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Frames received.
    pub frames_in: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Delta frames sent (first sends and retransmissions).
    pub delta_frames_out: u64,
    /// Objects sent in delta frames (each a delta-interval of one object).
    pub deltas_out: u64,
    /// Objects received in delta frames.
    pub deltas_in: u64,
    /// Anti-entropy rounds this side started.
    pub rounds_started: u64,
    /// Rounds that completed here, acknowledging the peer's log.
    pub rounds_completed: u64,
    /// Anti-entropy frames sent.
    pub reconcile_frames_out: u64,
    /// Anti-entropy bytes sent, without the objects' own deltas.
    pub reconcile_control_bytes_out: u64,
    /// Frames ignored (before the handshake, or stale).
    pub frames_ignored: u64,
}

#[derive(Debug)]
struct Peer {
    replica: ReplicaId,
    access: Access,
    /// The largest frame the peer accepts (its `Hello` says).
    max_frame_bytes: usize,
    /// Delta frames sent and not yet acknowledged: (last sequence number, bytes), oldest first.
    in_flight: VecDeque<(u64, usize)>,
    sent: u64,
    acked: u64,
    last_sent_at: u64,
    heard_from: bool,
}

#[derive(Debug, Default)]
struct Parts {
    received: BTreeSet<u16>,
}

#[derive(Debug)]
struct Round {
    rooted: bool,
    oldest_peer_head: Option<u64>,
    outstanding: BTreeMap<u32, Parts>,
    last_activity: u64,
}

/// The state machine of one connection (see the module docs).
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    local: ReplicaId,
    collection: String,
    peer: Option<Peer>,
    closed: Option<CloseReason>,
    outbox: VecDeque<Vec<u8>>,
    started_at: u64,
    hello_sent_at: u64,
    ack_due: bool,
    rounds: BTreeMap<(bool, u32), Round>,
    next_round: u32,
    next_request: u32,
    next_anti_entropy_at: Option<u64>,
    stats: SessionStats,
}

/// The most anti-entropy rounds a session tracks at once: a peer cannot grow it further.
const MAX_ROUNDS: usize = 8;

impl Session {
    /// Opens a session for `collection`, queueing this side's handshake.
    pub fn new(collection: &mut Collection, config: SessionConfig, now: u64) -> Self {
        let mut session = Self {
            config,
            local: collection.replica(),
            collection: collection.name().to_owned(),
            peer: None,
            closed: None,
            outbox: VecDeque::new(),
            started_at: now,
            hello_sent_at: now,
            ack_due: false,
            rounds: BTreeMap::new(),
            next_round: 0,
            next_request: 0,
            next_anti_entropy_at: None,
            stats: SessionStats::default(),
        };
        session.send_hello(collection, now);
        session
    }

    /// The peer's replica id, once the handshake has arrived.
    pub fn peer(&self) -> Option<ReplicaId> {
        self.peer.as_ref().map(|peer| peer.replica)
    }

    /// What the peer may do, once the handshake has arrived.
    pub fn peer_access(&self) -> Option<Access> {
        self.peer.as_ref().map(|peer| peer.access)
    }

    /// Why the session closed, if it did. A closed session sends nothing more.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.closed.as_ref()
    }

    /// Whether the session closed.
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// The session's counters.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// Whether the peer has acknowledged this side's whole log and no round is in progress.
    pub fn is_idle(&self, collection: &Collection) -> bool {
        self.peer
            .as_ref()
            .is_some_and(|peer| peer.acked >= collection.log().head())
            && self.rounds.is_empty()
            && self.outbox.is_empty()
    }

    /// Handles one frame from the peer. Faults close the session after queueing an error frame.
    pub fn handle_frame(&mut self, collection: &mut Collection, frame: &[u8], now: u64) {
        if self.closed.is_some() {
            return;
        }
        self.stats.frames_in += 1;
        self.stats.bytes_in += frame.len() as u64;
        let message = match decode_frame(frame, self.config.max_frame_bytes) {
            Ok(message) => message,
            Err(error) => return self.fail(error.code(), error.to_string()),
        };
        match message {
            Message::Hello(hello) => self.on_hello(collection, hello, now),
            Message::Error(error) => {
                self.outbox.clear();
                self.closed = Some(CloseReason::Received(error.code, error.detail));
            }
            other => {
                let Some(peer) = self.peer.as_mut() else {
                    // Before the handshake (a reordered frame): ignored, the peer resends.
                    self.stats.frames_ignored += 1;
                    return;
                };
                peer.heard_from = true;
                match other {
                    Message::Deltas(deltas) => self.on_deltas(collection, deltas),
                    Message::Ack { received } => self.on_ack(collection, received),
                    Message::Reconcile(reconcile) => self.on_reconcile(collection, reconcile, now),
                    Message::Hello(_) | Message::Error(_) => {}
                }
            }
        }
    }

    /// Advances timers: resends, handshake timeout, stalled rounds, periodic anti-entropy.
    pub fn handle_timeout(&mut self, collection: &mut Collection, now: u64) {
        if self.closed.is_some() {
            return;
        }
        let retransmit = self.config.retransmit_ms;
        let Some(peer) = self.peer.as_mut() else {
            if now
                >= self
                    .started_at
                    .saturating_add(self.config.handshake_timeout_ms)
            {
                return self.fail(ErrorCode::Timeout, "no handshake from the peer".into());
            }
            if now >= self.hello_sent_at.saturating_add(retransmit) {
                self.send_hello(collection, now);
            }
            return;
        };
        if !peer.heard_from && now >= self.hello_sent_at.saturating_add(retransmit) {
            self.send_hello(collection, now);
        }
        let Some(peer) = self.peer.as_mut() else {
            return;
        };
        if peer.acked < peer.sent && now >= peer.last_sent_at.saturating_add(retransmit) {
            peer.sent = peer.acked;
            peer.in_flight.clear();
        }
        let timeout = self.config.round_timeout_ms;
        self.rounds
            .retain(|_, round| now < round.last_activity.saturating_add(timeout));
        if self.next_anti_entropy_at.is_some_and(|at| now >= at) {
            self.start_anti_entropy(collection, now);
        }
    }

    /// When [`Session::handle_timeout`] should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.closed.is_some() {
            return None;
        }
        let retransmit = self.config.retransmit_ms;
        let Some(peer) = &self.peer else {
            let handshake = self
                .started_at
                .saturating_add(self.config.handshake_timeout_ms);
            return Some(handshake.min(self.hello_sent_at.saturating_add(retransmit)));
        };
        let hello = (!peer.heard_from).then(|| self.hello_sent_at.saturating_add(retransmit));
        let resend = (peer.acked < peer.sent).then(|| peer.last_sent_at.saturating_add(retransmit));
        let rounds = self
            .rounds
            .values()
            .map(|round| {
                round
                    .last_activity
                    .saturating_add(self.config.round_timeout_ms)
            })
            .min();
        [hello, resend, rounds, self.next_anti_entropy_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next frame to send, if any. Also packs pending deltas for the peer into frames.
    pub fn poll_transmit(&mut self, collection: &mut Collection, now: u64) -> Option<Vec<u8>> {
        if self.closed.is_none() {
            if self.ack_due {
                self.ack_due = false;
                if let Some(peer) = &self.peer {
                    let received = collection.progress(&peer.replica).received;
                    self.send(&Message::Ack { received });
                }
            }
            self.pack_deltas(collection, now);
        }
        let frame = self.outbox.pop_front()?;
        self.stats.frames_out += 1;
        self.stats.bytes_out += frame.len() as u64;
        Some(frame)
    }

    /// Starts an anti-entropy round now, unless one of this side's is already running.
    pub fn start_anti_entropy(&mut self, collection: &mut Collection, now: u64) {
        self.next_anti_entropy_at = (self.config.anti_entropy_every_ms > 0)
            .then(|| now.saturating_add(self.config.anti_entropy_every_ms));
        if self.peer.is_none() || self.closed.is_some() {
            return;
        }
        if self.rounds.keys().any(|(mine, _)| *mine) {
            return;
        }
        let number = self.next_round;
        self.next_round = self.next_round.wrapping_add(1);
        let request = self.take_request_id();
        self.make_room_for_round();
        self.rounds.insert(
            (true, number),
            Round {
                rooted: true,
                oldest_peer_head: None,
                outstanding: BTreeMap::from([(request, Parts::default())]),
                last_activity: now,
            },
        );
        self.stats.rounds_started += 1;
        let ranges = reconcile::root(collection);
        let message = Reconcile {
            round: RoundId {
                by_sender: true,
                number,
            },
            head: collection.log().head(),
            request: Some(request),
            reply_to: None,
            ranges: pack_ranges(&ranges),
            objects: Vec::new(),
        };
        self.send_reconcile(message);
    }

    /// The largest frame to send: this side's limit, or the peer's if smaller.
    fn send_limit(&self) -> usize {
        let peer = self
            .peer
            .as_ref()
            .map_or(usize::MAX, |peer| peer.max_frame_bytes);
        self.config.max_frame_bytes.min(peer)
    }

    fn take_request_id(&mut self) -> u32 {
        let id = self.next_request;
        self.next_request = self.next_request.wrapping_add(1);
        id
    }

    fn make_room_for_round(&mut self) {
        while self.rounds.len() >= MAX_ROUNDS {
            let oldest = self
                .rounds
                .iter()
                .min_by_key(|(_, round)| round.last_activity)
                .map(|(key, _)| *key);
            match oldest {
                Some(key) => self.rounds.remove(&key),
                None => break,
            };
        }
    }

    fn send_hello(&mut self, collection: &Collection, now: u64) {
        self.hello_sent_at = now;
        let hello = Message::Hello(Hello {
            replica: self.local,
            collection: self.collection.clone(),
            token: self.config.token.clone(),
            log_base: collection.log().base(),
            log_head: collection.log().head(),
            max_frame_bytes: self.config.max_frame_bytes as u64,
        });
        // A Hello still waiting in the outbox is brought up to date where it stands, not
        // repeated: a driver that takes no frames for a while (its socket is full) must not
        // find one queued per retransmission interval.
        let Ok(frame) = encode_frame(&hello) else {
            return;
        };
        match self.outbox.iter().position(|queued| is_hello(queued)) {
            Some(at) => self.outbox[at] = frame,
            None => self.outbox.push_back(frame),
        }
    }

    fn send(&mut self, message: &Message) {
        // Encoding fails only for element types whose `Serialize` fails; the objects here hold
        // strings, so the frame is dropped only on a bug, and the peer's resend logic recovers.
        if let Ok(frame) = encode_frame(message) {
            self.outbox.push_back(frame);
        }
    }

    fn fail(&mut self, code: ErrorCode, detail: String) {
        self.outbox.clear();
        self.send(&Message::Error(ErrorFrame {
            code,
            detail: detail.clone(),
        }));
        self.closed = Some(CloseReason::Sent(code, detail));
    }

    fn on_hello(&mut self, collection: &mut Collection, hello: Hello, now: u64) {
        if let Some(peer) = &self.peer {
            if peer.replica != hello.replica {
                return self.fail(
                    ErrorCode::Unexpected,
                    "a second, different handshake".into(),
                );
            }
            // The peer repeats its handshake: our answer was lost. The Ack stops its repeats.
            // Our Hello goes again only while the peer has not shown it has it (a session
            // sends nothing but Hello before it has its peer's): two sessions that answered
            // every Hello with a Hello would echo one another forever.
            if !peer.heard_from {
                self.send_hello(collection, now);
            }
            self.ack_due = true;
            return;
        }
        if hello.collection != self.collection {
            return self.fail(
                ErrorCode::WrongCollection,
                format!("this session replicates {:?}", self.collection),
            );
        }
        if hello.replica == self.local {
            return self.fail(
                ErrorCode::Unexpected,
                "the peer has this replica's id".into(),
            );
        }
        let access = match &self.config.authorizer {
            Some(authorize) => authorize(&hello.collection, &hello.token),
            None => Access::ReadWrite,
        };
        if access == Access::Denied {
            return self.fail(
                ErrorCode::Unauthorized,
                format!("the token grants no access to {:?}", hello.collection),
            );
        }
        collection.attach_peer(hello.replica);
        let progress = collection.progress(&hello.replica);
        let peer_limit = usize::try_from(hello.max_frame_bytes).unwrap_or(usize::MAX);
        self.peer = Some(Peer {
            replica: hello.replica,
            access,
            max_frame_bytes: if peer_limit == 0 {
                usize::MAX
            } else {
                peer_limit
            },
            in_flight: VecDeque::new(),
            sent: progress.acked,
            acked: progress.acked,
            last_sent_at: now,
            heard_from: false,
        });
        self.ack_due = true;
        let behind = progress.received < hello.log_base;
        if behind || self.local < hello.replica {
            self.start_anti_entropy(collection, now);
        }
    }

    fn on_deltas(&mut self, collection: &mut Collection, deltas: Deltas) {
        let Some(peer) = &self.peer else { return };
        let replica = peer.replica;
        // An interval with no objects only moves the acknowledgement (deltas the peer got from
        // this side are not sent back), which even a reader may do.
        if peer.access != Access::ReadWrite && !deltas.objects.is_empty() {
            return self.fail(
                ErrorCode::ReadOnly,
                "this token grants reading only; the changes were refused".into(),
            );
        }
        if let Err(error) = collection.check_remote(&deltas.objects) {
            return self.fail(update_error_code(&error), error.to_string());
        }
        for (id, delta) in &deltas.objects {
            self.stats.deltas_in += 1;
            if let Err(error) = collection.apply_remote(id, delta, replica) {
                return self.fail(update_error_code(&error), format!("object {id}: {error}"));
            }
        }
        // A reader's log is nothing to this side, and its replica id is only its word: its
        // intervals must not move the record of a writer it might be pretending to be.
        if peer.access == Access::ReadWrite && deltas.from <= collection.progress(&replica).received
        {
            collection.record_received(replica, deltas.to);
        }
        self.ack_due = true;
    }

    fn on_ack(&mut self, collection: &mut Collection, received: u64) {
        let Some(peer) = self.peer.as_mut() else {
            return;
        };
        let received = received.min(collection.log().head());
        peer.acked = peer.acked.max(received);
        peer.sent = peer.sent.max(peer.acked);
        while peer
            .in_flight
            .front()
            .is_some_and(|(last, _)| *last <= peer.acked)
        {
            peer.in_flight.pop_front();
        }
        collection.record_acked(peer.replica, peer.acked);
    }

    fn pack_deltas(&mut self, collection: &mut Collection, now: u64) {
        let Some(peer) = self.peer.as_mut().filter(|_| self.config.gossip) else {
            return;
        };
        let log = collection.log();
        if peer.acked < log.base() || peer.sent < log.base() {
            // The log no longer holds what the peer lacks: anti-entropy repairs it.
            if !self.rounds.keys().any(|(mine, _)| *mine) {
                self.start_anti_entropy(collection, now);
            }
            return;
        }
        if peer.sent >= log.head() {
            return;
        }
        let budget = self.config.max_frame_bytes.min(peer.max_frame_bytes) / 2;
        let window = self.config.max_in_flight_bytes;
        let mut in_flight: usize = peer.in_flight.iter().map(|(_, bytes)| bytes).sum();
        let replica = peer.replica;
        let mut frames = Vec::new();
        let mut from = peer.sent;
        let mut objects: BTreeMap<ObjectId, Object> = BTreeMap::new();
        let mut size = 0;
        let mut last = from;
        for entry in log.since(peer.sent) {
            if size > 0 && size + entry.size > budget {
                frames.push(interval(from, last, std::mem::take(&mut objects)));
                peer.in_flight.push_back((last, size));
                in_flight += size;
                from = last;
                size = 0;
            }
            // The window bounds what waits unacknowledged, so a burst of edits is paced by
            // the peer's acknowledgements instead of piling up in queues.
            if in_flight >= window {
                break;
            }
            last = entry.seq;
            if entry.origin == Some(replica) {
                continue;
            }
            size += entry.size + entry.id.as_bytes().len();
            match objects.get_mut(&entry.id) {
                // Entries of one id are of its one type, so the join cannot mismatch.
                Some(joined) => {
                    let _ = joined.join(&entry.delta);
                }
                None => {
                    objects.insert(entry.id.clone(), entry.delta.clone());
                }
            }
        }
        if last > from {
            frames.push(interval(from, last, objects));
            peer.in_flight.push_back((last, size));
        }
        if frames.is_empty() {
            return;
        }
        peer.sent = last;
        peer.last_sent_at = now;
        self.stats.delta_frames_out += frames.len() as u64;
        self.stats.deltas_out += frames
            .iter()
            .map(|message| match message {
                Message::Deltas(deltas) => deltas.objects.len() as u64,
                _ => 0,
            })
            .sum::<u64>();
        for message in frames {
            self.send(&message);
        }
    }

    fn on_reconcile(&mut self, collection: &mut Collection, message: Reconcile, now: u64) {
        let Some(peer) = &self.peer else { return };
        let (replica, may_write) = (peer.replica, peer.access == Access::ReadWrite);
        let key = (!message.round.by_sender, message.round.number);
        let ranges = match unpack_ranges(message.ranges) {
            Ok(ranges) => ranges,
            Err(error) => return self.fail(error.code(), error.to_string()),
        };
        if !self.rounds.contains_key(&key) {
            self.make_room_for_round();
        }
        let round = self.rounds.entry(key).or_insert(Round {
            // Only a round's opening covers every id; a reply met without it proves little.
            rooted: message.reply_to.is_none(),
            oldest_peer_head: None,
            outstanding: BTreeMap::new(),
            last_activity: now,
        });
        round.last_activity = now;
        round.oldest_peer_head = Some(
            round
                .oldest_peer_head
                .map_or(message.head, |head| head.min(message.head)),
        );
        if let Some(reply) = message.reply_to
            && let Some(parts) = round.outstanding.get_mut(&reply.request)
        {
            parts.received.insert(reply.part);
            if parts.received.len() >= usize::from(reply.parts) {
                round.outstanding.remove(&reply.request);
            }
        }
        let shape = self.config.shape;
        let answer = match reconcile::answer(
            collection,
            replica,
            may_write,
            &ranges,
            message.objects,
            shape,
        ) {
            Ok(answer) => answer,
            Err(AnswerError::ReadOnly) => {
                return self.fail(
                    ErrorCode::ReadOnly,
                    "this token grants reading only; the changes were refused".into(),
                );
            }
            Err(AnswerError::BadUpdate(id, error)) => {
                return self.fail(update_error_code(&error), format!("object {id}: {error}"));
            }
        };
        if message.request.is_some() || !answer.is_empty() {
            self.send_answer(collection, key, message.round, message.request, answer);
        }
        let Some(round) = self.rounds.get(&key) else {
            return;
        };
        if round.outstanding.is_empty() {
            if round.rooted {
                if let Some(head) = round.oldest_peer_head.filter(|_| may_write) {
                    self.ack_due |= collection.record_received(replica, head);
                }
                self.stats.rounds_completed += 1;
            }
            self.rounds.remove(&key);
        }
    }

    fn send_answer(
        &mut self,
        collection: &Collection,
        key: (bool, u32),
        round: RoundId,
        reply_to: Option<u32>,
        answer: reconcile::Answer,
    ) {
        let parts = split_answer(answer, self.send_limit() / 2);
        let count = u16::try_from(parts.len()).unwrap_or(u16::MAX);
        let head = collection.log().head();
        for (index, part) in parts.into_iter().enumerate() {
            let request = part.needs_reply().then(|| self.take_request_id());
            if let (Some(request), Some(round)) = (request, self.rounds.get_mut(&key)) {
                round.outstanding.insert(request, Parts::default());
            }
            let message = Reconcile {
                round: RoundId {
                    by_sender: !round.by_sender,
                    number: round.number,
                },
                head,
                request,
                reply_to: reply_to.map(|request| ReplyTo {
                    request,
                    part: u16::try_from(index).unwrap_or(u16::MAX),
                    parts: count,
                }),
                ranges: pack_ranges(&part.ranges),
                objects: part.objects,
            };
            self.send_reconcile(message);
        }
    }

    fn send_reconcile(&mut self, message: Reconcile) {
        let delta_bytes: usize = message
            .objects
            .iter()
            .filter_map(|item| item.delta.as_ref())
            .map(|delta| delta.encode().map_or(0, |bytes| bytes.len()))
            .sum();
        let before = self.outbox.len();
        self.send(&Message::Reconcile(message));
        if let Some(frame) = self.outbox.get(before) {
            self.stats.reconcile_frames_out += 1;
            self.stats.reconcile_control_bytes_out +=
                frame.len().saturating_sub(delta_bytes) as u64;
        }
    }
}

/// Whether `frame` holds a `Hello`: variant 0 of `Message`, whose index is the byte after the
/// version (PROTOCOL.md).
fn is_hello(frame: &[u8]) -> bool {
    frame.get(1) == Some(&0)
}

fn update_error_code(error: &SyncError) -> ErrorCode {
    match error {
        SyncError::ObjectTooLarge { .. } | SyncError::TooManyObjects { .. } => {
            ErrorCode::LimitExceeded
        }
        _ => ErrorCode::BadUpdate,
    }
}

fn interval(from: u64, to: u64, objects: BTreeMap<ObjectId, Object>) -> Message {
    Message::Deltas(Deltas {
        from,
        to,
        objects: objects.into_iter().collect(),
    })
}

/// Cuts an answer into parts of about `budget` bytes. Each part's ranges start where the
/// previous part's ended: a leading skip carries the part to its first range.
fn split_answer(answer: reconcile::Answer, budget: usize) -> Vec<reconcile::Answer> {
    let mut parts = vec![reconcile::Answer::default()];
    let mut size = 0;
    let mut lower = Bound::Key(Vec::new());
    for range in answer.ranges {
        let cost = range_cost(&range);
        if size > 0 && size + cost > budget {
            parts.push(reconcile::Answer {
                ranges: vec![Range {
                    upper: lower.clone(),
                    kind: crate::message::RangeKind::Skip,
                }],
                objects: Vec::new(),
            });
            size = 0;
        }
        size += cost;
        lower = range.upper.clone();
        if let Some(part) = parts.last_mut() {
            part.ranges.push(range);
        }
    }
    for item in answer.objects {
        let cost = object_cost(&item);
        if size > 0 && size + cost > budget {
            parts.push(reconcile::Answer::default());
            size = 0;
        }
        size += cost;
        if let Some(part) = parts.last_mut() {
            part.objects.push(item);
        }
    }
    parts
}

fn range_cost(range: &Range) -> usize {
    let bound = match &range.upper {
        Bound::Key(key) => key.len(),
        Bound::End => 0,
    };
    let ids = match &range.kind {
        crate::message::RangeKind::Ids(ids) => {
            ids.iter().map(|(id, _)| id.as_bytes().len() + 18).sum()
        }
        _ => 0,
    };
    bound + ids + 20
}

fn object_cost(item: &ObjectItem) -> usize {
    postcard::to_stdvec(item).map_or(0, |bytes| bytes.len())
}
