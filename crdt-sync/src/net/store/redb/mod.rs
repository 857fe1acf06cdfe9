//! [`RedbStore`]: every collection of a relay in one embedded redb database, so a relay
//! restarts with everything it acknowledged.
//!
//! ```
//! use crdt_core::PNCounter;
//! use crdt_sync::net::store::Store;
//! use crdt_sync::net::store::redb::RedbStore;
//! use crdt_sync::object_id::ObjectId;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = RedbStore::open(dir.path())?;
//! let stock = ObjectId::new("stock")?;
//! for cart in ["cart-1", "cart-2"] {
//!     let (mut handle, mut collection) = store.open(cart, true).await?.expect("created");
//!     collection.update(&stock, |n: &mut PNCounter, me| n.increment(me, 1))?;
//!     handle.prepare(&mut collection).expect("a change").await?;
//! }
//! assert_eq!(store.collections()?, ["cart-1", "cart-2"]);
//! # Ok(()) }
//! ```
//!
//! Layout: one file, `crdt-relay.db`, in the data directory, with tables keyed by collection
//! name first, so a collection is a few rows and costs no file handle. What is kept per
//! collection: its replica id (created once, so peers' records of this replica stay true),
//! every object's canonical encoding, the delta log with its sequence numbers (numbers must
//! never be reused after a restart, or peers would skip new deltas as already seen) and its
//! trimmed start, and each peer's progress.
//!
//! Commits: one writer thread takes every commit waiting and writes them in one transaction
//! with immediate durability (one fsync for all of them), then resolves each; reads (opens)
//! run beside it on their own read transactions. A data directory of the earlier layout, a
//! redb file per collection, is migrated into the database when the store opens (see
//! [`legacy`]).

mod handle;
pub mod legacy;
mod writer;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crdt_core::ReplicaId;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::collection::{Collection, PeerProgress};
use crate::delta_log::DeltaLog;
use crate::net::store::{CollectionStore, Opened, Store, StoreError, StoreFuture};
use crate::object::Object;
use crate::object_id::ObjectId;

use handle::RedbCollection;
use writer::{Change, Writer};

/// The database's file in the data directory. Not `*.redb`, so it cannot be taken for a
/// collection file of the earlier layout.
pub const FILE: &str = "crdt-relay.db";

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
/// Collection name → (replica id, the log's trimmed start).
const COLLECTIONS: TableDefinition<'_, &str, ([u8; 16], u64)> = TableDefinition::new("collections");
const OBJECTS: TableDefinition<'_, (&str, &[u8]), &[u8]> = TableDefinition::new("objects");
const LOG: TableDefinition<'_, (&str, u64), &[u8]> = TableDefinition::new("log");
const PEERS: TableDefinition<'_, (&str, &[u8]), (u64, u64)> = TableDefinition::new("peers");

/// The page cache a store gets unless told otherwise: enough for the working set of
/// thousands of open collections, far below redb's own default of 1 GiB, which a relay
/// holding a large file would otherwise grow into.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// The layout version written in `meta` (1 was a file per collection); a database of
/// another version is refused, not guessed at.
const FORMAT: u8 = 2;

/// One stored log entry: the log's own fields, with the delta in its canonical encoding.
#[derive(Serialize, Deserialize)]
struct StoredEntry {
    id: ObjectId,
    origin: Option<ReplicaId>,
    delta: Object,
}

