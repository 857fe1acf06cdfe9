//! Relays sharing one PostgreSQL (a throwaway cluster per test, under `target/`): clients on
//! different relays converge although the relays never talk to each other; a relay killed with
//! SIGKILL loses nothing it acknowledged while its clients fail over to another; PostgreSQL
//! restarted under load loses nothing acknowledged, and clients see the error and go on.

mod net_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crdt_core::{AWSet, GCounter};
use crdt_sync::net::LinkStatus;
use crdt_sync::net::client::{Client, ClientConfig};
use crdt_sync::net::dialer::Backoff;
use crdt_sync::net::relay::{Relay, RelayConfig};
use crdt_sync::net::store::Store;
use crdt_sync::net::store::postgres::PgStore;
use crdt_sync::object_id::ObjectId;
use crdt_sync::simulation::SimRng;
use net_support::{RelayProcess, eventually, postgres_cluster, url};

fn cart() -> ObjectId {
    ObjectId::new("cart").unwrap()
}

fn hits() -> ObjectId {
    ObjectId::new("hits").unwrap()
}

async fn pg_relay(store: &str) -> Relay {
    Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        store_url: Some(store.to_owned()),
        anti_entropy_every_ms: 2_000,
        ..RelayConfig::default()
    })
    .await
    .expect("a relay on PostgreSQL starts")
}

/// A client of `collection` that knows every relay in `urls` and fails over between them.
fn client_of(urls: &[String], collection: &str) -> Client {
    Client::start(ClientConfig {
        urls: urls.to_vec(),
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(500),
        },
        anti_entropy_every_ms: 2_000,
        ..ClientConfig::new(&urls[0], collection, "")
    })
    .expect("client starts")
}

fn items(client: &Client) -> AWSet<String> {
    client
        .get_as::<AWSet<String>>(&cart())
        .unwrap()
        .unwrap_or_default()
}

fn hit_count(client: &Client) -> u128 {
    client
        .get_as::<GCounter>(&hits())
        .unwrap()
        .map(|counter| counter.value())
        .unwrap_or(0)
}

/// What PostgreSQL holds for the collection's cart, read by a store of its own.
async fn stored_items(store_url: &str, collection: &str) -> AWSet<String> {
    let store = PgStore::connect(store_url, None)
        .await
        .expect("PostgreSQL answers");
    let (_, stored) = store
        .open(collection, false)
        .await
        .expect("the store reads")
        .expect("the collection is stored");
    store.close().await;
    stored
        .get_as::<AWSet<String>>(&cart())
        .unwrap()
        .cloned()
        .unwrap_or_default()
}

