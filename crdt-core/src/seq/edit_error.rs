//! [`EditError`]: why a sequence edit was refused (nothing was changed).

use core::fmt;

use crate::causal::causality_error::CausalityError;
use crate::seq::position_error::PositionError;

/// Why an insert or delete of an [`Rga`](crate::Rga) or [`Text`](crate::Text) was refused;
/// in every case the sequence is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditError {
    /// The edit addressed a position past the end.
    Position(PositionError),
    /// The edit's events could not be named: the replica has reached the end of the counters
    /// the encoding carries.
    Causality(CausalityError),
}

impl From<PositionError> for EditError {
    fn from(error: PositionError) -> Self {
        Self::Position(error)
    }
}

impl From<CausalityError> for EditError {
    fn from(error: CausalityError) -> Self {
        Self::Causality(error)
    }
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Position(error) => error.fmt(f),
            Self::Causality(error) => error.fmt(f),
        }
    }
}

impl core::error::Error for EditError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Position(error) => Some(error),
            Self::Causality(error) => Some(error),
        }
    }
}
