//! Collections open on demand and close when idle: a relay with a store serves more carts
//! than it may hold open, frees idle ones, refuses only when every open one is in use, starts
//! with nothing open, holds no file per collection, and loses nothing when a close races a
//! new session.

#[macro_use]
mod net_support;

use std::time::Duration;

use crdt_core::{GCounter, PNCounter};
use crdt_sync::net::client::Client;
use crdt_sync::net::limits::NetLimits;
use crdt_sync::net::relay::{Relay, RelayConfig};
use crdt_sync::object_id::ObjectId;
use net_support::{TestStore, client, eventually, metric_value, url};

async fn start(store: &TestStore, max_collections: usize, idle_close: Duration) -> Relay {
    let mut config = RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        anti_entropy_every_ms: 2_000,
        idle_close,
        limits: NetLimits {
            max_collections,
            ..NetLimits::default()
        },
        ..RelayConfig::default()
    };
    store.configure(&mut config);
    Relay::start(config).await.expect("relay starts")
}

fn hits() -> ObjectId {
    ObjectId::new("hits").unwrap()
}

/// Adds `n` to the cart's counter, waits for the relay's acknowledgement, and leaves.
async fn add_and_leave(url: &str, cart: &str, n: u64) {
    let client = client(url, cart, "");
    client
        .update(&hits(), |counter: &mut GCounter, me| {
            counter.increment(me, n)
        })
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), client.synced())
        .await
        .unwrap_or_else(|_| panic!("{cart}: the relay acknowledges the edit"));
    client.set_online(false);
}

/// What a fresh client reads from the relay for the cart's counter, once it shows
/// `expected` or after 20 s. (`synced` alone would not do: it says the relay has what the
/// client has, and a fresh client has nothing.)
async fn read_back(url: &str, cart: &str, expected: u128) -> u128 {
    let client = client(url, cart, "");
    let mut changes = client.remote_changes();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while counter_value(&client) != expected {
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            break;
        }
    }
    let value = counter_value(&client);
    client.set_online(false);
    value
}

/// How many collections the relay closed for `reason` (none yet: 0).
fn closed(relay: &Relay, reason: &str) -> f64 {
    let metrics = relay.metrics().render();
    let name = format!("crdt_relay_collections_closed_total{{reason=\"{reason}\"}}");
    if metrics.contains(&name) {
        metric_value(&metrics, &name)
    } else {
        0.0
    }
}

fn counter_value(client: &Client) -> u128 {
    client
        .get_as::<GCounter>(&hits())
        .unwrap()
        .map_or(0, |counter| counter.value())
}

async fn more_carts_than_may_be_open_are_all_served_and_kept(store: TestStore) {
    let relay = start(&store, 10, Duration::from_secs(600)).await;
    let url = url(&relay);
    for cart in 0..40u64 {
        add_and_leave(&url, &format!("cart-{cart}"), cart + 1).await;
    }
    let metrics = relay.metrics();
    assert!(
        metrics.collections.get() <= 10,
        "at most 10 open, not {}",
        metrics.collections.get()
    );
    let evicted = closed(&relay, "evicted");
    assert!(evicted >= 30.0, "idle carts made room: {evicted} closed");
    for cart in [0u64, 1, 17, 39] {
        assert_eq!(
            read_back(&url, &format!("cart-{cart}"), u128::from(cart + 1)).await,
            u128::from(cart + 1),
            "cart-{cart} reopened with what was acknowledged"
        );
    }
    relay.shutdown().await;
}

async fn an_idle_cart_is_closed_and_reopened_by_the_next_session(store: TestStore) {
    let relay = start(&store, 100, Duration::from_millis(200)).await;
    let url = url(&relay);
    add_and_leave(&url, "cart", 5).await;
    eventually(10, "the idle cart is closed", || async {
        relay.metrics().collections.get() == 0
    })
    .await;
    assert_eq!(closed(&relay, "idle"), 1.0);
    assert_eq!(read_back(&url, "cart", 5).await, 5);
    relay.shutdown().await;
}

async fn a_new_cart_is_refused_only_while_every_open_one_is_in_use(store: TestStore) {
    let relay = start(&store, 3, Duration::from_secs(600)).await;
    let url = url(&relay);
    let mut holders = Vec::new();
    for cart in 0..3 {
        let holder = client(&url, &format!("held-{cart}"), "");
        tokio::time::timeout(Duration::from_secs(10), holder.synced())
            .await
            .expect("a held cart opens");
        holders.push(holder);
    }
    let late = client(&url, "late", "");
    eventually(10, "the fourth cart is refused as overloaded", || async {
        matches!(late.status(), crdt_sync::net::LinkStatus::Offline(Some(error)) if error.contains("Overloaded"))
    })
    .await;
    holders.pop().unwrap().set_online(false);
    // The late client keeps retrying; once a cart is idle it makes room.
    tokio::time::timeout(Duration::from_secs(20), late.synced())
        .await
        .expect("the fourth cart opens once one is idle");
    relay.shutdown().await;
}

