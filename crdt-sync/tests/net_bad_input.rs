//! Raw WebSocket clients feed a relay bad input: random bytes, truncated and oversized frames,
//! another protocol version, text frames, bad or read-only tokens, garbage after the handshake,
//! a first frame that is not a `Hello`, silence, and writes past the limits. Each gets an error
//! frame with the right code and then a WebSocket close, nothing it sent is applied, and the
//! relay keeps serving well-behaved native clients: in memory, on redb and on PostgreSQL alike.

#[macro_use]
mod net_support;

use std::time::Duration;

use crdt_core::{GCounter, PNCounter, ReplicaId};
use crdt_sync::message::{
    Deltas, ErrorCode, ErrorFrame, Hello, Message, PROTOCOL_VERSION, decode_frame, encode_frame,
};
use crdt_sync::net::LinkStatus;
use crdt_sync::net::client::Client;
use crdt_sync::net::limits::NetLimits;
use crdt_sync::net::relay::{Relay, RelayConfig};
use crdt_sync::object::Object;
use crdt_sync::object_id::ObjectId;
use futures_util::{SinkExt, StreamExt};
use net_support::{TestStore, client, eventually, url};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long the relay has to answer a bad input with an error frame and a close.
const WAIT: Duration = Duration::from_secs(5);

/// The frame limit of the relays here (the smallest `NetLimits::validate` allows is 128 KiB).
const MAX_FRAME: usize = 256 << 10;

/// Limits for a test relay: small frames, so that oversized frames are cheap to send.
fn small_limits() -> NetLimits {
    NetLimits {
        max_frame_bytes: MAX_FRAME,
        max_object_bytes: 64 << 10,
        max_queue_bytes: 4 << 20,
        ..NetLimits::default()
    }
}

/// A relay on a free loopback port, on `store`, with these access rules (none: open) and
/// limits.
async fn start(store: &TestStore, access: &[&str], limits: NetLimits) -> Relay {
    let mut config = RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        limits,
        anti_entropy_every_ms: 2_000,
        ..RelayConfig::default()
    };
    store.configure(&mut config);
    for rule in access {
        config.access.add_flag(rule).expect("a valid access rule");
    }
    Relay::start(config).await.expect("relay starts")
}

/// A raw WebSocket connection to the relay's endpoint.
async fn open(relay: &Relay) -> Ws {
    let endpoint = format!("ws://{}/sync", relay.local_addr());
    let (ws, _) = tokio::time::timeout(WAIT, connect_async(endpoint))
        .await
        .expect("the WebSocket handshake finishes in time")
        .expect("the WebSocket handshake succeeds");
    ws
}

fn hello(replica: u128, collection: &str, token: &str) -> Message {
    Message::Hello(Hello {
        replica: ReplicaId::from_u128(replica),
        collection: collection.into(),
        token: token.into(),
        log_base: 0,
        log_head: 0,
        max_frame_bytes: 0,
    })
}

fn frame(message: &Message) -> Vec<u8> {
    encode_frame(message).expect("the message encodes")
}

/// A Deltas frame creating one GCounter per id, incremented by `replica`.
fn deltas_frame(replica: u128, ids: &[&str]) -> Vec<u8> {
    let replica = ReplicaId::from_u128(replica);
    let objects = ids
        .iter()
        .map(|id| {
            let mut counter = GCounter::new();
            let delta = Object::from(counter.increment(replica, 1));
            (ObjectId::new(*id).unwrap(), delta)
        })
        .collect();
    frame(&Message::Deltas(Deltas {
        from: 0,
        to: 1,
        objects,
    }))
}

async fn send_binary(ws: &mut Ws, bytes: Vec<u8>) {
    ws.send(WsMessage::Binary(bytes.into()))
        .await
        .expect("the frame is sent");
}

