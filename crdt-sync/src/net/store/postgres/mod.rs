//! [`PgStore`]: collections in PostgreSQL, shared by any number of relays, so relays scale
//! out behind a TCP load balancer and any of them serves any collection.
//!
//! ```no_run
//! use crdt_sync::net::store::Store;
//! use crdt_sync::net::store::postgres::PgStore;
//!
//! # async fn demo() -> Result<(), crdt_sync::net::store::StoreError> {
//! let store = PgStore::connect("postgres://crdt@10.0.0.5:5432/carts", None).await?;
//! let opened = store.open("cart-42", true).await?; // created unless it exists
//! # Ok(()) }
//! ```
//!
//! **What is stored** (see [`schema`]): per collection, a head row, the object states as of
//! the last compaction, and every delta since, by position. Positions come from PostgreSQL:
//! the committing transaction advances the collection's head row, so positions are gap-free
//! and in commit order whichever relay commits. A delta is committed before anything
//! acknowledges it.
//!
//! **Between relays.** Each relay's writer commits the deltas its sessions accepted, grouped
//! across collections in one transaction with one `NOTIFY` naming every collection and its new
//! head. Every relay `LISTEN`s; a relay that has the collection open reads the rows after its
//! position and joins them, so its sessions get them. A notification is only a wake-up:
//! catching up goes by position, so a missed one (a dropped connection, a restarted server)
//! loses nothing, and after reconnecting a relay catches up every open collection.
//!
//! **Compaction.** Deltas are folded into the object states by one relay at a time (a
//! transaction-level advisory lock), under the collection's row lock. A relay whose position is
//! older than the folded base reloads the states (joining is idempotent) and goes on.
//!
//! What is not shared: each relay holds its open collections in memory under a replica id of
//! its own, drawn afresh each time it opens one (so logs of different relays are never
//! confused); a client that moves to another relay is brought up to date by anti-entropy.
//! Connections are plain TCP (`NoTls`): reach a remote server through a TLS tunnel or a
//! private network.

mod compactor;
mod handle;
mod listener;
pub mod schema;
mod writer;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crdt_core::ReplicaId;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::watch;
use tokio_postgres::{IsolationLevel, NoTls};

use crate::collection::Collection;
use crate::net::store::{CollectionStore, Opened, Store, StoreError, StoreFuture};
use crate::object::Object;
use crate::object_id::ObjectId;

use handle::{PgCollection, Position};
use listener::Watchers;
use writer::{Change, Writer};

/// The notification channel every relay listens on.
const CHANNEL: &str = "crdt_changes";

/// The most delta rows one read takes; a collection further behind is read in several.
const READ_BATCH: i64 = 4096;

/// Connections in the pool (the writer, opens, catch-ups and compaction share them).
const POOL_SIZE: usize = 16;