async fn a_restarted_relay_opens_nothing_and_holds_no_file_per_cart(store: TestStore) {
    let relay = start(&store, 1_000, Duration::from_secs(600)).await;
    let endpoint = url(&relay);
    let fds = || std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count());
    let before = fds();
    let mut clients = Vec::new();
    for cart in 0..200u64 {
        let client = client(&endpoint, &format!("cart-{cart}"), "");
        client
            .update(&hits(), |counter: &mut GCounter, me| {
                counter.increment(me, 1)
            })
            .unwrap();
        clients.push(client);
    }
    for client in &clients {
        tokio::time::timeout(Duration::from_secs(30), client.synced())
            .await
            .expect("every cart is acknowledged");
    }
    assert_eq!(relay.metrics().collections.get(), 200);
    // Each client holds its socket and the relay its end: two per cart, none for a file.
    // PostgreSQL adds its connections (a pool of up to 16, the listener, the compactor),
    // however many carts there are.
    let store_connections = match store {
        TestStore::Postgres(_) => 24,
        _ => 0,
    };
    let grown = fds().saturating_sub(before);
    assert!(
        grown <= 2 * 200 + 20 + store_connections,
        "{grown} descriptors for 200 open carts and their sockets"
    );
    for client in &clients {
        client.set_online(false);
    }
    drop(clients);
    relay.shutdown().await;

    let relay = start(&store, 1_000, Duration::from_secs(600)).await;
    assert_eq!(
        relay.metrics().collections.get(),
        0,
        "nothing opened at start"
    );
    assert_eq!(read_back(&url(&relay), "cart-123", 1).await, 1);
    assert_eq!(relay.metrics().collections.get(), 1);
    relay.shutdown().await;
}

/// Clients come and go on a few carts while the relay closes them as soon as they are idle,
/// so closes race new sessions all the time; every acknowledged increment must survive.
async fn closes_racing_new_sessions_lose_nothing(store: TestStore) {
    let relay = start(&store, 2, Duration::ZERO).await;
    let url = url(&relay);
    let carts = ["a", "b", "c"];
    let mut tasks = Vec::new();
    for worker in 0..6u64 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = [0u64; 3];
            for round in 0..30u64 {
                let cart = ((worker + round) % 3) as usize;
                let client = client(&url, carts[cart], "");
                client
                    .update(&hits(), |counter: &mut PNCounter, me| {
                        counter.increment(me, 1)
                    })
                    .unwrap();
                if round % 2 == 1 {
                    // Gone as soon as the edit is sent: the relay has work left to commit
                    // when the cart goes idle, which is when a close races the next session.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    client.set_online(false);
                    continue;
                }
                // Refusals (every open cart in use) are retried by the client; a bounded wait.
                if tokio::time::timeout(Duration::from_secs(20), client.synced())
                    .await
                    .is_ok()
                {
                    acked[cart] += 1;
                }
                client.set_online(false);
            }
            acked
        }));
    }
    let mut acked = [0u64; 3];
    for task in tasks {
        for (total, worker) in acked.iter_mut().zip(task.await.unwrap()) {
            *total += worker;
        }
    }
    assert!(
        acked.iter().sum::<u64>() >= 60,
        "most sessions went through: {acked:?}"
    );
    for (cart, expected) in carts.iter().zip(acked) {
        let client = client(&url, cart, "");
        let value = || {
            client
                .get_as::<PNCounter>(&hits())
                .unwrap()
                .map_or(0, |counter| counter.value())
        };
        let mut changes = client.remote_changes();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while value() < i128::from(expected)
            && tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_ok()
        {}
        let value = value();
        assert!(
            value >= i128::from(expected),
            "cart {cart}: {value} stored, {expected} acknowledged"
        );
        client.set_online(false);
    }
    let closes = closed(&relay, "idle") + closed(&relay, "evicted");
    assert!(
        closes >= 10.0,
        "the carts were closed and reopened: {closes} closes"
    );
    relay.shutdown().await;
}

on_redb_and_postgres!(
    "idle",
    more_carts_than_may_be_open_are_all_served_and_kept,
    an_idle_cart_is_closed_and_reopened_by_the_next_session,
    a_new_cart_is_refused_only_while_every_open_one_is_in_use,
    a_restarted_relay_opens_nothing_and_holds_no_file_per_cart,
    closes_racing_new_sessions_lose_nothing,
);