/// Sends a Hello and reads until the relay acknowledges it: the session is established.
async fn handshake(ws: &mut Ws, replica: u128, collection: &str, token: &str) {
    send_binary(ws, frame(&hello(replica, collection, token))).await;
    let deadline = Instant::now() + WAIT;
    let (mut hello_seen, mut ack_seen) = (false, false);
    while !(hello_seen && ack_seen) {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("the relay answers the handshake in time");
        match next {
            Some(Ok(WsMessage::Binary(bytes))) => match decode_frame(&bytes, usize::MAX) {
                Ok(Message::Hello(_)) => hello_seen = true,
                Ok(Message::Ack { .. }) => ack_seen = true,
                Ok(Message::Error(error)) => panic!("the handshake was refused: {error:?}"),
                Ok(_) => {}
                Err(error) => panic!("the relay sent an undecodable frame: {error}"),
            },
            Some(Ok(WsMessage::Close(close))) => panic!("closed during the handshake: {close:?}"),
            Some(Ok(_)) => {}
            Some(Err(error)) => panic!("the socket failed during the handshake: {error}"),
            None => panic!("the socket ended during the handshake"),
        }
    }
}

/// What the relay said before closing.
#[derive(Debug)]
struct Refusal {
    error: ErrorFrame,
    close: Option<CloseFrame>,
}

/// Reads until the stream ends, within [`WAIT`]: expects exactly one error frame (any protocol
/// frames before it are fine, none after it), then a WebSocket Close, then the end.
async fn refusal(ws: &mut Ws, what: &str) -> Refusal {
    let deadline = Instant::now() + WAIT;
    let mut error: Option<ErrorFrame> = None;
    let mut close: Option<Option<CloseFrame>> = None;
    loop {
        let Ok(next) = tokio::time::timeout_at(deadline, ws.next()).await else {
            panic!(
                "{what}: the connection did not end within {WAIT:?} (error frame: {error:?}, \
                 close: {close:?})"
            );
        };
        match next {
            Some(Ok(WsMessage::Binary(bytes))) => {
                assert!(close.is_none(), "{what}: a frame after the close");
                match decode_frame(&bytes, usize::MAX) {
                    Ok(Message::Error(frame)) => {
                        assert!(error.is_none(), "{what}: a second error frame: {frame:?}");
                        error = Some(frame);
                    }
                    Ok(other) => {
                        assert!(
                            error.is_none(),
                            "{what}: a frame after the error: {other:?}"
                        );
                    }
                    Err(fault) => panic!("{what}: the relay sent an undecodable frame: {fault}"),
                }
            }
            Some(Ok(WsMessage::Text(text))) => panic!("{what}: the relay sent text: {text}"),
            Some(Ok(WsMessage::Close(frame))) => {
                assert!(close.is_none(), "{what}: two closes");
                close = Some(frame);
            }
            Some(Ok(_)) => {}
            // Once the close has arrived, the TCP teardown may race the close handshake.
            Some(Err(_)) if close.is_some() => break,
            Some(Err(fault)) => panic!(
                "{what}: the socket failed before the relay's close: {fault} (error frame: \
                 {error:?})"
            ),
            None => break,
        }
    }
    let error =
        error.unwrap_or_else(|| panic!("{what}: closed without an error frame (close: {close:?})"));
    let close = close.unwrap_or_else(|| {
        panic!("{what}: the stream ended without a WebSocket Close (error frame: {error:?})")
    });
    Refusal { error, close }
}

/// Expects the relay to refuse with `code` and close.
async fn expect_refusal(ws: &mut Ws, code: ErrorCode, what: &str) -> Refusal {
    let refusal = refusal(ws, what).await;
    assert_eq!(
        refusal.error.code, code,
        "{what}: wrong error code ({refusal:?})"
    );
    refusal
}

/// The value of one metric sample, such as `crdt_relay_connections_refused_total{reason="X"}`
/// (0 if absent).
fn metric(relay: &Relay, sample: &str) -> f64 {
    let text = relay.metrics().render();
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().expect("a numeric sample"))
}

fn refused(reason: &str) -> String {
    format!("crdt_relay_connections_refused_total{{reason=\"{reason}\"}}")
}

fn failed(code: &str) -> String {
    format!("crdt_relay_sessions_failed_total{{code=\"{code}\"}}")
}

/// Waits until the metric sample reaches `at_least`.
async fn metric_reaches(relay: &Relay, sample: &str, at_least: f64) {
    eventually(10, &format!("{sample} >= {at_least}"), || async {
        metric(relay, sample) >= at_least
    })
    .await;
    assert!(metric(relay, sample) >= at_least);
}

/// Two native clients of one collection that prove, before and after the bad input, that the
/// relay still syncs an edit from one to the other (and to a client that joins afterwards).
struct Witnesses {
    url: String,
    collection: String,
    token: String,
    writer: Client,
    reader: Client,
    total: i128,
}

