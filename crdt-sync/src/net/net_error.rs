//! [`NetError`]: why a client or a relay could not start.

use std::fmt;

use crate::net::store::StoreError;

/// An error starting a client or a relay, or opening a collection.
#[derive(Debug)]
#[non_exhaustive]
pub enum NetError {
    /// A URL that is not a `ws://host[:port][/path]`.
    BadUrl(String),
    /// A collection name that is empty, too long, or has control characters.
    BadCollection(String),
    /// Limits that do not fit together.
    BadLimits(String),
    /// An access rule or configuration file that does not parse.
    BadConfig(String),
    /// The relay holds as many collections as it may.
    TooManyCollections(usize),
    /// A collection this relay does not hold, asked for by a peer that may not create it.
    UnknownCollection(String),
    /// A socket or file operation failed.
    Io(std::io::Error),
    /// The store failed.
    Store(StoreError),
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadUrl(detail) => write!(f, "bad URL {detail}"),
            Self::BadCollection(detail) => write!(f, "bad collection name: {detail}"),
            Self::BadLimits(detail) => write!(f, "bad limits: {detail}"),
            Self::BadConfig(detail) => write!(f, "bad configuration: {detail}"),
            Self::TooManyCollections(limit) => {
                write!(
                    f,
                    "the relay already holds its limit of {limit} collections"
                )
            }
            Self::UnknownCollection(name) => write!(
                f,
                "no collection {name:?} here, and a read-only token cannot create one"
            ),
            Self::Io(error) => write!(f, "{error}"),
            Self::Store(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for NetError {}

impl From<std::io::Error> for NetError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<StoreError> for NetError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// The longest collection name, in bytes.
pub const MAX_COLLECTION_NAME: usize = 128;

/// Checks a collection name: 1 to [`MAX_COLLECTION_NAME`] bytes, no control characters.
pub fn validate_collection_name(name: &str) -> Result<(), NetError> {
    if name.is_empty() || name.len() > MAX_COLLECTION_NAME {
        return Err(NetError::BadCollection(format!(
            "{} bytes; a name has 1 to {MAX_COLLECTION_NAME}",
            name.len()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(NetError::BadCollection(format!(
            "{name:?} has control characters"
        )));
    }
    Ok(())
}
