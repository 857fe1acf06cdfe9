//! The earlier layout of a data directory, one redb file per collection, and its migration
//! into the relay's one database.
//!
//! ```
//! use crdt_sync::net::store::redb::legacy::{collection_of_file, file_name};
//!
//! assert_eq!(file_name("carts/42"), "carts%2F42.redb");
//! assert_eq!(collection_of_file("carts%2F42.redb").as_deref(), Some("carts/42"));
//! assert_eq!(collection_of_file("crdt-relay.db"), None);
//! ```
//!
//! A collection file held the tables `meta` (`format` = 1, `replica`, `log_base`),
//! `objects`, `log` and `peers`, with the rows the one database now keys by collection name.
//! [`migrate`] copies every such file into the database, a few hundred per transaction, and
//! deletes each file only once its copy is durable. A file whose collection the database
//! already holds is a migration interrupted after its commit: it is deleted without being
//! copied again, so a newer state is never overwritten by an older one.

use std::path::Path;

use crdt_core::ReplicaId;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{COLLECTIONS, LOG, OBJECTS, PEERS};
use crate::net::store::StoreError;

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const OBJECTS_V1: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("objects");
const LOG_V1: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("log");
const PEERS_V1: TableDefinition<'_, &[u8], (u64, u64)> = TableDefinition::new("peers");

/// How many collection files one transaction copies.
const FILES_PER_COMMIT: usize = 256;

/// The file that held a collection in the earlier layout: its name with every byte outside
/// `[A-Za-z0-9_-]` escaped as `%XX`, then `.redb`.
pub fn file_name(collection: &str) -> String {
    let mut name = String::with_capacity(collection.len() + 5);
    for byte in collection.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name.push_str(".redb");
    name
}

/// The collection a file of the earlier layout held, if the file is one.
pub fn collection_of_file(file: &str) -> Option<String> {
    let stem = file.strip_suffix(".redb")?;
    let mut bytes = Vec::with_capacity(stem.len());
    let mut rest = stem.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    let name = String::from_utf8(bytes).ok()?;
    (file_name(&name) == file).then_some(name)
}

/// One collection file's rows, read whole (collections of that layout were small).
struct Rows {
    name: String,
    replica: [u8; 16],
    base: u64,
    objects: Vec<(Vec<u8>, Vec<u8>)>,
    log: Vec<(u64, Vec<u8>)>,
    peers: Vec<(Vec<u8>, (u64, u64))>,
}

/// Copies every collection file of `dir` into `db` and deletes it; returns how many
/// collections were copied. A file that cannot be read stops the migration with an error
/// and stays where it is.
pub fn migrate(dir: &Path, db: &Database) -> Result<usize, StoreError> {
    let io = |error: std::io::Error| StoreError::Redb(error.into());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if let Some(name) = entry.file_name().to_str().and_then(collection_of_file) {
            files.push((name, entry.path()));
        }
    }
    files.sort();
    let mut copied = 0;
    for chunk in files.chunks(FILES_PER_COMMIT) {
        let mut rows = Vec::new();
        {
            let read = db.begin_read()?;
            let collections = read.open_table(COLLECTIONS)?;
            for (name, path) in chunk {
                if collections.get(name.as_str())?.is_none() {
                    rows.push(read_file(name, path)?);
                }
            }
        }
        let write = db.begin_write()?;
        {
            let mut collections = write.open_table(COLLECTIONS)?;
            let mut objects = write.open_table(OBJECTS)?;
            let mut log = write.open_table(LOG)?;
            let mut peers = write.open_table(PEERS)?;
            for file in &rows {
                let name = file.name.as_str();
                collections.insert(name, (file.replica, file.base))?;
                for (id, encoding) in &file.objects {
                    objects.insert((name, id.as_slice()), encoding.as_slice())?;
                }
                for (seq, entry) in &file.log {
                    log.insert((name, *seq), entry.as_slice())?;
                }
                for (peer, progress) in &file.peers {
                    peers.insert((name, peer.as_slice()), *progress)?;
                }
            }
        }
        write.commit()?;
        copied += rows.len();
        for (name, path) in chunk {
            std::fs::remove_file(path).map_err(io)?;
            tracing::info!(collection = %name, file = %path.display(), "collection file migrated");
        }
    }
    Ok(copied)
}

fn read_file(name: &str, path: &Path) -> Result<Rows, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        place: path.to_owned(),
        detail,
    };
    let db = Database::open(path)?;
    let read = db.begin_read()?;
    let meta = read.open_table(META)?;
    let format = meta.get("format")?.map(|value| value.value().to_vec());
    if format.as_deref() != Some(&[1]) {
        return Err(corrupt(format!("unknown format {format:?}")));
    }
    let replica: [u8; 16] = meta
        .get("replica")?
        .map(|value| value.value().to_vec())
        .unwrap_or_else(|| ReplicaId::random().as_bytes().to_vec())
        .try_into()
        .map_err(|_| corrupt("a replica id that is not 16 bytes".into()))?;
    let base = match meta.get("log_base")? {
        Some(value) => u64::from_le_bytes(
            value
                .value()
                .try_into()
                .map_err(|_| corrupt("a log base that is not 8 bytes".into()))?,
        ),
        None => 0,
    };
    let mut rows = Rows {
        name: name.to_owned(),
        replica,
        base,
        objects: Vec::new(),
        log: Vec::new(),
        peers: Vec::new(),
    };
    for row in read.open_table(OBJECTS_V1)?.iter()? {
        let (id, encoding) = row?;
        rows.objects
            .push((id.value().to_vec(), encoding.value().to_vec()));
    }
    for row in read.open_table(LOG_V1)?.iter()? {
        let (seq, entry) = row?;
        rows.log.push((seq.value(), entry.value().to_vec()));
    }
    for row in read.open_table(PEERS_V1)?.iter()? {
        let (peer, progress) = row?;
        rows.peers.push((peer.value().to_vec(), progress.value()));
    }
    Ok(rows)
}