impl Witnesses {
    async fn start(relay: &Relay, collection: &str, token: &str) -> Self {
        let url = url(relay);
        let mut witnesses = Self {
            writer: client(&url, collection, token),
            reader: client(&url, collection, token),
            url,
            collection: collection.into(),
            token: token.into(),
            total: 0,
        };
        witnesses.sync("before the bad input").await;
        witnesses
    }

    fn counter() -> ObjectId {
        ObjectId::new("witness").unwrap()
    }

    fn value(client: &Client) -> i128 {
        client
            .get_as::<PNCounter>(&Self::counter())
            .unwrap()
            .map_or(0, |counter| counter.value())
    }

    /// The writer increments; the reader sees it.
    async fn sync(&mut self, when: &str) {
        self.writer
            .update(&Self::counter(), |n: &mut PNCounter, me| n.increment(me, 1))
            .unwrap();
        self.total += 1;
        let (reader, total) = (&self.reader, self.total);
        eventually(20, &format!("the reader sees the edit {when}"), || async {
            Self::value(reader) == total
        })
        .await;
    }

    /// After the bad input: the established clients still sync, and a new client joins and
    /// gets everything.
    async fn still_served(mut self) -> Client {
        self.sync("after the bad input").await;
        let late = client(&self.url, &self.collection, &self.token);
        let total = self.total;
        eventually(20, "a client joining after the bad input syncs", || async {
            Self::value(&late) == total
        })
        .await;
        late
    }
}

fn has_object(client: &Client, id: &str) -> bool {
    client.read(|collection| collection.get(&ObjectId::new(id).unwrap()).is_some())
}

/// A small deterministic generator (xorshift64*), so every seed gives the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

async fn random_bytes_as_first_frame_are_refused(store: TestStore) {
    let relay = start(&store, &[], small_limits()).await;
    let witnesses = Witnesses::start(&relay, "shop", "").await;
    let (mut malformed, mut unsupported) = (0, 0);
    for seed in 1..=10u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let len = 1 + (rng.next() % 200) as usize;
        let mut bytes = rng.bytes(len);
        // Half the seeds carry the right version byte, so the payload itself is judged.
        if seed % 2 == 0 {
            bytes[0] = PROTOCOL_VERSION;
        } else if bytes[0] == PROTOCOL_VERSION {
            bytes[0] = 0xa5;
        }
        let what = format!("seed {seed}: {len} random bytes starting {:#04x}", bytes[0]);
        let expected = if bytes[0] == PROTOCOL_VERSION {
            // The precondition of this case: the bytes really are not a message.
            assert!(
                decode_frame(&bytes, MAX_FRAME).is_err(),
                "{what}: random bytes decoded; pick another seed"
            );
            malformed += 1;
            ErrorCode::Malformed
        } else {
            unsupported += 1;
            ErrorCode::UnsupportedVersion
        };
        let mut ws = open(&relay).await;
        send_binary(&mut ws, bytes).await;
        let refusal = refusal(&mut ws, &what).await;
        assert!(
            matches!(
                refusal.error.code,
                ErrorCode::Malformed | ErrorCode::UnsupportedVersion
            ),
            "{what}: {refusal:?}"
        );
        assert_eq!(refusal.error.code, expected, "{what}: {refusal:?}");
    }
    // An empty frame has no version byte at all.
    let mut ws = open(&relay).await;
    send_binary(&mut ws, Vec::new()).await;
    expect_refusal(&mut ws, ErrorCode::Malformed, "an empty frame").await;
    malformed += 1;

    metric_reaches(&relay, &refused("Malformed"), f64::from(malformed)).await;
    metric_reaches(
        &relay,
        &refused("UnsupportedVersion"),
        f64::from(unsupported),
    )
    .await;
    assert_eq!(
        metric(&relay, "crdt_relay_collections"),
        1.0,
        "refused connections opened no collection"
    );
    witnesses.still_served().await;
    relay.shutdown().await;
}

