//! [`EditResult`]: what an edit given to [`Collection::update`](crate::collection::Collection::update)
//! returns — the delta of an infallible mutator (`remove`, `increment`), or the result of a
//! fallible one (`add`, `insert`), whose refusal becomes a [`SyncError`].
//!
//! ```
//! use crdt_core::AWSet;
//! use crdt_sync::collection::Collection;
//! use crdt_sync::object_id::ObjectId;
//!
//! let mut collection = Collection::new("groceries", crdt_core::ReplicaId::from_u128(1));
//! let basket = ObjectId::new("basket").unwrap();
//! collection.update(&basket, |set: &mut AWSet<String>, me| set.add(me, "pears".into())).unwrap();
//! collection.update(&basket, |set: &mut AWSet<String>, _| set.remove(&"pears".into())).unwrap();
//! ```

use crate::object::ObjectType;
use crate::sync_error::SyncError;

/// The outcome of an edit: its delta, or why the data type refused it.
pub trait EditResult<T> {
    /// The delta, or the refusal as a [`SyncError`].
    fn into_result(self) -> Result<T, SyncError>;
}

impl<T: ObjectType> EditResult<T> for T {
    fn into_result(self) -> Result<T, SyncError> {
        Ok(self)
    }
}

impl<T: ObjectType, E: Into<SyncError>> EditResult<T> for Result<T, E> {
    fn into_result(self) -> Result<T, SyncError> {
        self.map_err(Into::into)
    }
}
