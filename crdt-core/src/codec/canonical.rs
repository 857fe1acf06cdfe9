//! Canonical bytes: whether bytes are exactly the encoding of the value they decoded to.
//!
//! ```
//! use crdt_core::codec::canonical::is_encoding_of;
//!
//! assert!(is_encoding_of(&5u64, &[0x05]));
//! // postcard reads 5 written in two bytes, but that is not how 5 is written.
//! assert!(!is_encoding_of(&5u64, &[0x85, 0x00]));
//! ```
//!
//! Postcard's decoder is lenient where its encoder is not: it reads over-long varints
//! (`85 00` for 5) and over-long `char`s (a length of up to 4 with the first character of the
//! bytes kept). Decoders of untrusted bytes check each input against the value's encoding, so
//! that accepted bytes are the canonical bytes and a digest of them identifies the value. The
//! check re-encodes into a comparison, not a buffer: it allocates nothing and stops at the
//! first byte that differs.

use postcard::ser_flavors::Flavor;
use serde::Serialize;

/// Whether `bytes` are exactly postcard's encoding of `value`, nothing more or less.
pub fn is_encoding_of<T: Serialize + ?Sized>(value: &T, bytes: &[u8]) -> bool {
    postcard::serialize_with_flavor(value, Expect { rest: bytes }).unwrap_or(false)
}

/// A serializer output that compares what is written with the bytes still expected, and fails
/// (which ends the serialization) at the first difference.
struct Expect<'a> {
    rest: &'a [u8],
}

impl Flavor for Expect<'_> {
    /// Whether every expected byte was written.
    type Output = bool;

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        match self.rest.strip_prefix(data) {
            Some(rest) => {
                self.rest = rest;
                Ok(())
            }
            None => Err(postcard::Error::SerializeBufferFull),
        }
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.try_extend(&[data])
    }

    fn finalize(self) -> postcard::Result<bool> {
        Ok(self.rest.is_empty())
    }
}
