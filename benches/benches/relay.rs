//! One round trip through an in-process relay over loopback WebSockets: client 0 increments a
//! `GCounter` and the time runs until client 1 sees the new value, with 10 clients connected
//! (so the relay fans each delta out to 9). The relay keeps its collection in memory, or in a
//! temporary directory (durable: the delta is committed with an fsync before it is forwarded).
//! Throughput and latency under load come from the `relay-load` binary.

use std::time::{Duration, Instant};

use crdt_core::GCounter;
use crdt_sync::net::client::{Client, connect};
use crdt_sync::net::relay::{Relay, RelayConfig};
use crdt_sync::object_id::ObjectId;
use criterion::{Criterion, criterion_group, criterion_main};

const CLIENTS: usize = 10;
/// How long one round trip may take before the bench gives up.
const LIMIT: Duration = Duration::from_secs(10);

/// The value client `client` holds of the counter `id`.
fn value(client: &Client, id: &ObjectId) -> u128 {
    client.read(|collection| {
        collection
            .get_as::<GCounter>(id)
            .ok()
            .flatten()
            .map_or(0, GCounter::value)
    })
}

/// A relay (durable in `dir` if given) and `CLIENTS` clients, all connected.
async fn setup(dir: Option<&std::path::Path>) -> (Relay, Vec<Client>) {
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data_dir: dir.map(std::path::Path::to_path_buf),
        ..RelayConfig::default()
    })
    .await
    .expect("the relay starts");
    let url = format!("ws://{}", relay.local_addr());
    let clients: Vec<Client> = (0..CLIENTS)
        .map(|_| connect(&url, "bench", "").expect("a client"))
        .collect();
    for client in &clients {
        tokio::time::timeout(LIMIT, client.synced())
            .await
            .expect("every client connects");
    }
    (relay, clients)
}

/// Client 0 increments `id`; returns once client 1 sees it.
async fn round_trip(clients: &[Client], id: &ObjectId) {
    let (writer, reader) = (&clients[0], &clients[1]);
    let mut changes = reader.remote_changes();
    let expected = value(writer, id) + 1;
    writer
        .update(id, |counter: &mut GCounter, me| counter.increment(me, 1))
        .expect("the update applies");
    while value(reader, id) < expected {
        tokio::time::timeout(LIMIT, changes.changed())
            .await
            .expect("the increment arrives in time")
            .expect("the reader's hub runs");
    }
}

fn relay_round_trip(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut group = c.benchmark_group("relay_round_trip");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let id = ObjectId::new("hits").expect("an object id");
    for durable in [false, true] {
        let dir = durable.then(|| tempfile::tempdir().expect("a temporary directory"));
        let (relay, clients) = runtime.block_on(setup(dir.as_ref().map(|dir| dir.path())));
        let name = if durable {
            "durable/10_clients"
        } else {
            "memory/10_clients"
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iters {
                        round_trip(&clients, &id).await;
                    }
                    started.elapsed()
                })
            });
        });
        drop(clients);
        runtime.block_on(async {
            let _ = tokio::time::timeout(LIMIT, relay.shutdown()).await;
        });
    }
    group.finish();
}

criterion_group!(benches, relay_round_trip);
criterion_main!(benches);
