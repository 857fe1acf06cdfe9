//! The relay as a server: its flags, its HTTP endpoints (static files, metrics), its
//! connection cap, a slow reader and an idle peer cut off, access rules from a file, and a
//! restart from its data directory.

mod net_support;

use std::io::Read;
use std::time::Duration;

use crdt_core::{AWSet, PNCounter, ReplicaId};
use crdt_sync::message::{ErrorCode, Hello, Message, decode_frame, encode_frame};
use crdt_sync::net::access::AccessRules;
use crdt_sync::net::limits::NetLimits;
use crdt_sync::net::relay::{Relay, RelayConfig};
use crdt_sync::object_id::ObjectId;
use crdt_sync::session::Access;
use futures_util::{SinkExt, StreamExt};
use net_support::{client, eventually, http_exchange, http_get, metric_value, url};
use tokio_tungstenite::tungstenite::Message as WsMessage;

async fn start(config: RelayConfig) -> Relay {
    Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        anti_entropy_every_ms: 2_000,
        ..config
    })
    .await
    .expect("relay starts")
}

/// A plain HTTP GET of the relay: the status code and the body.
async fn get(relay: &Relay, path: &str) -> (u16, String) {
    http_get(&relay.local_addr().to_string(), path).await
}

/// An HTTP/1.0 GET (so the body ends with the connection, never chunked) accepting
/// `encoding`: the header block, lowercased, and the body's bytes.
async fn raw_get(relay: &Relay, path: &str, encoding: &str) -> (String, Vec<u8>) {
    let request = format!("GET {path} HTTP/1.0\r\nAccept-Encoding: {encoding}\r\n\r\n");
    let (head, body) = http_exchange(&relay.local_addr().to_string(), &request).await;
    (head.to_lowercase(), body)
}

/// Reads frames until an error frame arrives (or the stream ends); returns its code.
async fn error_code<S>(ws: &mut S) -> Option<ErrorCode>
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next()).await.ok()??;
        if let Ok(WsMessage::Binary(bytes)) = next
            && let Ok(Message::Error(error)) = decode_frame(&bytes, usize::MAX)
        {
            return Some(error.code);
        }
    }
}

/// A bare WebSocket to the relay that has said `Hello` as `replica` for `collection`, and
/// does nothing more unless the test makes it.
async fn raw_peer(
    relay: &Relay,
    replica: u128,
    collection: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let endpoint = format!("ws://{}/sync", relay.local_addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(&endpoint).await.unwrap();
    socket.send(hello_frame(replica, collection)).await.unwrap();
    socket
}

fn hello_frame(replica: u128, collection: &str) -> WsMessage {
    let frame = encode_frame(&Message::Hello(Hello {
        replica: ReplicaId::from_u128(replica),
        collection: collection.into(),
        token: String::new(),
        log_base: 0,
        log_head: 0,
        max_frame_bytes: 0,
    }))
    .unwrap();
    WsMessage::Binary(frame.into())
}

#[test]
fn help_documents_every_flag() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_crdt-relay"))
        .arg("--help")
        .output()
        .expect("the relay binary runs");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--data-dir",
        "--static",
        "--access",
        "--access-file",
        "--peer",
        "--peer-token",
        "--max-frame-bytes",
        "--max-objects",
        "--max-object-bytes",
        "--max-queue-bytes",
        "--max-write-stall-secs",
        "--idle-timeout-secs",
        "--handshake-timeout-secs",
        "--max-connections",
        "--max-collections",
        "--anti-entropy-secs",
        "--log-format",
    ] {
        assert!(
            help.contains(flag),
            "--help does not mention {flag}:\n{help}"
        );
    }
    assert!(
        help.contains("127.0.0.1:8080"),
        "the default address is shown"
    );
}