async fn truncated_hello_frames_are_malformed(store: TestStore) {
    let relay = start(&store, &[], small_limits()).await;
    let witnesses = Witnesses::start(&relay, "shop", "").await;
    let full = frame(&Message::Hello(Hello {
        replica: ReplicaId::from_u128(0xabc),
        collection: "shop".into(),
        token: "some-token".into(),
        log_base: 300,
        log_head: 70_000,
        max_frame_bytes: 0,
    }));
    let cuts = [
        1,
        2,
        10,
        17,
        18,
        full.len() / 2,
        full.len() - 2,
        full.len() - 1,
    ];
    for cut in cuts {
        let what = format!("a Hello of {} bytes cut to {cut}", full.len());
        let mut ws = open(&relay).await;
        send_binary(&mut ws, full[..cut].to_vec()).await;
        let refusal = expect_refusal(&mut ws, ErrorCode::Malformed, &what).await;
        assert!(!refusal.error.detail.is_empty(), "{what}: no detail");
    }
    metric_reaches(&relay, &refused("Malformed"), cuts.len() as f64).await;
    // The whole frame is fine.
    let mut ws = open(&relay).await;
    send_binary(&mut ws, full).await;
    drop(ws);
    witnesses.still_served().await;
    relay.shutdown().await;
}

/// A frame one byte over the relay's limit (a valid version byte, then zeros).
fn oversized_frame() -> Vec<u8> {
    let mut big = vec![0u8; MAX_FRAME + 1];
    big[0] = PROTOCOL_VERSION;
    big
}

async fn an_oversized_first_frame_is_too_large(store: TestStore) {
    let relay = start(&store, &[], small_limits()).await;
    let witnesses = Witnesses::start(&relay, "shop", "").await;
    let mut ws = open(&relay).await;
    // The relay may refuse before it has read the whole frame; the send result does not matter.
    let _ = ws.send(WsMessage::Binary(oversized_frame().into())).await;
    let refusal = expect_refusal(
        &mut ws,
        ErrorCode::FrameTooLarge,
        "an oversized first frame",
    )
    .await;
    assert_eq!(
        refusal.close.as_ref().map(|close| close.code),
        Some(CloseCode::Size),
        "{refusal:?}"
    );
    metric_reaches(&relay, &refused("FrameTooLarge"), 1.0).await;
    witnesses.still_served().await;
    relay.shutdown().await;
}

async fn an_oversized_frame_after_the_handshake_is_too_large(store: TestStore) {
    let relay = start(&store, &[], small_limits()).await;
    let witnesses = Witnesses::start(&relay, "shop", "").await;
    let mut ws = open(&relay).await;
    handshake(&mut ws, 0xb16, "shop", "").await;
    let _ = ws.send(WsMessage::Binary(oversized_frame().into())).await;
    let refusal = expect_refusal(
        &mut ws,
        ErrorCode::FrameTooLarge,
        "an oversized frame after the handshake",
    )
    .await;
    assert_eq!(
        refusal.close.as_ref().map(|close| close.code),
        Some(CloseCode::Size),
        "{refusal:?}"
    );
    witnesses.still_served().await;
    relay.shutdown().await;
}

async fn a_frame_of_exactly_the_limit_is_judged_on_its_content(store: TestStore) {
    let relay = start(&store, &[], small_limits()).await;
    let witnesses = Witnesses::start(&relay, "shop", "").await;
    // A Hello (variant 0, replica 0, empty names, logs at 0) then 256 KiB of trailing zeros:
    // malformed, not too large.
    let mut ws = open(&relay).await;
    let mut limit = vec![0u8; MAX_FRAME];
    limit[0] = PROTOCOL_VERSION;
    send_binary(&mut ws, limit).await;
    expect_refusal(
        &mut ws,
        ErrorCode::Malformed,
        "a first frame of exactly the limit",
    )
    .await;
    metric_reaches(&relay, &refused("Malformed"), 1.0).await;
    witnesses.still_served().await;
    relay.shutdown().await;
}

