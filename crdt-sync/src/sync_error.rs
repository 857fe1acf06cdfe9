//! [`SyncError`]: what can go wrong in the sync core, each cause named.

use core::fmt;

use crdt_core::{CausalityError, DecodeError, EditError, EncodeError, PositionError};

/// An error of the sync core.
#[derive(Debug)]
#[non_exhaustive]
pub enum SyncError {
    /// An object id that is empty, too long or not UTF-8.
    BadObjectId {
        /// Its length in bytes.
        len: usize,
    },
    /// A delta or object of one type was joined into an object of another.
    TypeMismatch {
        /// The type tag of the object held.
        held: u8,
        /// The type tag of what arrived.
        received: u8,
    },
    /// A version summary of another type than the object's.
    VersionMismatch {
        /// The type tag of the object held.
        held: u8,
    },
    /// An encoding failed (only an element type's own `Serialize` can fail).
    Encode(EncodeError),
    /// Bytes that do not decode.
    Decode(DecodeError),
    /// A peer's update that would make an object larger than the collection allows.
    ObjectTooLarge {
        /// The object's encoded size with the update.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A peer's update that would create an object beyond the collection's limit.
    TooManyObjects {
        /// The most objects allowed.
        limit: usize,
    },
    /// A frame that names one object twice (honest peers join deltas per object).
    DuplicateObject {
        /// The object's id.
        id: String,
    },
    /// A snapshot that cannot be made or restored, and why.
    Snapshot(String),
    /// A local edit that the data type refused, changing nothing: a position past the end of a
    /// sequence, or a replica at the end of its event counters.
    Edit(EditError),
    /// A delta too large to fit in one frame.
    DeltaTooLarge {
        /// Its encoded size.
        size: usize,
        /// The largest that fits.
        limit: usize,
    },
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadObjectId { len } => write!(
                f,
                "an object id must be 1 to 255 bytes of UTF-8 (got {len} bytes)"
            ),
            Self::TypeMismatch { held, received } => write!(
                f,
                "type mismatch: the object has type tag {held}, the update type tag {received}"
            ),
            Self::VersionMismatch { held } => {
                write!(
                    f,
                    "a version of another type for an object of type tag {held}"
                )
            }
            Self::Encode(error) => write!(f, "encoding failed: {error}"),
            Self::Decode(error) => write!(f, "decoding failed: {error}"),
            Self::ObjectTooLarge { size, limit } => write!(
                f,
                "the update would make the object {size} bytes, over the limit of {limit}"
            ),
            Self::TooManyObjects { limit } => write!(
                f,
                "the update would create an object beyond the limit of {limit} per collection"
            ),
            Self::DuplicateObject { id } => {
                write!(f, "the frame names object {id:?} more than once")
            }
            Self::Snapshot(reason) => write!(f, "snapshot: {reason}"),
            Self::Edit(error) => write!(f, "edit refused: {error}"),
            Self::DeltaTooLarge { size, limit } => write!(
                f,
                "a delta of {size} bytes does not fit in a frame (at most {limit}); split the edit"
            ),
        }
    }
}

impl std::error::Error for SyncError {}

impl From<EncodeError> for SyncError {
    fn from(error: EncodeError) -> Self {
        Self::Encode(error)
    }
}

impl From<DecodeError> for SyncError {
    fn from(error: DecodeError) -> Self {
        Self::Decode(error)
    }
}

impl From<EditError> for SyncError {
    fn from(error: EditError) -> Self {
        Self::Edit(error)
    }
}

impl From<CausalityError> for SyncError {
    fn from(error: CausalityError) -> Self {
        Self::Edit(error.into())
    }
}

impl From<PositionError> for SyncError {
    fn from(error: PositionError) -> Self {
        Self::Edit(error.into())
    }
}