/// A relay's collections in one redb database (see the module docs).
pub struct RedbStore {
    path: PathBuf,
    db: Mutex<Option<Arc<Database>>>,
    writer: Writer,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens (or creates) the store of the data directory `dir`, creating the directory if
    /// needed and migrating the collection files of the earlier layout into it, with a page
    /// cache of [`DEFAULT_CACHE_BYTES`]. Blocking.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// [`RedbStore::open`] with a page cache of at most `cache_bytes` (memory the relay may
    /// spend keeping pages of the file it read or wrote recently).
    pub fn open_with_cache(dir: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(&path)?;
        let write = db.begin_write()?;
        {
            let mut meta = write.open_table(META)?;
            write.open_table(COLLECTIONS)?;
            write.open_table(OBJECTS)?;
            write.open_table(LOG)?;
            write.open_table(PEERS)?;
            let format = meta.get("format")?.map(|value| value.value().to_vec());
            match format.as_deref() {
                None => {
                    meta.insert("format", [FORMAT].as_slice())?;
                }
                Some([FORMAT]) => {}
                Some(other) => {
                    return Err(StoreError::Corrupt {
                        place: path,
                        detail: format!("unknown layout version {other:?}"),
                    });
                }
            }
        }
        write.commit()?;
        legacy::migrate(dir, &db)?;
        let db = Arc::new(db);
        Ok(Self {
            writer: Writer::start(db.clone()),
            db: Mutex::new(Some(db)),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of every stored collection, sorted. Blocking.
    pub fn collections(&self) -> Result<Vec<String>, StoreError> {
        let db = self.database()?;
        let read = db.begin_read()?;
        let mut names = Vec::new();
        for row in read.open_table(COLLECTIONS)?.iter()? {
            names.push(row?.0.value().to_owned());
        }
        Ok(names)
    }

    fn database(&self) -> Result<Arc<Database>, StoreError> {
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or(StoreError::Closed)
    }
}

/// Reads the collection `name` in one read transaction; `None` if it is not stored.
fn load(db: &Database, path: &Path, name: &str) -> Result<Option<Collection>, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        place: path.to_owned(),
        detail: format!("{name}: {detail}"),
    };
    let read = db.begin_read()?;
    let Some((replica, base)) = read
        .open_table(COLLECTIONS)?
        .get(name)?
        .map(|row| row.value())
    else {
        return Ok(None);
    };
    if base > u64::MAX / 2 {
        return Err(corrupt(format!("a log base of {base} is out of range")));
    }
    let mut objects = Vec::new();
    for row in read.open_table(OBJECTS)?.range((name, &[][..])..)? {
        let (key, encoding) = row?;
        let (owner, id) = key.value();
        if owner != name {
            break;
        }
        let id = ObjectId::from_bytes(id.to_vec())
            .map_err(|error| corrupt(format!("object id: {error}")))?;
        let object = Object::decode(encoding.value())
            .map_err(|error| corrupt(format!("object {id}: {error}")))?;
        objects.push((id, object));
    }
    let mut log = DeltaLog::starting_after(base);
    for row in read
        .open_table(LOG)?
        .range((name, base + 1)..=(name, u64::MAX))?
    {
        let (key, bytes) = row?;
        let seq = key.value().1;
        let entry: StoredEntry = postcard::from_bytes(bytes.value())
            .map_err(|error| corrupt(format!("log entry {seq}: {error}")))?;
        let size = entry.delta.encode().map_or(0, |bytes| bytes.len());
        let appended = log.append(entry.id, entry.delta, entry.origin, size);
        if appended != seq {
            return Err(corrupt(format!(
                "log entry {seq} where {appended} was expected"
            )));
        }
    }
    let mut peers = BTreeMap::new();
    for row in read.open_table(PEERS)?.range((name, &[][..])..)? {
        let (key, progress) = row?;
        let (owner, peer) = key.value();
        if owner != name {
            break;
        }
        let peer: [u8; 16] = peer
            .try_into()
            .map_err(|_| corrupt("a peer id that is not 16 bytes".into()))?;
        let (acked, received) = progress.value();
        peers.insert(
            ReplicaId::from_bytes(peer),
            PeerProgress { acked, received },
        );
    }
    Ok(Some(Collection::restore(
        name,
        ReplicaId::from_bytes(replica),
        objects,
        log,
        peers,
    )))
}

impl Store for RedbStore {
    fn open<'a>(&'a self, name: &'a str, create: bool) -> StoreFuture<'a, Option<Opened>> {
        Box::pin(async move {
            let db = self.database()?;
            let (owned, path) = (name.to_owned(), self.path.clone());
            let loaded = tokio::task::spawn_blocking(move || load(&db, &path, &owned))
                .await
                .map_err(|_| StoreError::Closed)??;
            let collection = match loaded {
                Some(collection) => collection,
                None if create => {
                    let replica = ReplicaId::random();
                    self.writer.commit(Change::created(name, replica)).await?;
                    Collection::new(name, replica)
                }
                None => return Ok(None),
            };
            let handle = RedbCollection {
                name: name.to_owned(),
                writer: self.writer.clone(),
                saved_head: collection.log().head(),
                saved_base: collection.log().base(),
                saved_peers: collection
                    .peers()
                    .map(|(peer, progress)| (*peer, *progress))
                    .collect(),
            };
            Ok(Some((
                Box::new(handle) as Box<dyn CollectionStore>,
                collection,
            )))
        })
    }

    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.db
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            self.writer.stop().await;
        })
    }
}