async fn another_protocol_version_is_refused(store: TestStore) {
    let relay = start(&store, &[], small_limits()).await;
    let witnesses = Witnesses::start(&relay, "shop", "").await;
    let valid = frame(&hello(0x2222, "shop", ""));
    for version in [0u8, 2, 0x7f, 0xff] {
        let mut bytes = valid.clone();
        bytes[0] = version;
        let what = format!("a valid Hello behind version byte {version}");
        let mut ws = open(&relay).await;
        send_binary(&mut ws, bytes).await;
        let refusal = expect_refusal(&mut ws, ErrorCode::UnsupportedVersion, &what).await;
        assert!(
            refusal.error.detail.contains(&version.to_string()),
            "{what}: the detail names the version ({refusal:?})"
        );
    }
    metric_reaches(&relay, &refused("UnsupportedVersion"), 4.0).await;

    // After the handshake, a frame of another version closes the session too.
    let mut ws = open(&relay).await;
    handshake(&mut ws, 0x2223, "shop", "").await;
    let mut ack = frame(&Message::Ack { received: 0 });
    ack[0] = 2;
    send_binary(&mut ws, ack).await;
    expect_refusal(
        &mut ws,
        ErrorCode::UnsupportedVersion,
        "an Ack of version 2 after the handshake",
    )
    .await;
    metric_reaches(&relay, &failed("UnsupportedVersion"), 1.0).await;

    witnesses.still_served().await;
    relay.shutdown().await;
}