/// How long to wait for a connection before the operation fails (PostgreSQL down).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A relay's link to a PostgreSQL database shared with other relays (see the module docs).
pub struct PgStore {
    pool: Pool,
    writer: Writer,
    watchers: Arc<Watchers>,
    stop: watch::Sender<bool>,
    place: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("place", &self.place)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`),
    /// creates or upgrades the schema, and starts listening for other relays' commits.
    /// `notify_lag`, if given, observes how long notifications took to arrive.
    pub async fn connect(url: &str, notify_lag: Option<Histogram>) -> Result<Self, StoreError> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|error| StoreError::Unavailable(format!("the URL {url:?}: {error}")))?;
        let place = describe(&config);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|error| StoreError::Unavailable(error.to_string()))?;
        {
            let mut client = pool.get().await?;
            schema::migrate(&mut client).await?;
        }
        let watchers = Arc::new(Watchers::default());
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(listener::run(
            config,
            watchers.clone(),
            notify_lag,
            stopped.clone(),
        ));
        tokio::spawn(compactor::run(pool.clone(), stopped));
        Ok(Self {
            writer: Writer::start(pool.clone()),
            pool,
            watchers,
            stop,
            place,
        })
    }

    /// The names of every stored collection, sorted.
    pub async fn collections(&self) -> Result<Vec<String>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query("SELECT name FROM crdt_collections ORDER BY name", &[])
            .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}

/// The server and database a configuration names, without its password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("");
    format!("postgres://{host}:{port}/{db}")
}

impl Store for PgStore {
    fn open<'a>(&'a self, name: &'a str, create: bool) -> StoreFuture<'a, Option<Opened>> {
        Box::pin(async move {
            // Watching first: a commit between the read and the watch still wakes the hub.
            let heard = self.watchers.watch(name);
            let mut objects: BTreeMap<ObjectId, Object> = BTreeMap::new();
            let mut position = Position::default();
            let mut found = false;
            loop {
                let mut client = self.pool.get().await?;
                let Some(read) = read_since(&mut client, name, &position).await? else {
                    break;
                };
                found = true;
                for (id, object) in read.objects {
                    join_into(&mut objects, id, object)?;
                }
                position.read_through(read.last);
                if !read.more {
                    break;
                }
            }
            if !found {
                if !create {
                    self.watchers.forget(name);
                    return Ok(None);
                }
                self.writer
                    .commit(Change {
                        name: name.to_owned(),
                        deltas: Vec::new(),
                    })
                    .await?;
            }
            let replica = ReplicaId::random();
            let collection = Collection::from_objects(name, replica, objects);
            let handle = PgCollection::new(
                name,
                replica,
                self.writer.clone(),
                self.pool.clone(),
                self.watchers.clone(),
                heard,
                Arc::new(Mutex::new(position)),
            );
            Ok(Some((
                Box::new(handle) as Box<dyn CollectionStore>,
                collection,
            )))
        })
    }

    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.stop.send_replace(true);
            self.pool.close();
        })
    }
}

fn corrupt(name: &str, detail: String) -> StoreError {
    StoreError::Corrupt {
        place: "PostgreSQL".into(),
        detail: format!("{name}: {detail}"),
    }
}

fn join_into(
    objects: &mut BTreeMap<ObjectId, Object>,
    id: ObjectId,
    object: Object,
) -> Result<(), StoreError> {
    match objects.get_mut(&id) {
        Some(held) => {
            held.join(&object)
                .map_err(|error| corrupt(&id.to_string(), error.to_string()))?;
        }
        None => {
            objects.insert(id, object);
        }
    }
    Ok(())
}

/// What one read of a collection found.
struct Read {
    /// States and deltas to join, oldest first.
    objects: Vec<(ObjectId, Object)>,
    /// The last position read.
    last: u64,
    /// Whether rows after `last` wait.
    more: bool,
}

/// Reads, in one snapshot, what `name` holds after `position`: the object states too if
/// compaction folded deltas past it. `None` if the collection does not exist. Rows this relay
/// committed itself are skipped.
async fn read_since(
    client: &mut deadpool_postgres::Client,
    name: &str,
    position: &Position,
) -> Result<Option<Read>, StoreError> {
    let transaction = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let Some(row) = transaction
        .query_opt(
            "SELECT head, base FROM crdt_collections WHERE name = $1",
            &[&name],
        )
        .await?
    else {
        return Ok(None);
    };
    let (head, base): (i64, i64) = (row.get(0), row.get(1));
    let (head, base) = (head.max(0) as u64, base.max(0) as u64);
    let mut objects = Vec::new();
    let mut from = position.pos;
    if base > from {
        for row in transaction
            .query(
                "SELECT object, state FROM crdt_objects WHERE collection = $1",
                &[&name],
            )
            .await?
        {
            objects.push(decode_row(name, row.get(0), row.get(1))?);
        }
        from = base;
    }
    let mut last = from;
    let mut count = 0;
    if head > from {
        for row in transaction
            .query(
                "SELECT pos, object, delta FROM crdt_deltas
                 WHERE collection = $1 AND pos > $2 ORDER BY pos LIMIT $3",
                &[&name, &(from as i64), &READ_BATCH],
            )
            .await?
        {
            count += 1;
            let pos: i64 = row.get(0);
            last = pos.max(0) as u64;
            if !position.is_own(last) {
                objects.push(decode_row(name, row.get(1), row.get(2))?);
            }
        }
    }
    transaction.commit().await?;
    Ok(Some(Read {
        objects,
        last,
        more: count == READ_BATCH,
    }))
}

fn decode_row(name: &str, id: Vec<u8>, encoding: &[u8]) -> Result<(ObjectId, Object), StoreError> {
    let id =
        ObjectId::from_bytes(id).map_err(|error| corrupt(name, format!("object id: {error}")))?;
    let object =
        Object::decode(encoding).map_err(|error| corrupt(name, format!("object {id}: {error}")))?;
    Ok((id, object))
}
