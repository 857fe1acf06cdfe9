//! The network layer (feature `net`, on by default): WebSocket transports on tokio and
//! tokio-tungstenite, the redb store, the relay server and the native client.
//!
//! ```no_run
//! use crdt_core::PNCounter;
//! use crdt_sync::net::client::connect;
//! use crdt_sync::net::relay::{Relay, RelayConfig};
//! use crdt_sync::object_id::ObjectId;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let relay = Relay::start(RelayConfig { listen: "127.0.0.1:0".parse()?, ..RelayConfig::default() }).await?;
//! let url = format!("ws://{}", relay.local_addr());
//! let (alice, bob) = (connect(&url, "shop", "")?, connect(&url, "shop", "")?);
//! let stock = ObjectId::new("stock")?;
//! alice.update(&stock, |n: &mut PNCounter, me| n.increment(me, 5))?;
//! bob.update(&stock, |n: &mut PNCounter, me| n.decrement(me, 2))?;
//! // … both soon read 3.
//! # Ok(()) }
//! ```
//!
//! Layers, lowest first: [`limits`], [`access`], [`metrics`] and [`store`] (what a process
//! allows, grants, counts and keeps); the hub (one task per collection that drives the sans-IO
//! [`crate::session::Session`]s and commits before it acknowledges); connections (one
//! WebSocket each) and the [`dialer`] (outgoing, with reconnection); then the two ends built
//! on them, [`relay`] and [`client`].

pub mod access;
pub mod client;
mod connection;
pub mod dialer;
mod hub;
pub mod limits;
pub mod metrics;
pub mod net_error;
mod registry;
pub mod relay;
pub mod store;

pub use hub::LinkStatus;
