//! The writer thread of a [`RedbStore`](super::RedbStore): group commit across collections.
//!
//! Every collection's hub hands its changes to one thread, which takes all that wait and
//! writes them in one transaction with immediate durability: a thousand carts written at once
//! cost one fsync, not a thousand. Each hub's commit resolves once the transaction holding it
//! is on disk, and the commits of one hub resolve in the order they were handed over, because
//! one thread takes them off one queue.

use std::sync::Arc;
use std::sync::mpsc;

use crdt_core::ReplicaId;
use redb::{Database, ReadableTable};
use tokio::sync::oneshot;

use super::{COLLECTIONS, LOG, OBJECTS, PEERS};
use crate::collection::PeerProgress;
use crate::net::store::StoreError;
use crate::object_id::ObjectId;

/// The most changes written in one transaction; more wait for the next.
const MAX_CHANGES_PER_COMMIT: usize = 4096;

/// One collection's changes since its last commit.
#[derive(Debug, Default)]
pub(super) struct Change {
    pub(super) name: String,
    /// A new collection's replica id: the collection's row is written.
    pub(super) created: Option<ReplicaId>,
    /// Changed objects' canonical encodings; `None` removes the object.
    pub(super) objects: Vec<(ObjectId, Option<Vec<u8>>)>,
    /// New log entries, by sequence number.
    pub(super) log: Vec<(u64, Vec<u8>)>,
    /// The log's new trimmed start: entries through it are dropped.
    pub(super) base: Option<u64>,
    pub(super) peers: Vec<(ReplicaId, PeerProgress)>,
    pub(super) forgotten: Vec<ReplicaId>,
}

impl Change {
    /// The change that records a new collection.
    pub(super) fn created(name: &str, replica: ReplicaId) -> Self {
        Self {
            name: name.to_owned(),
            created: Some(replica),
            ..Self::default()
        }
    }

    /// Whether there is nothing to write.
    pub(super) fn is_empty(&self) -> bool {
        self.created.is_none()
            && self.objects.is_empty()
            && self.log.is_empty()
            && self.base.is_none()
            && self.peers.is_empty()
            && self.forgotten.is_empty()
    }
}

enum Job {
    Write(Change, oneshot::Sender<Result<(), String>>),
    Stop(oneshot::Sender<()>),
}

/// A handle to the writer thread; clones share it.
#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the thread that writes to `db`.
    pub(super) fn start(db: Arc<Database>) -> Self {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("crdt-store-writer".into())
            .spawn(move || run(db, &queue))
            .map_or_else(
                // Without a thread every commit fails with `Closed`: the queue's end is gone.
                |_| Self {
                    jobs: mpsc::channel().0,
                },
                |_| Self { jobs },
            )
    }

    /// Hands `change` to the thread; resolves once it is durable.
    pub(super) fn commit(
        &self,
        change: Change,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let (done, result) = oneshot::channel();
        let sent = self.jobs.send(Job::Write(change, done)).is_ok();
        async move {
            if !sent {
                return Err(StoreError::Closed);
            }
            match result.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(detail)) => Err(StoreError::Commit(detail)),
                Err(_) => Err(StoreError::Closed),
            }
        }
    }

    /// Lets the thread finish the commits handed to it before this call, then stops it and
    /// waits until it has closed its end of the database.
    pub(super) async fn stop(&self) {
        let (done, stopped) = oneshot::channel();
        if self.jobs.send(Job::Stop(done)).is_ok() {
            let _ = stopped.await;
        }
    }
}

fn run(db: Arc<Database>, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut writes = Vec::new();
        let mut stop = None;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Write(change, done) => writes.push((change, done)),
                Job::Stop(done) => {
                    stop = Some(done);
                    break;
                }
            }
            if writes.len() < MAX_CHANGES_PER_COMMIT {
                next = queue.try_recv().ok();
            }
        }
        if !writes.is_empty() {
            let result = write(&db, writes.iter().map(|(change, _)| change))
                .map_err(|error| error.to_string());
            for (_, done) in writes {
                let _ = done.send(result.clone());
            }
        }
        if let Some(done) = stop {
            // The reply goes after the database is released: whoever waits may reopen it.
            drop(db);
            let _ = done.send(());
            return;
        }
    }
}

fn write<'a>(db: &Database, changes: impl Iterator<Item = &'a Change>) -> Result<(), StoreError> {
    let write = db.begin_write()?;
    {
        let mut collections = write.open_table(COLLECTIONS)?;
        let mut objects = write.open_table(OBJECTS)?;
        let mut log = write.open_table(LOG)?;
        let mut peers = write.open_table(PEERS)?;
        for change in changes {
            let name = change.name.as_str();
            if let Some(replica) = change.created {
                collections.insert(name, (*replica.as_bytes(), 0))?;
            }
            for (id, encoding) in &change.objects {
                match encoding {
                    Some(bytes) => objects.insert((name, id.as_bytes()), bytes.as_slice())?,
                    None => objects.remove((name, id.as_bytes()))?,
                };
            }
            for (seq, bytes) in &change.log {
                log.insert((name, *seq), bytes.as_slice())?;
            }
            if let Some(base) = change.base {
                log.retain_in((name, 0)..=(name, base), |_, _| false)?;
                let replica = collections.get(name)?.map(|row| row.value().0);
                if let Some(replica) = replica {
                    collections.insert(name, (replica, base))?;
                }
            }
            for (peer, progress) in &change.peers {
                peers.insert(
                    (name, peer.as_bytes().as_slice()),
                    (progress.acked, progress.received),
                )?;
            }
            for peer in &change.forgotten {
                peers.remove((name, peer.as_bytes().as_slice()))?;
            }
        }
    }
    write.commit()?;
    Ok(())
}
