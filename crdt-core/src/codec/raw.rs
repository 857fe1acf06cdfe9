//! Decoding through a raw form: a value is first deserialized into plain vectors and tuples
//! (whose sizes serde caps before allocating), then checked against its invariants. Values from
//! a peer are never trusted to be sorted, deduplicated or causally consistent.

use serde::de::{Deserialize, DeserializeOwned, Deserializer, Error as _};

use crate::codec::decode_error::DecodeError;

/// A type decoded by checking a raw, unvalidated form.
pub trait FromRaw: Sized {
    /// The unvalidated shape of the encoding.
    type Raw: DeserializeOwned;

    /// Checks `raw` against the invariants of the type.
    fn from_raw(raw: Self::Raw) -> Result<Self, DecodeError>;
}

/// The `Deserialize` body shared by every type with a raw form.
pub(crate) fn deserialize_via_raw<'de, T: FromRaw, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    let raw = T::Raw::deserialize(deserializer)?;
    T::from_raw(raw).map_err(D::Error::custom)
}