async fn text_frames_are_malformed_and_closed_with_1003(store: TestStore) {
    let relay = start(&store, &[], small_limits()).await;
    let witnesses = Witnesses::start(&relay, "shop", "").await;

    let mut ws = open(&relay).await;
    ws.send(WsMessage::Text(r#"{"hello":"shop"}"#.into()))
        .await
        .expect("the text frame is sent");
    let refusal = expect_refusal(&mut ws, ErrorCode::Malformed, "a text first frame").await;
    let close = refusal.close.expect("a close frame with a code");
    assert_eq!(close.code, CloseCode::Unsupported);
    assert_eq!(u16::from(close.code), 1003);
    metric_reaches(&relay, &refused("Malformed"), 1.0).await;

    // After the handshake, too.
    let mut ws = open(&relay).await;
    handshake(&mut ws, 0x7e47, "shop", "").await;
    ws.send(WsMessage::Text("ack 0".into()))
        .await
        .expect("the text frame is sent");
    let refusal = expect_refusal(
        &mut ws,
        ErrorCode::Malformed,
        "a text frame after the handshake",
    )
    .await;
    let close = refusal.close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1003, "{close:?}");

    witnesses.still_served().await;
    relay.shutdown().await;
}

async fn a_bad_token_is_unauthorized_and_changes_nothing(store: TestStore) {
    let relay = start(
        &store,
        &["rw:vault:good-token", "ro:vault:viewer"],
        small_limits(),
    )
    .await;
    let witnesses = Witnesses::start(&relay, "vault", "good-token").await;
    for (replica, token) in [(0xbad1, "bad-token"), (0xbad2, ""), (0xbad3, "good-toke")] {
        let what = format!("a Hello with token {token:?}");
        let mut ws = open(&relay).await;
        // The Hello and, at once, changes: neither may be applied.
        send_binary(&mut ws, frame(&hello(replica, "vault", token))).await;
        send_binary(&mut ws, deltas_frame(replica, &["intruder"])).await;
        let refusal = expect_refusal(&mut ws, ErrorCode::Unauthorized, &what).await;
        assert!(
            !refusal.error.detail.contains("good-token"),
            "{what}: the detail leaks the token ({refusal:?})"
        );
    }
    // A token of another collection grants nothing here.
    let mut ws = open(&relay).await;
    send_binary(&mut ws, frame(&hello(0xbad4, "other", "good-token"))).await;
    expect_refusal(
        &mut ws,
        ErrorCode::Unauthorized,
        "a token of another collection",
    )
    .await;

    metric_reaches(&relay, &refused("Unauthorized"), 4.0).await;
    assert_eq!(
        metric(&relay, "crdt_relay_collections"),
        1.0,
        "an unauthorized Hello opened no collection"
    );
    let writer = witnesses.writer.clone();
    let reader = witnesses.reader.clone();
    let late = witnesses.still_served().await;
    for client in [&writer, &reader, &late] {
        assert!(
            !has_object(client, "intruder"),
            "the refused change arrived"
        );
        assert_eq!(client.read(|collection| collection.len()), 1);
    }
    relay.shutdown().await;
}

async fn a_read_only_token_reads_but_cannot_write(store: TestStore) {
    let relay = start(
        &store,
        &["rw:notes:writer", "ro:notes:viewer"],
        small_limits(),
    )
    .await;
    let witnesses = Witnesses::start(&relay, "notes", "writer").await;

    // A reader completes the handshake, then sends changes.
    let mut ws = open(&relay).await;
    handshake(&mut ws, 0x0f0f, "notes", "viewer").await;
    send_binary(&mut ws, deltas_frame(0x0f0f, &["vandal"])).await;
    let refusal = expect_refusal(&mut ws, ErrorCode::ReadOnly, "changes from a reader").await;
    assert_eq!(
        refusal.close.as_ref().map(|close| close.code),
        Some(CloseCode::Policy),
        "{refusal:?}"
    );
    metric_reaches(&relay, &failed("ReadOnly"), 1.0).await;

    // A native read-only client receives what a writer writes.
    let viewer = client(&url(&relay), "notes", "viewer");
    let writer = witnesses.writer.clone();
    let reader = witnesses.reader.clone();
    let news = ObjectId::new("news").unwrap();
    writer
        .update(&news, |n: &mut PNCounter, me| n.increment(me, 42))
        .unwrap();
    eventually(
        20,
        "the read-only client sees the writer's counter",
        || async {
            viewer
                .get_as::<PNCounter>(&news)
                .unwrap()
                .is_some_and(|n| n.value() == 42)
        },
    )
    .await;
    assert!(
        !matches!(viewer.status(), LinkStatus::Offline(Some(_))),
        "the read-only client was refused: {:?}",
        viewer.status()
    );

    let late = witnesses.still_served().await;
    for client in [&writer, &reader, &late, &viewer] {
        assert!(!has_object(client, "vandal"), "the reader's change arrived");
    }
    assert!(late.get_as::<PNCounter>(&news).unwrap().is_some());
    relay.shutdown().await;
}

async fn garbage_after_the_handshake_is_malformed(store: TestStore) {
    let relay = start(&store, &[], small_limits()).await;
    let witnesses = Witnesses::start(&relay, "shop", "").await;
    let garbage: [(&str, Vec<u8>); 5] = [
        (
            "an unknown message variant",
            vec![PROTOCOL_VERSION, 9, 1, 2, 3],
        ),
        (
            "an overlong varint",
            vec![
                PROTOCOL_VERSION,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
                0xff,
            ],
        ),
        ("an Ack without its number", vec![PROTOCOL_VERSION, 2]),
        (
            "an Ack with trailing bytes",
            vec![PROTOCOL_VERSION, 2, 0, 0xee, 0xee],
        ),
        ("an empty frame", Vec::new()),
    ];
    for (index, (what, bytes)) in garbage.iter().enumerate() {
        let what = format!("{what} after the handshake");
        let mut ws = open(&relay).await;
        handshake(&mut ws, 0x6a00 + index as u128, "shop", "").await;
        send_binary(&mut ws, bytes.clone()).await;
        expect_refusal(&mut ws, ErrorCode::Malformed, &what).await;
    }
    // Random garbage with the right version byte, too.
    let mut rng = Rng(0x5eed_0001);
    for round in 0..4u128 {
        let mut bytes = rng.bytes(64);
        bytes[0] = PROTOCOL_VERSION;
        bytes[1] = 5 + (bytes[1] % 100); // no message variant
        let mut ws = open(&relay).await;
        handshake(&mut ws, 0x6b00 + round, "shop", "").await;
        send_binary(&mut ws, bytes).await;
        expect_refusal(
            &mut ws,
            ErrorCode::Malformed,
            "random bytes after the handshake",
        )
        .await;
    }
    metric_reaches(&relay, &failed("Malformed"), 9.0).await;
    witnesses.still_served().await;
    relay.shutdown().await;
}

async fn a_first_frame_that_is_not_a_hello_is_unexpected(store: TestStore) {
    let relay = start(&store, &[], small_limits()).await;
    let witnesses = Witnesses::start(&relay, "shop", "").await;
    let firsts = [
        ("an Ack", frame(&Message::Ack { received: 0 })),
        ("a Deltas", deltas_frame(0x9999, &["early"])),
        (
            "an Error",
            frame(&Message::Error(ErrorFrame {
                code: ErrorCode::Overloaded,
                detail: "nope".into(),
            })),
        ),
    ];
    for (what, bytes) in &firsts {
        let what = format!("{what} as the first frame");
        let mut ws = open(&relay).await;
        send_binary(&mut ws, bytes.clone()).await;
        expect_refusal(&mut ws, ErrorCode::Unexpected, &what).await;
    }
    metric_reaches(&relay, &refused("Unexpected"), firsts.len() as f64).await;
    let late = witnesses.still_served().await;
    assert!(
        !has_object(&late, "early"),
        "a Deltas before any Hello was applied"
    );
    relay.shutdown().await;
}

async fn no_handshake_in_time_is_a_timeout(store: TestStore) {
    let limits = NetLimits {
        handshake_timeout: Duration::from_millis(500),
        ..small_limits()
    };
    let relay = start(&store, &[], limits).await;
    let witnesses = Witnesses::start(&relay, "shop", "").await;

    let started = Instant::now();
    let mut silent = open(&relay).await;
    // A ping is only a sign of life: it does not count as a handshake.
    let mut pinging = open(&relay).await;
    pinging
        .send(WsMessage::Ping(b"hi".to_vec().into()))
        .await
        .expect("the ping is sent");
    let refusal = expect_refusal(&mut silent, ErrorCode::Timeout, "a silent connection").await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400),
        "refused after only {elapsed:?} ({refusal:?})"
    );
    expect_refusal(
        &mut pinging,
        ErrorCode::Timeout,
        "a connection that only pings",
    )
    .await;
    metric_reaches(&relay, &refused("Timeout"), 2.0).await;
    witnesses.still_served().await;
    relay.shutdown().await;
}

