//! [`StoreError`]: why a store could not be opened, read or written.

use std::fmt;
use std::path::PathBuf;

/// Why a store could not be opened, read or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The embedded database failed (I/O, a corrupt file, a lock held by another process).
    Redb(redb::Error),
    /// PostgreSQL refused a query, or the connection to it failed.
    Postgres(tokio_postgres::Error),
    /// No connection to PostgreSQL could be had (the server is down or unreachable).
    Unavailable(String),
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
            Self::Postgres(error) => match error.as_db_error() {
                Some(db) => write!(f, "PostgreSQL: {}: {}", db.code().code(), db.message()),
                None => write!(f, "PostgreSQL: {error}"),
            },
            Self::Unavailable(detail) => write!(f, "PostgreSQL unavailable: {detail}"),
            Self::Corrupt { place, detail } => {
                write!(f, "store {}: {detail}", place.display())
            }
            Self::Commit(detail) => write!(f, "store: a commit failed: {detail}"),
            Self::Closed => write!(f, "store: closed"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Postgres(error)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(error) => Self::Postgres(error),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// The errors of redb's calls, each kept as the one `redb::Error` it converts to.
macro_rules! from_redb {
    ($($error:ty),*) => {
        $(impl From<$error> for StoreError {
            fn from(error: $error) -> Self {
                Self::Redb(error.into())
            }
        })*
    };
}

from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    std::io::Error
);
