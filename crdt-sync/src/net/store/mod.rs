//! Stores: where a relay keeps its collections, behind one trait with a folder per backend.
//!
//! ```
//! use crdt_core::GCounter;
//! use crdt_sync::net::store::Store;
//! use crdt_sync::net::store::redb::RedbStore;
//! use crdt_sync::object_id::ObjectId;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let hits = ObjectId::new("hits")?;
//! {
//!     let store = RedbStore::open(dir.path())?;
//!     let (mut handle, mut site) = store.open("site", true).await?.expect("created");
//!     site.update(&hits, |counter: &mut GCounter, me| counter.increment(me, 3))?;
//!     if let Some(commit) = handle.prepare(&mut site) {
//!         commit.await?; // durable once this returns
//!     }
//!     store.close().await;
//! }
//! let store = RedbStore::open(dir.path())?;
//! let (_, site) = store.open("site", false).await?.expect("stored");
//! assert_eq!(site.get_as::<GCounter>(&hits)?.unwrap().value(), 3);
//! assert!(store.open("elsewhere", false).await?.is_none()); // nothing is created unasked
//! # Ok(()) }
//! ```
//!
//! A [`Store`] holds any number of collections; [`Store::open`] loads one and returns the
//! [`CollectionStore`] its owner (a relay's hub) writes through. Writing is split in two:
//! [`CollectionStore::prepare`] takes what changed from the collection (quick, under whatever
//! lock guards it) and returns the commit, a future that resolves once the change is durable,
//! so a driver acknowledges only after it resolved. A backend may gather the commits of many
//! collections into one transaction (a group commit): that is what makes thousands of small
//! collections cheap.
//!
//! Backends: [`redb`], one embedded database per relay (the default), and [`postgres`], one
//! database shared by any number of relays, which then serve the same collections at once. A
//! third backend is one more folder implementing the two traits.

pub mod postgres;
pub mod redb;
mod store_error;

use std::future::Future;
use std::pin::Pin;

use crate::collection::Collection;
use crate::object::Object;
use crate::object_id::ObjectId;

pub use store_error::StoreError;

/// A future a store returns: `Send`, so a driver can await it on any executor thread.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A collection loaded from a store, with the handle its changes are written through.
pub type Opened = (Box<dyn CollectionStore>, Collection);

/// A backend that holds any number of collections.
pub trait Store: Send + Sync + 'static {
    /// Loads the collection `name`. If the store does not hold it, creates it (with a fresh
    /// replica id, written at once) when `create` is true and returns `None` otherwise.
    /// While a collection is open, its handle is the only writer of it: open it once.
    fn open<'a>(&'a self, name: &'a str, create: bool) -> StoreFuture<'a, Option<Opened>>;

    /// Finishes every commit already handed to the store and releases its files and
    /// connections; opens after it fail.
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// What other writers of a shared store committed to a collection since it was last read.
#[derive(Debug, Default)]
pub struct CatchUp {
    /// Deltas (or whole states) to join into the collection, oldest first.
    pub objects: Vec<(ObjectId, Object)>,
    /// Whether more wait: read again at once.
    pub more: bool,
}

/// One open collection's link to its store.
pub trait CollectionStore: Send {
    /// Takes what changed in `collection` since the last call and returns the commit that
    /// makes it durable, or `None` if nothing changed. Commits resolve in the order they
    /// were prepared. After an error, close the collection and open it again: the failed
    /// commit's changes are no longer tracked.
    fn prepare(&mut self, collection: &mut Collection) -> Option<StoreFuture<'static, ()>>;

    /// Resolves when, in a store other relays write too, one of them may have committed to
    /// this collection: a wake-up only, since [`CollectionStore::catch_up`] reads what is new
    /// by position, so a wake-up lost or repeated loses or doubles nothing. Never resolves
    /// for a store this relay alone writes.
    fn changed(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::pending())
    }

    /// Reads what other writers committed since the last read. The driver joins it into the
    /// collection as coming from the collection's own replica id (no peer may use that id),
    /// which marks it as already stored: [`CollectionStore::prepare`] does not write it back.
    fn catch_up(&mut self) -> StoreFuture<'static, CatchUp> {
        Box::pin(async { Ok(CatchUp::default()) })
    }
}