/// `relays` relays on one PostgreSQL, two clients on each, each client pinned to its relay:
/// the relays share nothing but the database, so everything a client gets from the others
/// came through it.
async fn relays_on_one_postgres_converge(relays: usize) {
    let postgres = postgres_cluster(&format!("converge-{relays}"));
    let mut started = Vec::new();
    for _ in 0..relays {
        started.push(pg_relay(&postgres.url()).await);
    }
    let clients: Vec<Client> = (0..relays * 2)
        .map(|i| client_of(&[url(&started[i % relays])], "cart-1"))
        .collect();
    // Another collection, on the first relay only: it must not leak into cart-1.
    let elsewhere = client_of(&[url(&started[0])], "cart-2");
    elsewhere
        .update(&cart(), |set: &mut AWSet<String>, me| {
            set.add(me, "not-here".into())
        })
        .unwrap();
    const EACH: usize = 20;
    for round in 0..EACH {
        for (i, client) in clients.iter().enumerate() {
            client
                .update(&cart(), |set: &mut AWSet<String>, me| {
                    set.add(me, format!("c{i}-{round}"))
                })
                .unwrap();
            client
                .update(&hits(), |counter: &mut GCounter, me| {
                    counter.increment(me, 1)
                })
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let total = clients.len() * EACH;
    eventually(
        30,
        &format!(
            "all {} clients on {relays} relays hold all {total} items",
            clients.len()
        ),
        || async {
            clients
                .iter()
                .all(|client| items(client).len() == total && hit_count(client) == total as u128)
        },
    )
    .await;
    for client in &clients {
        assert!(!items(client).contains(&"not-here".to_string()));
    }
    let stored = stored_items(&postgres.url(), "cart-1").await;
    assert_eq!(stored.len(), total, "PostgreSQL holds every item");
    // A relay that opens the collection afresh reads it all from the database.
    let late = pg_relay(&postgres.url()).await;
    let reader = client_of(&[url(&late)], "cart-1");
    eventually(20, "a new relay serves everything", || async {
        items(&reader).len() == total
    })
    .await;
    drop(reader);
    late.shutdown().await;
    for relay in started {
        relay.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_postgres_converge() {
    relays_on_one_postgres_converge(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_relays_on_one_postgres_converge() {
    relays_on_one_postgres_converge(3).await;
}

/// One client streaming adds of its own items; `sent` records (log sequence number, item).
struct Writer {
    client: Client,
    sent: Arc<Mutex<Vec<(u64, String)>>>,
    saw_errors: Arc<AtomicBool>,
}

fn start_writer(urls: &[String], index: usize, stop: Arc<AtomicBool>) -> Writer {
    let client = client_of(urls, "shop");
    let sent = Arc::new(Mutex::new(Vec::new()));
    let saw_errors = Arc::new(AtomicBool::new(false));
    let mut status = client.watch_status();
    let errors = saw_errors.clone();
    tokio::spawn(async move {
        while status.changed().await.is_ok() {
            if matches!(*status.borrow_and_update(), LinkStatus::Offline(Some(_))) {
                errors.store(true, Ordering::Relaxed);
            }
        }
    });
    let (task_client, task_sent) = (client.clone(), sent.clone());
    tokio::spawn(async move {
        for k in 0..100_000 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let item = format!("w{index}-{k}");
            {
                // Held across the edit, so a reader never sees an edit without its number.
                let mut sent = task_sent.lock().unwrap();
                task_client
                    .update(&cart(), |items: &mut AWSet<String>, me| {
                        items.add(me, item.clone())
                    })
                    .unwrap();
                let seq = task_client.read(|collection| collection.log().head());
                sent.push((seq, item));
            }
            // A steady stream, not a flood: the relays share this test's two threads.
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    });
    Writer {
        client,
        sent,
        saw_errors,
    }
}

/// The items of `writer` that some relay acknowledged (each relay acknowledges only what
/// PostgreSQL committed).
fn acknowledged(writer: &Writer) -> Vec<String> {
    let acked = writer.client.read(|collection| {
        collection
            .peers()
            .map(|(_, progress)| progress.acked)
            .max()
            .unwrap_or(0)
    });
    writer
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(seq, _)| *seq <= acked)
        .map(|(_, item)| item.clone())
        .collect()
}

/// Checks that PostgreSQL holds every item a writer has had acknowledged; returns how many.
async fn nothing_acknowledged_lost(store_url: &str, writers: &[Writer], when: &str) -> usize {
    let acked: Vec<String> = writers.iter().flat_map(acknowledged).collect();
    let stored = stored_items(store_url, "shop").await;
    let lost: Vec<&String> = acked.iter().filter(|item| !stored.contains(item)).collect();
    assert!(
        lost.is_empty(),
        "{when}: {} acknowledged items missing from PostgreSQL, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    eprintln!(
        "{when}: {} acknowledged, {} stored",
        acked.len(),
        stored.len()
    );
    acked.len()
}

/// Stops the writers and waits until every client, and a fresh one, holds every item written.
async fn all_converge(writers: &[Writer], urls: &[String], stop: &AtomicBool) {
    stop.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let total: usize = writers
        .iter()
        .map(|writer| writer.sent.lock().unwrap().len())
        .sum();
    let verifier = client_of(urls, "shop");
    let mut everyone: Vec<&Client> = writers.iter().map(|writer| &writer.client).collect();
    everyone.push(&verifier);
    eventually(
        60,
        &format!("every client holds all {total} items"),
        || async { everyone.iter().all(|client| items(client).len() == total) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_stream_loses_nothing_while_its_clients_fail_over() {
    let postgres = postgres_cluster("kill");
    let flags = vec!["--store".to_owned(), postgres.url()];
    let mut relays = [
        RelayProcess::spawn_with("127.0.0.1:0", &flags),
        RelayProcess::spawn_with("127.0.0.1:0", &flags),
    ];
    let addrs: Vec<String> = relays.iter().map(|relay| relay.addr.clone()).collect();
    let urls: Vec<String> = addrs.iter().map(|addr| format!("ws://{addr}")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<Writer> = (0..4)
        .map(|i| start_writer(&urls, i, stop.clone()))
        .collect();
    let mut rng = SimRng::new(0x9E57);
    let mut checked = 0;
    for cycle in 0..4 {
        let wait = 300 + rng.below(500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let victim = cycle % 2;
        relays[victim].kill();
        checked += nothing_acknowledged_lost(
            &postgres.url(),
            &writers,
            &format!("cycle {cycle}, relay {victim} killed after {wait} ms"),
        )
        .await;
        // Every writer keeps going on the survivor meanwhile.
        let before: Vec<usize> = writers.iter().map(|w| acknowledged(w).len()).collect();
        eventually(
            20,
            "every writer's new edits are acknowledged by the survivor",
            || async {
                writers
                    .iter()
                    .zip(&before)
                    .all(|(writer, before)| acknowledged(writer).len() > *before)
            },
        )
        .await;
        relays[victim] = RelayProcess::spawn_with(&addrs[victim], &flags);
    }
    assert!(checked > 0, "no acknowledgement was ever checked");
    all_converge(&writers, &urls, &stop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_loses_nothing_and_relays_go_on() {
    let postgres = postgres_cluster("restart");
    let relays = [
        pg_relay(&postgres.url()).await,
        pg_relay(&postgres.url()).await,
    ];
    let urls: Vec<String> = relays.iter().map(url).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<Writer> = (0..4)
        .map(|i| start_writer(&urls, i, stop.clone()))
        .collect();
    for cycle in 0..2 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        postgres.stop().expect("PostgreSQL stops");
        tokio::time::sleep(Duration::from_millis(300)).await;
        postgres.start_again().expect("PostgreSQL starts again");
        checked_after_restart(&postgres.url(), &writers, cycle).await;
    }
    assert!(
        writers
            .iter()
            .any(|writer| writer.saw_errors.load(Ordering::Relaxed)),
        "some client saw the relay's error while PostgreSQL was down"
    );
    all_converge(&writers, &urls, &stop).await;
    for relay in relays {
        relay.shutdown().await;
    }
}

async fn checked_after_restart(store_url: &str, writers: &[Writer], cycle: usize) {
    nothing_acknowledged_lost(store_url, writers, &format!("restart {cycle}")).await;
    let before: Vec<usize> = writers.iter().map(|w| acknowledged(w).len()).collect();
    eventually(
        30,
        "relays commit again after PostgreSQL is back",
        || async {
            writers
                .iter()
                .zip(&before)
                .all(|(writer, before)| acknowledged(writer).len() > *before)
        },
    )
    .await;
}
