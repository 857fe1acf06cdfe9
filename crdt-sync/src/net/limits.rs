//! [`NetLimits`]: what one process lets its connections cost it.
//!
//! ```
//! use std::time::Duration;
//! use crdt_sync::net::limits::NetLimits;
//!
//! let limits = NetLimits { idle_timeout: Duration::from_secs(30), ..NetLimits::default() };
//! assert!(limits.validate().is_ok());
//! let broken = NetLimits { max_object_bytes: 8 << 20, ..NetLimits::default() };
//! assert!(broken.validate().is_err()); // an object must fit in a frame
//! ```
//!
//! Every limit has a default fit for a relay on a small machine, and every one is enforced
//! with a clear error frame before the connection closes: a frame over `max_frame_bytes`
//! (`FrameTooLarge`), an update past `max_objects` or `max_object_bytes` (`LimitExceeded`), a
//! peer whose queue stays full (`max_queue_bytes`) for `max_write_stall` (`Overloaded`; a full
//! queue pauses what is sent to that peer, so memory stays bounded meanwhile), silence longer than
//! `idle_timeout` (`Timeout`; both ends ping every third of it, so only a dead or stuck peer is
//! cut), and connections or open collections past their caps (refused before any state is touched).

use std::time::Duration;

use crate::collection::Limits;

/// The limits of a relay or a client (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NetLimits {
    /// The largest frame accepted or sent, in bytes.
    pub max_frame_bytes: usize,
    /// The most objects per collection.
    pub max_objects: usize,
    /// The largest canonical encoding of one object, in bytes.
    pub max_object_bytes: usize,
    /// The most bytes queued for one connection; while it is full, nothing more is made for
    /// that peer.
    pub max_queue_bytes: usize,
    /// How long a full queue may go without the peer reading from it before the peer is cut
    /// as too slow a reader.
    pub max_write_stall: Duration,
    /// How long a connection may stay silent (no frame, no pong) before it is closed.
    pub idle_timeout: Duration,
    /// How long a new connection may take to send its handshake.
    pub handshake_timeout: Duration,
    /// The most connections at once; more are refused with HTTP 503.
    pub max_connections: usize,
    /// The most collections open at once. Past it, a relay with a store closes its least
    /// recently used idle collection to open another, and refuses (`Overloaded`) only when
    /// every open one is in use; a relay without a store can close none, so it is the most
    /// collections it ever holds.
    pub max_collections: usize,
}

impl Default for NetLimits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 4 << 20,
            max_objects: 100_000,
            max_object_bytes: 1 << 20,
            max_queue_bytes: 16 << 20,
            max_write_stall: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_collections: 10_000,
        }
    }
}

impl NetLimits {
    /// The frame bytes kept for a message's own fields, beyond the objects it carries.
    const FRAME_OVERHEAD: usize = 64 << 10;

    /// Checks that the limits fit together: an object at its largest must fit in half a frame
    /// (what a session packs into one), and a queue must hold at least one frame.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_frame_bytes < 2 * Self::FRAME_OVERHEAD {
            return Err(format!(
                "the frame limit must be at least {} bytes",
                2 * Self::FRAME_OVERHEAD
            ));
        }
        if self.max_object_bytes > self.max_frame_bytes / 2 - Self::FRAME_OVERHEAD {
            return Err(format!(
                "an object of {} bytes would not fit in a frame of {} bytes; raise the frame \
                 limit to at least {} or lower the object limit",
                self.max_object_bytes,
                self.max_frame_bytes,
                2 * (self.max_object_bytes + Self::FRAME_OVERHEAD)
            ));
        }
        if self.max_frame_bytes > 1 << 30 {
            return Err("the frame limit must be at most 1 GiB".into());
        }
        if self.max_queue_bytes < self.max_frame_bytes {
            return Err("the queue limit must hold at least one frame".into());
        }
        if self.idle_timeout < Duration::from_millis(300) {
            return Err("the idle timeout must be at least 300 ms".into());
        }
        if self.max_objects == 0 || self.max_connections == 0 || self.max_collections == 0 {
            return Err("object, connection and collection limits must be at least 1".into());
        }
        Ok(())
    }

    /// The limits a collection applies to what peers send.
    pub fn collection_limits(&self) -> Limits {
        Limits {
            max_objects: self.max_objects,
            max_object_bytes: self.max_object_bytes,
        }
    }
}
