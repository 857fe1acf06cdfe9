//! [`PositionError`]: an edit addressed a position outside the sequence.

use core::fmt;

/// An edit addressed a position outside the sequence; nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionError {
    /// The end of the range the edit addressed (the position, for an insert).
    pub end: u64,
    /// The length of the sequence.
    pub len: u64,
}

impl fmt::Display for PositionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "position {} is past the end of a sequence of length {}",
            self.end, self.len
        )
    }
}

impl core::error::Error for PositionError {}
