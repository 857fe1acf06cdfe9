//! [`EncodeError`]: why a value could not be encoded.

use core::fmt;

/// A value could not be encoded: an element type's own `Serialize` failed (postcard's reason
/// inside). The types of this crate themselves always encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError(pub postcard::Error);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "value could not be encoded: {}", self.0)
    }
}

impl core::error::Error for EncodeError {}
