//! The sync protocol of the CRDT toolkit, without I/O: collections of crdt-core objects, their
//! delta logs, sessions that gossip deltas with acknowledgements, Merkle anti-entropy, and a
//! deterministic network simulator that drives them all.
//!
//! ```
//! use crdt_core::{AWSet, ReplicaId};
//! use crdt_sync::object_id::ObjectId;
//! use crdt_sync::simulation::{SimConfig, Simulation};
//!
//! // Four replicas on a network that loses 10% and duplicates 5% of frames, with partitions.
//! let config = SimConfig { replicas: 4, seed: 7, loss: 0.1, duplicate: 0.05, partition_every_ms: 2_000, ops: 200, ..SimConfig::default() };
//! let report = Simulation::new(config).run();
//! assert!(report.converged, "{report:?}");
//! ```
//!
//! Layers, lowest first: [`object_id`] and [`object`] (what is replicated), [`delta_log`] and
//! [`merkle_index`] (what is kept about it), [`collection`] (one replica's copy), [`message`]
//! (the frames), [`reconcile`] (anti-entropy steps), [`session`] (the state machine per peer),
//! [`simulation`] (a seeded lossy network of sessions), and [`snapshot`] (a replica in one byte
//! string, for replicas without a store). `PROTOCOL.md` specifies the frames.
//! Behind the default `net` feature, `net` drives the same sessions over WebSockets: the
//! `crdt-relay` server with its redb store, and a native client.

#![deny(missing_docs)]

pub mod collection;
pub mod delta_log;
pub mod edit_result;
pub mod merkle_index;
pub mod message;
#[cfg(feature = "net")]
pub mod net;
pub mod object;
pub mod object_id;
pub mod reconcile;
pub mod session;
pub mod simulation;
pub mod snapshot;
pub mod sync_error;