async fn a_write_past_the_object_limit_is_refused(store: TestStore) {
    let limits = NetLimits {
        max_objects: 2,
        ..small_limits()
    };
    let relay = start(&store, &["rw:*:rw-token"], limits).await;
    // The witnesses use another collection: limits are per collection.
    let witnesses = Witnesses::start(&relay, "other", "rw-token").await;

    let mut ws = open(&relay).await;
    handshake(&mut ws, 0x1111, "full", "rw-token").await;
    send_binary(&mut ws, deltas_frame(0x1111, &["a", "b", "c"])).await;
    expect_refusal(
        &mut ws,
        ErrorCode::LimitExceeded,
        "three new objects past a limit of two",
    )
    .await;
    metric_reaches(&relay, &failed("LimitExceeded"), 1.0).await;

    witnesses.still_served().await;
    // The full collection still serves readers.
    let reader = client(&url(&relay), "full", "rw-token");
    eventually(
        20,
        "a client of the full collection gets synced",
        || async { reader.status() == LinkStatus::Synced },
    )
    .await;
    relay.shutdown().await;
}

/// PROTOCOL.md: "Every failure is answered with an Error message and the session closes;
/// nothing the frame carried is applied." A Deltas frame refused with `LimitExceeded` must
/// therefore leave the collection as it was.
async fn a_refused_write_past_the_object_limit_applies_nothing(store: TestStore) {
    let limits = NetLimits {
        max_objects: 2,
        ..small_limits()
    };
    let relay = start(&store, &[], limits).await;
    let mut ws = open(&relay).await;
    handshake(&mut ws, 0x1112, "full", "").await;
    send_binary(&mut ws, deltas_frame(0x1112, &["a", "b", "c"])).await;
    expect_refusal(
        &mut ws,
        ErrorCode::LimitExceeded,
        "three new objects past a limit of two",
    )
    .await;

    let reader = client(&url(&relay), "full", "");
    eventually(
        20,
        "a client of the full collection gets synced",
        || async { reader.status() == LinkStatus::Synced },
    )
    .await;
    let held: Vec<String> =
        reader.read(|collection| collection.iter().map(|(id, _)| id.to_string()).collect());
    assert!(
        held.is_empty(),
        "the refused frame was partly applied: the relay holds and serves {held:?}"
    );
    relay.shutdown().await;
}

on_every_store!(
    "bad-input",
    random_bytes_as_first_frame_are_refused,
    truncated_hello_frames_are_malformed,
    an_oversized_first_frame_is_too_large,
    an_oversized_frame_after_the_handshake_is_too_large,
    a_frame_of_exactly_the_limit_is_judged_on_its_content,
    another_protocol_version_is_refused,
    text_frames_are_malformed_and_closed_with_1003,
    a_bad_token_is_unauthorized_and_changes_nothing,
    a_read_only_token_reads_but_cannot_write,
    garbage_after_the_handshake_is_malformed,
    a_first_frame_that_is_not_a_hello_is_unexpected,
    no_handshake_in_time_is_a_timeout,
    a_write_past_the_object_limit_is_refused,
    a_refused_write_past_the_object_limit_applies_nothing,
);
