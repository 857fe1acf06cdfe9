//! [`PgCollection`]: one open collection's handle on a [`PgStore`](super::PgStore), and
//! its [`Position`] in the collection's shared log.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use crdt_core::ReplicaId;
use deadpool_postgres::Pool;
use tokio::sync::watch;

use super::listener::{Heard, Watchers};
use super::read_since;
use super::writer::{Change, Writer};
use crate::collection::Collection;
use crate::net::store::{CatchUp, CollectionStore, StoreFuture};

/// How far this relay's replica has the collection's shared log.
#[derive(Debug, Default)]
pub(super) struct Position {
    /// Every position through this one is joined into the replica.
    pub(super) pos: u64,
    /// Ranges this relay committed past `pos` (`first → last`): already in the replica.
    own: BTreeMap<u64, u64>,
    /// The last read stopped at its batch size: read again, whatever was heard.
    behind: bool,
}

impl Position {
    /// Records the positions this relay's commit got.
    fn committed(&mut self, first: u64, last: u64) {
        if first <= last {
            self.own.insert(first, last);
            self.advance();
        }
    }

    /// Records that everything through `last` has been read.
    pub(super) fn read_through(&mut self, last: u64) {
        self.pos = self.pos.max(last);
        self.advance();
    }

    /// Whether this relay committed `pos` itself.
    pub(super) fn is_own(&self, pos: u64) -> bool {
        self.own
            .range(..=pos)
            .next_back()
            .is_some_and(|(_, &last)| pos <= last)
    }

    fn advance(&mut self) {
        while let Some((&first, &last)) = self.own.first_key_value() {
            if first > self.pos + 1 {
                break;
            }
            self.pos = self.pos.max(last);
            self.own.pop_first();
        }
    }
}

/// An open collection's handle: what of its log is written, and how far it has read.
pub(super) struct PgCollection {
    name: String,
    replica: ReplicaId,
    writer: Writer,
    pool: Pool,
    watchers: Arc<Watchers>,
    heard: watch::Receiver<Heard>,
    reconnects_seen: u64,
    position: Arc<Mutex<Position>>,
    saved_head: u64,
}

impl PgCollection {
    pub(super) fn new(
        name: &str,
        replica: ReplicaId,
        writer: Writer,
        pool: Pool,
        watchers: Arc<Watchers>,
        heard: watch::Receiver<Heard>,
        position: Arc<Mutex<Position>>,
    ) -> Self {
        let reconnects_seen = heard.borrow().reconnects;
        Self {
            name: name.to_owned(),
            replica,
            writer,
            pool,
            watchers,
            heard,
            reconnects_seen,
            position,
            saved_head: 0,
        }
    }
}

fn lock(position: &Mutex<Position>) -> MutexGuard<'_, Position> {
    position
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl CollectionStore for PgCollection {
    fn prepare(&mut self, collection: &mut Collection) -> Option<StoreFuture<'static, ()>> {
        let log = collection.log();
        let from_store = Some(self.replica);
        let deltas: Vec<(Vec<u8>, Vec<u8>)> = log
            .since(self.saved_head)
            .filter(|entry| entry.origin != from_store)
            // A delta that fails to encode (impossible for string elements) is not written;
            // anti-entropy brings it back from the peer that has it.
            .filter_map(|entry| Some((entry.id.as_bytes().to_vec(), entry.delta.encode().ok()?)))
            .collect();
        self.saved_head = log.head();
        // Object states are written by compaction only: a relay's own copy of a state may lack
        // what another relay committed, and would overwrite it.
        collection.take_unsaved();
        if deltas.is_empty() {
            return None;
        }
        let commit = self.writer.commit(Change {
            name: self.name.clone(),
            deltas,
        });
        let position = self.position.clone();
        Some(Box::pin(async move {
            let (first, last) = commit.await?;
            lock(&position).committed(first, last);
            Ok(())
        }))
    }

    fn changed(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if self.heard.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }

    fn catch_up(&mut self) -> StoreFuture<'static, CatchUp> {
        let heard = *self.heard.borrow_and_update();
        {
            let position = lock(&self.position);
            let news = heard.head > position.pos
                || heard.reconnects != self.reconnects_seen
                || position.behind;
            if !news {
                return Box::pin(async { Ok(CatchUp::default()) });
            }
        }
        self.reconnects_seen = heard.reconnects;
        let (pool, name, position) = (self.pool.clone(), self.name.clone(), self.position.clone());
        Box::pin(async move {
            let read = async {
                let mut client = pool.get().await?;
                let snapshot = {
                    let position = lock(&position);
                    Position {
                        pos: position.pos,
                        own: position.own.clone(),
                        behind: false,
                    }
                };
                read_since(&mut client, &name, &snapshot).await
            }
            .await;
            let mut position = lock(&position);
            match read {
                Ok(Some(read)) => {
                    position.read_through(read.last);
                    position.behind = read.more;
                    Ok(CatchUp {
                        objects: read.objects,
                        more: read.more,
                    })
                }
                Ok(None) => Ok(CatchUp::default()),
                Err(error) => {
                    // Tried again at the next wake-up, whatever it announces.
                    position.behind = true;
                    Err(error)
                }
            }
        })
    }
}

impl Drop for PgCollection {
    fn drop(&mut self) {
        self.watchers.forget(&self.name);
    }
}
