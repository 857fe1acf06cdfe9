//! Helpers for the network tests: relays on loopback ports, clients, bounded waits.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use crdt_sync::net::client::{Client, ClientConfig};
use crdt_sync::net::dialer::Backoff;
use crdt_sync::net::limits::NetLimits;
use crdt_sync::net::relay::{Relay, RelayConfig};

/// A relay on a free loopback port, in memory, open, peering with `peers`.
pub async fn relay(peers: Vec<String>) -> Relay {
    Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        peers,
        anti_entropy_every_ms: 2_000,
        ..RelayConfig::default()
    })
    .await
    .expect("relay starts")
}

/// The WebSocket URL of a relay.
pub fn url(relay: &Relay) -> String {
    format!("ws://{}", relay.local_addr())
}

/// A client of `collection` at `url` with quick reconnection.
pub fn client(url: &str, collection: &str, token: &str) -> Client {
    Client::start(ClientConfig {
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(500),
        },
        anti_entropy_every_ms: 2_000,
        limits: NetLimits::default(),
        ..ClientConfig::new(url, collection, token)
    })
    .expect("client starts")
}

/// Polls `check` every 20 ms until it holds, failing the test after `secs` seconds.
pub async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