#[test]
fn bad_flags_are_refused_with_a_reason() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_crdt-relay"))
        .args(["--listen", "127.0.0.1:0", "--access", "rx:carts:token"])
        .output()
        .expect("the relay binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("RIGHTS:COLLECTION:TOKEN"), "{stderr}");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_crdt-relay"))
        .args(["--listen", "127.0.0.1:0", "--max-object-bytes", "99999999"])
        .output()
        .expect("the relay binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("would not fit in a frame"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_static_files_metrics_and_the_endpoint() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<h1>cart</h1>").unwrap();
    let relay = start(RelayConfig {
        static_dir: Some(site.path().to_owned()),
        ..RelayConfig::default()
    })
    .await;
    assert_eq!(get(&relay, "/").await, (200, "<h1>cart</h1>".to_owned()));
    assert_eq!(get(&relay, "/index.html").await.0, 200);
    let wasm: Vec<u8> = (0..200_000u32)
        .flat_map(|n| (n % 251).to_le_bytes())
        .collect();
    std::fs::write(site.path().join("app.wasm"), &wasm).unwrap();
    let (headers, body) = raw_get(&relay, "/app.wasm", "gzip").await;
    assert!(headers.contains("content-encoding: gzip"), "{headers}");
    assert!(
        body.len() < wasm.len() / 3,
        "{} bytes on the wire",
        body.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert!(unzipped == wasm, "the gzipped file is not the file");
    let (headers, body) = raw_get(&relay, "/app.wasm", "identity").await;
    assert!(!headers.contains("content-encoding"), "{headers}");
    assert!(body == wasm, "the plain file is not the file");
    assert_eq!(get(&relay, "/missing.js").await.0, 404);
    assert_eq!(get(&relay, "/../Cargo.toml").await.0, 404);
    let (status, body) = get(&relay, "/sync").await;
    assert_eq!(
        status, 400,
        "a plain GET of the endpoint is refused: {body}"
    );

    let writer = client(&url(&relay), "shop", "");
    let reader = client(&url(&relay), "shop", "");
    let stock = ObjectId::new("stock").unwrap();
    writer
        .update(&stock, |n: &mut PNCounter, me| n.increment(me, 3))
        .unwrap();
    eventually(10, "the reader sees the edit", || async {
        reader
            .get_as::<PNCounter>(&stock)
            .unwrap()
            .map(|n| n.value())
            == Some(3)
    })
    .await;
    // Both are connected now: the next edit travels as a delta.
    writer
        .update(&stock, |n: &mut PNCounter, me| n.increment(me, 1))
        .unwrap();
    eventually(10, "the reader sees the second edit", || async {
        reader
            .get_as::<PNCounter>(&stock)
            .unwrap()
            .map(|n| n.value())
            == Some(4)
    })
    .await;
    let (status, metrics) = get(&relay, "/metrics").await;
    assert_eq!(status, 200);
    let value = |name: &str| metric_value(&metrics, name);
    assert_eq!(value("crdt_relay_connections"), 2.0);
    assert_eq!(value("crdt_relay_collections"), 1.0);
    assert_eq!(value("crdt_relay_objects"), 1.0);
    assert!(value("crdt_relay_deltas_in_total") >= 1.0);
    assert!(value("crdt_relay_deltas_out_total") >= 1.0);
    assert!(value("crdt_relay_bytes_in_total") > 0.0);
    assert!(value("crdt_relay_bytes_out_total") > 0.0);
    assert!(value("crdt_relay_anti_entropy_rounds_started_total") >= 0.0);
    assert!(value("crdt_relay_anti_entropy_rounds_completed_total") >= 0.0);
    assert!(value("crdt_relay_resident_memory_bytes") > 0.0);
    assert!(metrics.ends_with("# EOF\n"));
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_get_503() {
    let relay = start(RelayConfig {
        limits: NetLimits {
            max_connections: 2,
            ..NetLimits::default()
        },
        ..RelayConfig::default()
    })
    .await;
    let endpoint = format!("ws://{}/sync", relay.local_addr());
    let (_first, _) = tokio_tungstenite::connect_async(&endpoint).await.unwrap();
    let (_second, _) = tokio_tungstenite::connect_async(&endpoint).await.unwrap();
    match tokio_tungstenite::connect_async(&endpoint).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("a third connection was not refused: {other:?}"),
    }
    drop(_first);
    eventually(10, "a slot frees up", || async {
        tokio_tungstenite::connect_async(&endpoint).await.is_ok()
    })
    .await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_cut_off_and_others_carry_on() {
    let relay = start(RelayConfig {
        limits: NetLimits {
            max_frame_bytes: 512 << 10,
            max_object_bytes: 128 << 10,
            max_queue_bytes: 512 << 10,
            max_write_stall: Duration::from_secs(1),
            // Long enough that only the stall can end the slow reader's connection.
            idle_timeout: Duration::from_secs(600),
            ..NetLimits::default()
        },
        ..RelayConfig::default()
    })
    .await;
    // The slow reader says hello, then never reads again: its queue fills and stays full.
    let mut slow = raw_peer(&relay, 7, "docs").await;

    let writer = client(&url(&relay), "docs", "");
    let reader = client(&url(&relay), "docs", "");
    let page = "x".repeat(100 << 10);
    for index in 0..200 {
        let id = ObjectId::new(format!("page-{index}")).unwrap();
        writer
            .update(&id, |pages: &mut AWSet<String>, me| {
                pages.add(me, page.clone())
            })
            .unwrap();
        if index % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    eventually(60, "the reader gets all 200 pages", || async {
        reader.read(|collection| collection.len()) == 200
    })
    .await;
    // Its queue has been full since the pages went out; the cut comes once it has stayed
    // full for the stall time (1 s here), which the others need not wait for. On a loaded
    // machine an honest client can stall that long too, be cut and reconnect, so the count
    // may pass 1; the slow reader's own end is what the next step checks.
    eventually(20, "a reader is cut off as Overloaded", || async {
        let (_, metrics) = get(&relay, "/metrics").await;
        let overloaded = "crdt_relay_sessions_failed_total{code=\"Overloaded\"}";
        metrics.contains(overloaded) && metric_value(&metrics, overloaded) >= 1.0
    })
    .await;
    // Its connection is gone: reading now yields what was in flight, then the end. (The error
    // frame only reaches a reader that reads within the relay's linger time.) Nothing but the
    // stall can have ended it: it said hello, may read, and the idle timeout is far off.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = slow.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the slow reader's connection is still open");
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_connection_is_not_sent_the_same_deltas_twice() {
    let relay = start(RelayConfig::default()).await;
    // A peer that reads everything but never acknowledges: over a lossy link that would call
    // for resending, over a WebSocket it only means the peer is busy.
    let mut busy = raw_peer(&relay, 11, "docs").await;
    let writer = client(&url(&relay), "docs", "");
    let ids: Vec<ObjectId> = (0..5)
        .map(|index| ObjectId::new(format!("note-{index}")).unwrap())
        .collect();
    for id in &ids {
        writer
            .update(id, |notes: &mut AWSet<String>, me| {
                notes.add(me, "hi".into())
            })
            .unwrap();
    }
    let mut received: Vec<ObjectId> = Vec::new();
    let listen = tokio::time::sleep(Duration::from_secs(4));
    tokio::pin!(listen);
    loop {
        tokio::select! {
            () = &mut listen => break,
            next = busy.next() => match next {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    if let Ok(Message::Deltas(deltas)) = decode_frame(&bytes, usize::MAX) {
                        received.extend(deltas.objects.into_iter().map(|(id, _)| id));
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            }
        }
    }
    received.sort();
    assert_eq!(
        received, ids,
        "each object once: a peer slow to acknowledge is not resent what is in the pipe"
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_closed_after_the_idle_timeout() {
    let relay = start(RelayConfig {
        limits: NetLimits {
            idle_timeout: Duration::from_millis(600),
            ..NetLimits::default()
        },
        ..RelayConfig::default()
    })
    .await;
    let mut silent = raw_peer(&relay, 9, "shop").await;
    // Not reading means not answering the relay's pings either.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(error_code(&mut silent).await, Some(ErrorCode::Timeout));

    // A live client answers pings and stays.
    let live = client(&url(&relay), "shop", "");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(live.status(), crdt_sync::net::LinkStatus::Synced);
    relay.shutdown().await;
}

#[test]
fn access_rules_come_from_a_toml_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.toml");
    std::fs::write(
        &path,
        "[[access]]\ncollection = \"carts\"\ntoken = \"s3cret\"\nrights = \"rw\"\n\n\
         [[access]]\ncollection = \"*\"\ntoken = \"\"\nrights = \"ro\"\n",
    )
    .unwrap();
    let mut rules = AccessRules::default();
    rules.add_file(&path).unwrap();
    assert_eq!(rules.check("carts", "s3cret"), Access::ReadWrite);
    assert_eq!(rules.check("carts", ""), Access::ReadOnly);
    assert_eq!(rules.check("other", ""), Access::ReadOnly);
    assert_eq!(rules.check("other", "s3cret"), Access::Denied);
    assert_eq!(rules.check("carts", "s3cre"), Access::Denied);

    std::fs::write(
        &path,
        "[[access]]\ncollection = \"carts\"\nrights = \"admin\"\n",
    )
    .unwrap();
    let error = AccessRules::default()
        .add_file(&path)
        .unwrap_err()
        .to_string();
    assert!(error.contains("access.toml"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_restarted_from_its_data_directory_keeps_its_collections_and_id() {
    let data = tempfile::tempdir().unwrap();
    let config = || RelayConfig {
        data_dir: Some(data.path().to_owned()),
        ..RelayConfig::default()
    };
    let relay = start(config()).await;
    let cart = ObjectId::new("cart").unwrap();
    let alice = client(&url(&relay), "carts", "");
    alice
        .update(&cart, |items: &mut AWSet<String>, me| {
            items.add(me, "milk".into())
        })
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), alice.synced())
        .await
        .expect("the relay acknowledges the edit");
    let relay_id = alice.read(|collection| *collection.peers().next().unwrap().0);
    relay.shutdown().await;

    let relay = start(config()).await;
    let bob = client(&url(&relay), "carts", "");
    eventually(
        10,
        "a new client gets the cart from the restarted relay",
        || async {
            bob.get_as::<AWSet<String>>(&cart)
                .unwrap()
                .is_some_and(|items| items.contains(&"milk".to_string()))
        },
    )
    .await;
    let restarted_id = bob.read(|collection| *collection.peers().next().unwrap().0);
    assert_eq!(restarted_id, relay_id, "the relay keeps its replica id");
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_cannot_create_a_collection() {
    let mut access = AccessRules::default();
    access.add_flag("ro:*:viewer").unwrap();
    access.add_flag("rw:*:writer").unwrap();
    let relay = start(RelayConfig {
        access,
        ..RelayConfig::default()
    })
    .await;
    let endpoint = format!("ws://{}/sync", relay.local_addr());
    let (mut viewer, _) = tokio_tungstenite::connect_async(&endpoint).await.unwrap();
    let frame = encode_frame(&Message::Hello(Hello {
        replica: ReplicaId::from_u128(5),
        collection: "nobody-made-this".into(),
        token: "viewer".into(),
        log_base: 0,
        log_head: 0,
        max_frame_bytes: 0,
    }))
    .unwrap();
    viewer.send(WsMessage::Binary(frame.into())).await.unwrap();
    assert_eq!(
        error_code(&mut viewer).await,
        Some(ErrorCode::WrongCollection)
    );
    let (_, metrics) = get(&relay, "/metrics").await;
    assert!(metrics.contains("crdt_relay_collections 0"), "{metrics}");

    // Once a writer has made it, the viewer reads it.
    let writer = client(&url(&relay), "nobody-made-this", "writer");
    let hits = ObjectId::new("hits").unwrap();
    writer
        .update(&hits, |n: &mut PNCounter, me| n.increment(me, 1))
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), writer.synced())
        .await
        .unwrap();
    let reader = client(&url(&relay), "nobody-made-this", "viewer");
    eventually(10, "the viewer reads the writer's counter", || async {
        reader
            .get_as::<PNCounter>(&hits)
            .unwrap()
            .map(|n| n.value())
            == Some(1)
    })
    .await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_naming_an_object_twice_is_refused_whole() {
    use crdt_core::GCounter;
    use crdt_sync::message::Deltas;
    use crdt_sync::object::Object;
    let relay = start(RelayConfig::default()).await;
    let mut raw = raw_peer(&relay, 11, "shop").await;
    let id = ObjectId::new("twice").unwrap();
    let me = ReplicaId::from_u128(11);
    let frame = encode_frame(&Message::Deltas(Deltas {
        from: 0,
        to: 2,
        objects: vec![
            (id.clone(), Object::from(GCounter::new().increment(me, 1))),
            (
                id.clone(),
                Object::from(AWSet::<String>::new().add(me, "x".into()).unwrap()),
            ),
        ],
    }))
    .unwrap();
    raw.send(WsMessage::Binary(frame.into())).await.unwrap();
    assert_eq!(error_code(&mut raw).await, Some(ErrorCode::BadUpdate));
    let observer = client(&url(&relay), "shop", "");
    tokio::time::timeout(Duration::from_secs(10), observer.synced())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(observer.read(|collection| collection.get(&id).is_none()));
    relay.shutdown().await;
}
