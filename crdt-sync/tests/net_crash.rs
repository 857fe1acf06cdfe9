//! Crash safety: the relay runs as its own process, clients stream edits to it, and it is
//! killed with SIGKILL at a random moment. Every edit it had acknowledged must be in its data
//! directory, read straight from the store; restarted from that directory, it brings every
//! client to the same state.

mod net_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crdt_core::AWSet;
use crdt_sync::net::client::Client;
use crdt_sync::net::store::Store;
use crdt_sync::net::store::redb::RedbStore;
use crdt_sync::object_id::ObjectId;
use crdt_sync::simulation::SimRng;
use net_support::{RelayProcess, client, eventually};

/// One client streaming adds of its own items; `sent` records (log sequence number, item).
struct Writer {
    client: Client,
    sent: Arc<Mutex<Vec<(u64, String)>>>,
}

fn start_writer(url: &str, index: usize, stop: Arc<AtomicBool>) -> Writer {
    let client = client(url, "shop", "");
    let sent = Arc::new(Mutex::new(Vec::new()));
    let (task_client, task_sent) = (client.clone(), sent.clone());
    tokio::spawn(async move {
        let cart = ObjectId::new("cart").unwrap();
        for k in 0..100_000 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let item = format!("w{index}-{k}");
            {
                // Held across the edit, so a reader never sees an edit without its number.
                let mut sent = task_sent.lock().unwrap();
                task_client
                    .update(&cart, |items: &mut AWSet<String>, me| {
                        items.add(me, item.clone())
                    })
                    .unwrap();
                let seq = task_client.read(|collection| collection.log().head());
                sent.push((seq, item));
            }
            if k % 4 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    Writer { client, sent }
}

/// The items of `writer` that the relay acknowledged.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_at_random_keeps_everything_it_acknowledged() {
    let data = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::spawn("127.0.0.1:0", Some(data.path()));
    let addr = relay.addr.clone();
    let url = format!("ws://{addr}");
    let cart = ObjectId::new("cart").unwrap();
    let mut rng = SimRng::new(0xC4A5);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<Writer> = (0..4)
        .map(|i| start_writer(&url, i, stop.clone()))
        .collect();
    let mut checked = 0;
    for cycle in 0..5 {
        let wait = 150 + rng.below(600);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        relay.kill();
        // Whatever acknowledgement a client holds now left the relay before it died.
        let acked: Vec<String> = writers.iter().flat_map(acknowledged).collect();
        let stored = {
            let store = RedbStore::open(data.path()).expect("the store opens");
            let (_, collection) = store
                .open("shop", false)
                .await
                .expect("the store reads")
                .expect("the collection is stored");
            store.close().await;
            collection
                .get_as::<AWSet<String>>(&ObjectId::new("cart").unwrap())
                .unwrap()
                .cloned()
                .unwrap_or_default()
        };
        let lost: Vec<&String> = acked.iter().filter(|item| !stored.contains(item)).collect();
        assert!(
            lost.is_empty(),
            "cycle {cycle} (killed after {wait} ms): {} acknowledged items missing, e.g. {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
        eprintln!(
            "cycle {cycle}: killed after {wait} ms, {} acknowledged, {} stored",
            acked.len(),
            stored.len()
        );
        checked += acked.len();
        relay = RelayProcess::spawn(&addr, Some(data.path()));
    }
    assert!(checked > 0, "no acknowledgement was ever checked");

    stop.store(true, Ordering::Relaxed);
    let verifier = client(&url, "shop", "");
    let mut everyone: Vec<&Client> = writers.iter().map(|writer| &writer.client).collect();
    everyone.push(&verifier);
    let total: usize = writers
        .iter()
        .map(|writer| writer.sent.lock().unwrap().len())
        .sum();
    eprintln!("{total} items written; waiting for convergence");
    let started = std::time::Instant::now();
    eventually(
        60,
        "every client has every item after the restarts",
        || async {
            everyone.iter().all(|client| {
                client
                    .get_as::<AWSet<String>>(&cart)
                    .unwrap()
                    .is_some_and(|items| items.len() == total)
            })
        },
    )
    .await;
    eprintln!("converged in {:?}", started.elapsed());
}
