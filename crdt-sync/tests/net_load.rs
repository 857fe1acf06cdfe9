//! Load: 100 clients each send 1,000 deltas through one relay process and converge; once they
//! disconnect, the relay's log is empty and its resident memory is back within 8 MiB of its
//! baseline, wave after wave (memory the allocator keeps for reuse does not grow).

mod net_support;

use std::time::Duration;

use crdt_core::GCounter;
use crdt_sync::net::client::Client;
use crdt_sync::object_id::ObjectId;
use net_support::{RelayProcess, client, eventually, http_get, metric_value};

const CLIENTS: usize = 100;
const DELTAS: u64 = 1_000;

/// One metric's value from the relay's `/metrics`.
async fn metric(addr: &str, name: &str) -> f64 {
    metric_value(&http_get(addr, "/metrics").await.1, name)
}

fn total(client: &Client) -> u128 {
    client.read(|collection| {
        collection
            .iter()
            .filter_map(|(_, object)| crdt_sync::object::ObjectType::as_object(object))
            .map(|counter: &GCounter| counter.value())
            .sum()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_clients_converge_and_memory_returns_near_baseline() {
    let data = tempfile::tempdir().unwrap();
    let relay = RelayProcess::spawn("127.0.0.1:0", Some(data.path()));
    let addr = relay.addr.clone();
    let url = format!("ws://{addr}");

    // The baseline includes what a first session sets up for good (the collection, threads).
    let warm = client(&url, "load", "");
    eventually(10, "the warm-up client syncs", || async {
        warm.status() == crdt_sync::net::LinkStatus::Synced
    })
    .await;
    drop(warm);
    eventually(10, "the warm-up client leaves", || async {
        metric(&addr, "crdt_relay_connections").await == 0.0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = relay.rss_kib();

    let mut peak = baseline;
    for wave in 0..2 {
        let clients: Vec<Client> = (0..CLIENTS).map(|_| client(&url, "load", "")).collect();
        let mut writers = Vec::new();
        for (index, client) in clients.iter().enumerate() {
            let client = client.clone();
            writers.push(tokio::spawn(async move {
                let id = ObjectId::new(format!("counter-{index}")).unwrap();
                for k in 0..DELTAS {
                    client
                        .update(&id, |counter: &mut GCounter, me| counter.increment(me, 1))
                        .unwrap();
                    if k % 10 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        // Each wave adds 1,000 to each of the 100 counters.
        let expected = (wave + 1) * CLIENTS as u128 * u128::from(DELTAS);
        eventually(120, "all 100 clients see every increment", || {
            peak = peak.max(relay.rss_kib());
            let done = clients.iter().all(|client| total(client) == expected);
            async move { done }
        })
        .await;
        drop(clients);
        eventually(30, "every client disconnects", || async {
            metric(&addr, "crdt_relay_connections").await == 0.0
        })
        .await;
        // With every client gone, the log holds nothing for anyone.
        eventually(10, "the relay's log empties", || async {
            metric(&addr, "crdt_relay_log_entries").await == 0.0
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = relay.rss_kib();
        eprintln!(
            "wave {wave}: relay RSS baseline {baseline} KiB, peak {peak} KiB, after {after} KiB"
        );
        assert!(
            after <= baseline + 8 * 1024,
            "wave {wave}: the relay kept {} KiB over its baseline of {baseline} KiB after every \
             client left (peak {peak} KiB)",
            after.saturating_sub(baseline)
        );
    }
}
