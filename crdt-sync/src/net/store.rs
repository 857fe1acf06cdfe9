//! [`Store`]: one collection kept on disk in a redb database, so a replica restarts with
//! everything it acknowledged.
//!
//! ```
//! use crdt_core::GCounter;
//! use crdt_sync::net::store::Store;
//! use crdt_sync::object_id::ObjectId;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("site.redb");
//! let hits = ObjectId::new("hits").unwrap();
//! {
//!     let (mut store, mut site) = Store::open(&path, "site").unwrap();
//!     site.update(&hits, |counter: &mut GCounter, me| counter.increment(me, 3)).unwrap();
//!     let batch = store.prepare(&mut site);
//!     batch.write().unwrap(); // durable once this returns
//! }
//! let (_, site) = Store::open(&path, "site").unwrap();
//! assert_eq!(site.get_as::<GCounter>(&hits).unwrap().unwrap().value(), 3);
//! assert_eq!(site.log().head(), 1); // the log, with its numbers, survives too
//! ```
//!
//! What is kept: the replica id (created once, so peers' records of this replica stay true),
//! every object's canonical encoding, the delta log with its sequence numbers (numbers must
//! never be reused after a restart, or peers would skip new deltas as already seen), and each
//! peer's progress. Writing is split in two: [`Store::prepare`] takes what changed from the
//! collection (quick, under whatever lock guards it) and [`Batch::write`] commits it in one
//! transaction with immediate durability (an fsync), so a driver can commit off its event loop
//! and acknowledge only after the commit returned.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crdt_core::ReplicaId;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::collection::{Collection, PeerProgress};
use crate::delta_log::DeltaLog;
use crate::object::Object;
use crate::object_id::ObjectId;

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const OBJECTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("objects");
const LOG: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("log");
const PEERS: TableDefinition<'_, &[u8], (u64, u64)> = TableDefinition::new("peers");

/// The layout version written in `meta`; a store of another version is refused, not guessed at.
const FORMAT: u8 = 1;

/// One collection's database.
pub struct Store {
    path: PathBuf,
    db: std::sync::Arc<Database>,
    saved_head: u64,
    saved_base: u64,
    saved_peers: BTreeMap<ReplicaId, PeerProgress>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("saved_head", &self.saved_head)
            .finish_non_exhaustive()
    }
}

/// The changes of a collection not yet on disk, taken by [`Store::prepare`].
#[derive(Debug, Default)]
pub struct Batch {
    db: Option<std::sync::Arc<Database>>,
    objects: Vec<(ObjectId, Option<Vec<u8>>)>,
    log: Vec<(u64, Vec<u8>)>,
    base: Option<u64>,
    peers: Vec<(ReplicaId, PeerProgress)>,
    forgotten: Vec<ReplicaId>,
}

impl Batch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && self.log.is_empty()
            && self.base.is_none()
            && self.peers.is_empty()
    }
}

/// One stored log entry: the log's own fields, with the delta in its canonical encoding.
#[derive(Serialize, Deserialize)]
struct StoredEntry {
    id: ObjectId,
    origin: Option<ReplicaId>,
    delta: Object,
}

/// Why a store could not be opened, read or written.
#[derive(Debug)]
pub enum StoreError {
    /// The database failed (I/O, a corrupt file, a lock held by another process).
    Database(redb::Error),
    /// The file holds something this version cannot read.
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(error) => write!(f, "store: {error}"),
            Self::Corrupt { path, detail } => {
                write!(f, "store {}: {detail}", path.display())
            }
        }
    }
}

impl std::error::Error for StoreError {}

impl<E: Into<redb::Error>> From<E> for StoreError {
    fn from(error: E) -> Self {
        Self::Database(error.into())
    }
}

impl Store {
    /// Opens (or creates) the database at `path` and loads the collection `name` from it. A new
    /// database gets a fresh random replica id, written at once.
    pub fn open(path: &Path, name: &str) -> Result<(Self, Collection), StoreError> {
        let db = Database::create(path)?;
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.to_owned(),
            detail,
        };
        let write = db.begin_write()?;
        let replica = {
            let mut meta = write.open_table(META)?;
            write.open_table(OBJECTS)?;
            write.open_table(LOG)?;
            write.open_table(PEERS)?;
            let format = meta.get("format")?.map(|value| value.value().to_vec());
            match format.as_deref() {
                None => {
                    meta.insert("format", [FORMAT].as_slice())?;
                }
                Some([FORMAT]) => {}
                Some(other) => return Err(corrupt(format!("unknown format {other:?}"))),
            }
            let stored = meta.get("replica")?.map(|value| value.value().to_vec());
            match stored {
                Some(bytes) => {
                    let bytes: [u8; 16] = bytes
                        .try_into()
                        .map_err(|_| corrupt("a replica id that is not 16 bytes".into()))?;
                    ReplicaId::from_bytes(bytes)
                }
                None => {
                    let replica = ReplicaId::random();
                    meta.insert("replica", replica.as_bytes().as_slice())?;
                    replica
                }
            }
        };
        write.commit()?;

