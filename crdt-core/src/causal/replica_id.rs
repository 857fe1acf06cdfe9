//! [`ReplicaId`]: the identity of one replica, a UUID created once and persisted by its owner.
//!
//! ```
//! use crdt_core::ReplicaId;
//!
//! let alice = ReplicaId::from_u128(1);
//! let bob = ReplicaId::from_u128(2);
//! assert!(alice < bob);
//! assert_eq!(alice.to_string(), "00000000-0000-0000-0000-000000000001");
//! assert_eq!(format!("{alice:?}"), "R1");
//! ```
//!
//! Every dot, version-vector entry and timestamp names its replica with this id. Two live
//! replicas must never share an id: a replica that forgets its state must take a fresh one.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// The identity of one replica: a UUID, ordered by its bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplicaId(Uuid);

impl ReplicaId {
    /// A fresh random (version 4) id. Create it once per replica and persist it.
    #[cfg(feature = "std")]
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// The id with these 16 bytes, for ids persisted or made elsewhere.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    /// The id whose bytes are this number, big-endian: handy for tests and examples.
    pub const fn from_u128(value: u128) -> Self {
        Self(Uuid::from_u128(value))
    }

    /// The 16 bytes of this id.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl From<Uuid> for ReplicaId {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl From<ReplicaId> for Uuid {
    fn from(id: ReplicaId) -> Self {
        id.0
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for ReplicaId {
    /// `R` and the id as one hexadecimal number without leading zeros: every bit is shown, so
    /// two different ids never print the same, and the small ids of tests stay short (`R1`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{:x}", self.0.as_u128())
    }
}

/// Binary formats get the 16 raw bytes; human-readable ones the hyphenated string.
impl Serialize for ReplicaId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(&self.0.hyphenated())
        } else {
            self.as_bytes().serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for ReplicaId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = <&str>::deserialize(deserializer)?;
            Uuid::parse_str(text)
                .map(Self)
                .map_err(serde::de::Error::custom)
        } else {
            <[u8; 16]>::deserialize(deserializer).map(Self::from_bytes)
        }
    }
}
