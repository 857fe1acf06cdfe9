//! The binary encoding: postcard inside a versioned envelope.
//!
//! ```
//! use crdt_core::{Codec, GCounter, ReplicaId};
//!
//! let mut counter = GCounter::new();
//! counter.increment(ReplicaId::from_u128(1), 5);
//! let bytes = counter.encode().unwrap();
//! assert_eq!(bytes[..2], [GCounter::TYPE_TAG, GCounter::FORMAT_VERSION]);
//! assert_eq!(GCounter::decode(&bytes).unwrap(), counter);
//! assert!(GCounter::decode(&[0xff; 3]).is_err());
//! ```
//!
//! Layout: one byte of type tag, one byte of format version, then the postcard payload (see
//! `FORMAT.md` in the crate root for each type's payload). Encodings are canonical: equal values give
//! identical bytes (maps and sets are written sorted, replica ids once per value), so a digest
//! of the bytes identifies the state. Decoding checks the envelope, the payload and every
//! invariant of the type, and that the bytes are the value's canonical encoding (no over-long
//! varint or char: see [`canonical`]), and reports what failed as a [`DecodeError`]; it never
//! panics and allocates at most in proportion to the input.

pub mod canonical;
pub mod decode_error;
pub mod encode_error;
pub mod raw;

use alloc::vec::Vec;
use serde::Serialize;

use crate::codec::decode_error::DecodeError;
use crate::codec::encode_error::EncodeError;
use crate::codec::raw::FromRaw;

/// A value with a versioned binary encoding.
pub trait Codec: Serialize + FromRaw {
    /// The byte naming the type in the envelope (see [`type_tag`]).
    const TYPE_TAG: u8;
    /// The newest payload format this build writes and reads.
    const FORMAT_VERSION: u8;
    /// Older payload formats this build refuses on purpose, each with the reason a decoder
    /// reports ([`DecodeError::RetiredVersion`]). Any other version but
    /// [`Self::FORMAT_VERSION`] is [`DecodeError::UnsupportedVersion`].
    const RETIRED_VERSIONS: &'static [(u8, &'static str)] = &[];

    /// The canonical encoding: envelope then postcard payload.
    ///
    /// The types of this crate always serialize; the error comes only from an element type
    /// whose own `Serialize` fails (for example one that writes a sequence of unknown length).
    fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let envelope = Vec::from([Self::TYPE_TAG, Self::FORMAT_VERSION]);
        postcard::to_extend(self, envelope).map_err(EncodeError)
    }

    /// Decodes bytes from any source, checking everything.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let [tag, version, payload @ ..] = bytes else {
            return Err(DecodeError::MissingEnvelope);
        };
        if *tag != Self::TYPE_TAG {
            return Err(DecodeError::WrongType {
                expected: Self::TYPE_TAG,
                found: *tag,
            });
        }
        if let Some((_, reason)) = Self::RETIRED_VERSIONS
            .iter()
            .find(|(retired, _)| retired == version)
        {
            return Err(DecodeError::RetiredVersion {
                type_tag: *tag,
                found: *version,
                reason,
            });
        }
        if *version != Self::FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                type_tag: *tag,
                found: *version,
                supported: Self::FORMAT_VERSION,
            });
        }
        let (raw, rest) =
            postcard::take_from_bytes::<Self::Raw>(payload).map_err(DecodeError::Malformed)?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes(rest.len()));
        }
        let value = Self::from_raw(raw)?;
        if !canonical::is_encoding_of(&value, payload) {
            return Err(DecodeError::NonCanonical);
        }
        Ok(value)
    }
}

/// The envelope's type tag of an `ORMap` whose values are `Self`.
///
/// Maps of causal counters have their own tag, so that a collection holding maps of both
/// kinds can tell them apart from the bytes alone; maps of the other value types keep
/// [`type_tag::OR_MAP`].
pub trait MapValueTag {
    /// The tag of `ORMap<_, Self>`.
    const MAP_TYPE_TAG: u8;
}

/// The type tags of the envelope, one per encoded type. Never reuse a retired tag.
pub mod type_tag {
    /// [`crate::VersionVector`].
    pub const VERSION_VECTOR: u8 = 1;
    /// [`crate::CausalContext`].
    pub const CAUSAL_CONTEXT: u8 = 2;
    /// [`crate::GCounter`].
    pub const G_COUNTER: u8 = 3;
    /// [`crate::PNCounter`].
    pub const PN_COUNTER: u8 = 4;
    /// [`crate::LwwRegister`].
    pub const LWW_REGISTER: u8 = 5;
    /// [`crate::MvRegister`].
    pub const MV_REGISTER: u8 = 6;
    /// [`crate::AWSet`].
    pub const AW_SET: u8 = 7;
    /// [`crate::ORMap`].
    pub const OR_MAP: u8 = 8;
    /// [`crate::Rga`].
    pub const RGA: u8 = 9;
    /// [`crate::Text`].
    pub const TEXT: u8 = 10;
    /// [`crate::CausalCounter`].
    pub const CAUSAL_COUNTER: u8 = 11;
    /// [`crate::ORMap`] of [`crate::CausalCounter`] values.
    pub const COUNTER_MAP: u8 = 12;
}
