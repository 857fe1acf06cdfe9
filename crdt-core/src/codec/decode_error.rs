//! [`DecodeError`]: why bytes could not be decoded into a value.

use core::fmt;

/// Why bytes could not be decoded. Decoding never panics and never trusts a length it has not
/// checked against the input, so every malformed input ends here.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is shorter than the two-byte envelope (type tag, format version).
    MissingEnvelope,
    /// The envelope names another type.
    WrongType {
        /// The tag of the type asked for.
        expected: u8,
        /// The tag found in the input.
        found: u8,
    },
    /// The envelope names a format version this build cannot read.
    UnsupportedVersion {
        /// The tag of the type being decoded.
        type_tag: u8,
        /// The version found in the input.
        found: u8,
        /// The newest version this build reads.
        supported: u8,
    },
    /// The envelope names an older format version of the type that this build refuses on
    /// purpose (see [`Codec::RETIRED_VERSIONS`](crate::Codec::RETIRED_VERSIONS)).
    RetiredVersion {
        /// The tag of the type being decoded.
        type_tag: u8,
        /// The version found in the input.
        found: u8,
        /// Why that version is no longer read.
        reason: &'static str,
    },
    /// The payload is not a valid postcard encoding of the type (truncated, bad varint, …).
    Malformed(postcard::Error),
    /// The payload decoded, but bytes follow it.
    TrailingBytes(usize),
    /// The payload decoded, but breaks an invariant of the type (what is named here).
    Invalid(&'static str),
    /// The payload decoded to a valid value, but is not that value's canonical encoding (an
    /// over-long varint or char, say): accepted bytes must be the only bytes of their value.
    NonCanonical,
}

impl DecodeError {
    pub(crate) const fn invalid(what: &'static str) -> Self {
        Self::Invalid(what)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingEnvelope => {
                f.write_str("input too short for the type tag and format version")
            }
            Self::WrongType { expected, found } => {
                write!(f, "expected type tag {expected}, found {found}")
            }
            Self::UnsupportedVersion {
                type_tag,
                found,
                supported,
            } => write!(
                f,
                "type {type_tag}: format version {found} is not supported (this build reads up to {supported})"
            ),
            Self::RetiredVersion {
                type_tag,
                found,
                reason,
            } => write!(
                f,
                "type {type_tag}: format version {found} is no longer supported: {reason}"
            ),
            Self::Malformed(error) => write!(f, "malformed payload: {error}"),
            Self::TrailingBytes(count) => write!(f, "{count} unexpected bytes after the value"),
            Self::Invalid(what) => write!(f, "invalid value: {what}"),
            Self::NonCanonical => f.write_str(
                "not the canonical encoding of the value it decodes to (an over-long number or character): equal values must have identical bytes",
            ),
        }
    }
}

impl core::error::Error for DecodeError {}
