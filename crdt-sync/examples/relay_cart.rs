//! A relay and three native clients share a shopping cart over WebSockets; one client edits
//! offline, and everyone converges when it comes back.
//!
//! The cart is an add-wins set of item names (`AWSet<String>`) plus one `PNCounter` per item
//! for its quantity, so concurrent additions add up. The relay keeps the collection in a
//! temporary data directory and listens on a free loopback port.
//!
//! Run it with `cargo xtask demo` or `cargo run -p crdt-sync --example relay_cart`.

use std::process::ExitCode;
use std::time::Duration;

use crdt_core::{AWSet, PNCounter};
use crdt_sync::net::client::{Client, connect};
use crdt_sync::net::relay::{Relay, RelayConfig};
use crdt_sync::object_id::ObjectId;

fn id(name: &str) -> ObjectId {
    ObjectId::new(name).expect("a short name is a valid id")
}

fn add(client: &Client, item: &str, quantity: u64) {
    client
        .update(&id("cart"), |cart: &mut AWSet<String>, me| {
            cart.add(me, item.to_owned())
        })
        .expect("the cart is a set");
    client
        .update(&id(item), |count: &mut PNCounter, me| {
            count.increment(me, quantity)
        })
        .expect("a quantity is a counter");
}

/// Removes what this replica sees of `item`: its entry, and the quantity it has seen.
fn remove(client: &Client, item: &str) {
    let seen = client
        .get_as::<PNCounter>(&id(item))
        .ok()
        .flatten()
        .map_or(0, |count| count.value());
    client
        .update(&id("cart"), |cart: &mut AWSet<String>, _| {
            cart.remove(&item.to_owned())
        })
        .expect("the cart is a set");
    client
        .update(&id(item), |count: &mut PNCounter, me| {
            count.decrement(me, u64::try_from(seen).unwrap_or(0))
        })
        .expect("a quantity is a counter");
}

fn show(name: &str, client: &Client) -> String {
    let cart = client.read(|collection| {
        let items = collection
            .get_as::<AWSet<String>>(&id("cart"))
            .ok()
            .flatten()
            .map(|cart| {
                let mut items: Vec<String> = cart.iter().cloned().collect();
                items.sort();
                items
            })
            .unwrap_or_default();
        items
            .into_iter()
            .map(|item| {
                let quantity = collection
                    .get_as::<PNCounter>(&id(&item))
                    .ok()
                    .flatten()
                    .map_or(0, PNCounter::value);
                format!("{item} × {quantity}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    println!("  {name:<6} {:?}: {cart}", client.status());
    cart
}

async fn settle(clients: &[(&str, &Client)]) -> bool {
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let carts: Vec<String> = clients
            .iter()
            .map(|(_, client)| {
                client.read(|collection| {
                    collection
                        .iter()
                        .map(|(id, object)| format!("{id}={:?}", object.encode().ok()))
                        .collect()
                })
            })
            .collect();
        if carts.windows(2).all(|pair| pair[0] == pair[1]) {
            return true;
        }
    }
    false
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let data = std::env::temp_dir().join(format!("crdt-relay-demo-{}", std::process::id()));
    let relay = match Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().expect("a literal address"),
        data_dir: Some(data.clone()),
        ..RelayConfig::default()
    })
    .await
    {
        Ok(relay) => relay,
        Err(error) => {
            eprintln!("cannot start the relay: {error}");
            return ExitCode::FAILURE;
        }
    };
    let url = format!("ws://{}", relay.local_addr());
    println!("relay listening on {url}, storing in {}", data.display());
    let clients: Vec<Client> = (0..3)
        .map(|_| connect(&url, "cart", "").expect("valid settings"))
        .collect();
    let (alice, bob, carol) = (&clients[0], &clients[1], &clients[2]);
    let all = [("alice", alice), ("bob", bob), ("carol", carol)];

    add(alice, "apples", 3);
    add(bob, "bread", 1);
    let converged = settle(&all).await;
    println!("alice and bob fill the cart (converged: {converged}):");
    for (name, client) in all {
        show(name, client);
    }

    println!("carol goes offline; meanwhile alice removes the bread and bob adds more apples:");
    carol.set_online(false);
    tokio::time::sleep(Duration::from_millis(100)).await;
    remove(alice, "bread");
    add(bob, "apples", 2);
    add(carol, "bread", 2);
    add(carol, "milk", 1);
    settle(&all[..2]).await;
    for (name, client) in all {
        show(name, client);
    }

    println!(
        "carol comes back: alice's remove had not seen carol's bread, so 2 bread stay (add wins)"
    );
    carol.set_online(true);
    let converged = settle(&all).await;
    let carts: Vec<String> = all
        .iter()
        .map(|(name, client)| show(name, client))
        .collect();
    relay.shutdown().await;
    let _ = std::fs::remove_dir_all(&data);
    if converged && carts.windows(2).all(|pair| pair[0] == pair[1]) {
        println!("all three carts are identical");
        ExitCode::SUCCESS
    } else {
        eprintln!("the carts differ");
        ExitCode::FAILURE
    }
}
