//! [`StoreError`]: why a store could not be opened, read or written.

use std::fmt;
use std::path::PathBuf;

/// Why a store could not be opened, read or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The embedded database failed (I/O, a corrupt file, a lock held by another process).
    Redb(redb::Error),
    /// The store holds something this version cannot read.
    Corrupt {
        /// The database (a file, or a server's address).
        place: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A commit failed; nothing of it was written.
    Commit(String),
    /// The store was closed, or its writer stopped.
    Closed,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redb(error) => write!(f, "store: {error}"),
            Self::Corrupt { place, detail } => {
                write!(f, "store {}: {detail}", place.display())
            }
            Self::Commit(detail) => write!(f, "store: a commit failed: {detail}"),
            Self::Closed => write!(f, "store: closed"),
        }
    }
}

impl std::error::Error for StoreError {}

impl<E: Into<redb::Error>> From<E> for StoreError {
    fn from(error: E) -> Self {
        Self::Redb(error.into())
    }
}
