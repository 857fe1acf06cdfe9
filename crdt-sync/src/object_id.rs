//! [`ObjectId`]: the name of one object in a collection.
//!
//! ```
//! use crdt_sync::object_id::ObjectId;
//!
//! let cart = ObjectId::new("cart/items").unwrap();
//! assert_eq!(cart.as_str(), "cart/items");
//! assert!(ObjectId::new("").is_err());
//! assert!(ObjectId::new("x".repeat(ObjectId::MAX_LEN + 1)).is_err());
//! ```
//!
//! Ids are non-empty UTF-8 strings of at most [`ObjectId::MAX_LEN`] bytes, ordered byte-wise.
//! Anti-entropy keeps them sorted and splits the id space at byte-string bounds, which is why an
//! id also borrows as `[u8]`.

use core::borrow::Borrow;
use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sync_error::SyncError;

/// A validated object name: non-empty UTF-8, at most [`ObjectId::MAX_LEN`] bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(String);

impl ObjectId {
    /// The longest id, in bytes: long enough for paths, short enough to keep id lists cheap.
    pub const MAX_LEN: usize = 255;

    /// Checks and wraps a name.
    pub fn new(name: impl Into<String>) -> Result<Self, SyncError> {
        let name = name.into();
        if name.is_empty() || name.len() > Self::MAX_LEN {
            return Err(SyncError::BadObjectId { len: name.len() });
        }
        Ok(Self(name))
    }

    /// Checks bytes from a peer: they must be a valid id.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SyncError> {
        let len = bytes.len();
        String::from_utf8(bytes)
            .map_err(|_| SyncError::BadObjectId { len })
            .and_then(Self::new)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name's bytes, in the order ids sort by.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Borrow<[u8]> for ObjectId {
    fn borrow(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl TryFrom<&str> for ObjectId {
    type Error = SyncError;

    fn try_from(name: &str) -> Result<Self, SyncError> {
        Self::new(name)
    }
}

impl Serialize for ObjectId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ObjectId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::new(name).map_err(serde::de::Error::custom)
    }
}