        let read = db.begin_read()?;
        let meta = read.open_table(META)?;
        let base = match meta.get("log_base")? {
            Some(value) => u64::from_le_bytes(
                value
                    .value()
                    .try_into()
                    .map_err(|_| corrupt("a log base that is not 8 bytes".into()))?,
            ),
            None => 0,
        };
        if base > u64::MAX / 2 {
            return Err(corrupt(format!("a log base of {base} is out of range")));
        }
        let mut objects = Vec::new();
        for row in read.open_table(OBJECTS)?.iter()? {
            let (id, encoding) = row?;
            let id = ObjectId::from_bytes(id.value().to_vec())
                .map_err(|error| corrupt(format!("object id: {error}")))?;
            let object = Object::decode(encoding.value())
                .map_err(|error| corrupt(format!("object {id}: {error}")))?;
            objects.push((id, object));
        }
        let mut log = DeltaLog::starting_after(base);
        for row in read.open_table(LOG)?.range(base + 1..)? {
            let (seq, bytes) = row?;
            let entry: StoredEntry = postcard::from_bytes(bytes.value())
                .map_err(|error| corrupt(format!("log entry {}: {error}", seq.value())))?;
            let size = entry.delta.encode().map_or(0, |bytes| bytes.len());
            let appended = log.append(entry.id, entry.delta, entry.origin, size);
            if appended != seq.value() {
                return Err(corrupt(format!(
                    "log entry {} where {appended} was expected",
                    seq.value()
                )));
            }
        }
        let mut peers = BTreeMap::new();
        for row in read.open_table(PEERS)?.iter()? {
            let (replica, progress) = row?;
            let (acked, received) = progress.value();
            let bytes: [u8; 16] = replica
                .value()
                .try_into()
                .map_err(|_| corrupt("a peer id that is not 16 bytes".into()))?;
            peers.insert(
                ReplicaId::from_bytes(bytes),
                PeerProgress { acked, received },
            );
        }
        let store = Self {
            path: path.to_owned(),
            db: std::sync::Arc::new(db),
            saved_head: log.head(),
            saved_base: log.base(),
            saved_peers: peers.clone(),
        };
        let collection = Collection::restore(name, replica, objects, log, peers);
        Ok((store, collection))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes what changed in `collection` since the last batch: changed objects, new log
    /// entries, the log's new start, and peers' progress.
    pub fn prepare(&mut self, collection: &mut Collection) -> Batch {
        let mut batch = Batch {
            db: Some(self.db.clone()),
            ..Batch::default()
        };
        for id in collection.take_unsaved() {
            // An object that fails to encode (impossible for string elements) is skipped
            // rather than stored half; anti-entropy restores it from a peer after a restart.
            let encoding = collection.get(&id).and_then(|object| object.encode().ok());
            batch.objects.push((id, encoding));
        }
        let log = collection.log();
        for entry in log.since(self.saved_head) {
            let stored = StoredEntry {
                id: entry.id.clone(),
                origin: entry.origin,
                delta: entry.delta.clone(),
            };
            if let Ok(bytes) = postcard::to_stdvec(&stored) {
                batch.log.push((entry.seq, bytes));
            }
        }
        self.saved_head = log.head();
        if log.base() != self.saved_base {
            batch.base = Some(log.base());
            self.saved_base = log.base();
        }
        for (peer, progress) in collection.peers() {
            if self.saved_peers.get(peer) != Some(progress) {
                batch.peers.push((*peer, *progress));
                self.saved_peers.insert(*peer, *progress);
            }
        }
        if self.saved_peers.len() > collection.peers().count() {
            let kept: std::collections::BTreeSet<&ReplicaId> =
                collection.peers().map(|(peer, _)| peer).collect();
            self.saved_peers.retain(|peer, _| {
                let keep = kept.contains(peer);
                if !keep {
                    batch.forgotten.push(*peer);
                }
                keep
            });
        }
        batch
    }
}

impl Batch {
    /// Commits the batch in one transaction with immediate durability. Blocking (it waits for
    /// the disk): call it off an async executor's threads; the batch carries its database, so
    /// it can be moved there. After an error, stop writing and reopen the store: the batch's
    /// changes are no longer tracked.
    pub fn write(self) -> Result<(), StoreError> {
        let Some(db) = self.db.as_ref() else {
            return Ok(());
        };
        if self.is_empty() {
            return Ok(());
        }
        let write = db.begin_write()?;
        {
            let mut objects = write.open_table(OBJECTS)?;
            for (id, encoding) in &self.objects {
                match encoding {
                    Some(bytes) => objects.insert(id.as_bytes(), bytes.as_slice())?,
                    None => objects.remove(id.as_bytes())?,
                };
            }
            let mut log = write.open_table(LOG)?;
            for (seq, bytes) in &self.log {
                log.insert(*seq, bytes.as_slice())?;
            }
            if let Some(base) = self.base {
                log.retain_in(..=base, |_, _| false)?;
                write
                    .open_table(META)?
                    .insert("log_base", base.to_le_bytes().as_slice())?;
            }
            let mut peers = write.open_table(PEERS)?;
            for (peer, progress) in &self.peers {
                peers.insert(
                    peer.as_bytes().as_slice(),
                    (progress.acked, progress.received),
                )?;
            }
            for peer in &self.forgotten {
                peers.remove(peer.as_bytes().as_slice())?;
            }
        }
        write.commit()?;
        Ok(())
    }
}
