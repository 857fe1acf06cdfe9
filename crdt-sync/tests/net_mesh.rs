//! Native clients on two or three relays peered in a line or a mesh: concurrent edits on every
//! client converge everywhere, including edits made offline.

mod net_support;

use crdt_core::{AWSet, PNCounter};
use crdt_sync::net::client::Client;
use crdt_sync::object_id::ObjectId;
use net_support::{client, eventually, relay, url};

fn fingerprint(client: &Client) -> Vec<(String, Vec<u8>)> {
    client.read(|collection| {
        collection
            .iter()
            .map(|(id, object)| (id.to_string(), object.encode().unwrap()))
            .collect()
    })
}

async fn edit_concurrently(clients: &[Client], tag: &str, rounds: usize) {
    let cart = ObjectId::new("cart").unwrap();
    let total = ObjectId::new("total").unwrap();
    for round in 0..rounds {
        for (index, client) in clients.iter().enumerate() {
            client
                .update(&cart, |items: &mut AWSet<String>, me| {
                    items.add(me, format!("{tag}-{index}-{round}"))
                })
                .unwrap();
            client
                .update(&total, |n: &mut PNCounter, me| n.increment(me, 1))
                .unwrap();
        }
        tokio::task::yield_now().await;
    }
}

async fn assert_converged(clients: &[Client], expected_items: usize, expected_total: i128) {
    let cart = ObjectId::new("cart").unwrap();
    let total = ObjectId::new("total").unwrap();
    eventually(30, "every client has every edit", || async {
        clients.iter().all(|client| {
            let items = client
                .get_as::<AWSet<String>>(&cart)
                .unwrap()
                .map_or(0, |set| set.len());
            let sum = client
                .get_as::<PNCounter>(&total)
                .unwrap()
                .map_or(0, |n| n.value());
            items == expected_items && sum == expected_total
        })
    })
    .await;
    let first = fingerprint(&clients[0]);
    for client in &clients[1..] {
        assert_eq!(fingerprint(client), first, "replicas differ byte for byte");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_a_line_of_three_relays_converge() {
    // a <- b <- c: b dials a, c dials b; clients sit on both ends and the middle.
    let a = relay(vec![]).await;
    let b = relay(vec![url(&a)]).await;
    let c = relay(vec![url(&b)]).await;
    let clients: Vec<Client> = [&a, &b, &c, &a, &c]
        .iter()
        .map(|relay| client(&url(relay), "shop", ""))
        .collect();
    edit_concurrently(&clients, "a", 20).await;
    assert_converged(&clients, 5 * 20, 5 * 20).await;
    for relay in [a, b, c] {
        relay.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_a_mesh_converge_after_offline_edits() {
    let a = relay(vec![]).await;
    let b = relay(vec![url(&a)]).await;
    let c = relay(vec![url(&a), url(&b)]).await;
    let clients: Vec<Client> = [&a, &b, &c]
        .iter()
        .map(|relay| client(&url(relay), "shop", ""))
        .collect();
    edit_concurrently(&clients, "a", 5).await;
    assert_converged(&clients, 15, 15).await;

    // Everyone goes offline, edits the same objects, and comes back.
    for client in &clients {
        client.set_online(false);
    }
    edit_concurrently(&clients, "b", 10).await;
    let cart = ObjectId::new("cart").unwrap();
    clients[0]
        .update(&cart, |items: &mut AWSet<String>, _| {
            items.remove(&"a-1-0".to_string())
        })
        .unwrap();
    // A remove concurrent with a re-add of the same item: the add wins.
    clients[2]
        .update(&cart, |items: &mut AWSet<String>, _| {
            items.remove(&"a-0-0".to_string())
        })
        .unwrap();
    clients[0]
        .update(&cart, |items: &mut AWSet<String>, me| {
            items.add(me, "a-0-0".to_string())
        })
        .unwrap();
    for client in &clients {
        client.set_online(true);
    }
    // The remove saw a-1-0 and nothing re-added it, so it goes; a-0-0 stays.
    assert_converged(&clients, 15 + 30 - 1, 45).await;
    let items = clients[1].get_as::<AWSet<String>>(&cart).unwrap().unwrap();
    assert!(items.contains(&"a-0-0".to_string()) && !items.contains(&"a-1-0".to_string()));
    for relay in [a, b, c] {
        relay.shutdown().await;
    }
}
