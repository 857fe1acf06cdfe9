//! The writer task of a [`PgStore`](super::PgStore): group commit across collections, with
//! positions handed out by PostgreSQL and one notification per commit.
//!
//! Every collection's hub hands its new deltas to one task, which takes all that wait and
//! commits them in one transaction: the collections' head rows are advanced (in name order, so
//! two relays committing overlapping groups lock rows in one order and cannot deadlock), the
//! deltas are inserted at the positions the rows handed out, and one `NOTIFY` names every
//! collection and its new head. A notification serialises commits in PostgreSQL, which is why
//! there is one per group and not one per collection.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};

use super::CHANNEL;
use crate::net::store::StoreError;

/// The most changes committed in one transaction; more wait for the next.
const MAX_CHANGES_PER_COMMIT: usize = 1024;

/// PostgreSQL's limit on a notification's payload is 8,000 bytes.
const MAX_PAYLOAD: usize = 7_900;

/// One collection's new deltas: (object id, delta), both canonically encoded.
#[derive(Debug, Default)]
pub(super) struct Change {
    pub(super) name: String,
    pub(super) deltas: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The positions a change's deltas got: `first..=last` (empty if `first > last`).
pub(super) type Positions = (u64, u64);

struct Job {
    change: Change,
    done: oneshot::Sender<Result<Positions, String>>,
}

/// A handle to the writer task; clones share it.
#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Writer {
    /// Starts the task that commits through `pool`. It ends when every handle is gone.
    pub(super) fn start(pool: Pool) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, queue));
        Self { jobs }
    }

    /// Hands `change` to the task; resolves once it is committed, with its positions.
    pub(super) fn commit(
        &self,
        change: Change,
    ) -> impl Future<Output = Result<Positions, StoreError>> + Send + 'static {
        let (done, result) = oneshot::channel();
        let sent = self.jobs.send(Job { change, done }).is_ok();
        async move {
            if !sent {
                return Err(StoreError::Closed);
            }
            match result.await {
                Ok(Ok(positions)) => Ok(positions),
                Ok(Err(detail)) => Err(StoreError::Commit(detail)),
                Err(_) => Err(StoreError::Closed),
            }
        }
    }
}

async fn run(pool: Pool, mut queue: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_CHANGES_PER_COMMIT {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        match commit(&pool, &jobs).await {
            Ok(positions) => {
                for (job, positions) in jobs.into_iter().zip(positions) {
                    let _ = job.done.send(Ok(positions));
                }
            }
            Err(error) => {
                let detail = error.to_string();
                tracing::warn!(%detail, "a PostgreSQL commit failed");
                for job in jobs {
                    let _ = job.done.send(Err(detail.clone()));
                }
            }
        }
    }
}

/// Commits every job's change in one transaction; the positions of each, in job order.
async fn commit(pool: &Pool, jobs: &[Job]) -> Result<Vec<Positions>, StoreError> {
    // How many deltas each collection adds, in name order (the order rows are locked in).
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for job in jobs {
        *counts.entry(job.change.name.as_str()).or_default() += job.change.deltas.len() as i64;
    }
    let names: Vec<&str> = counts.keys().copied().collect();
    let added: Vec<i64> = counts.values().copied().collect();
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let rows = transaction
        .query(
            "INSERT INTO crdt_collections (name, head)
             SELECT name, added FROM unnest($1::text[], $2::bigint[]) AS t(name, added)
             ORDER BY name
             ON CONFLICT (name) DO UPDATE SET head = crdt_collections.head + EXCLUDED.head
             RETURNING name, head",
            &[&names, &added],
        )
        .await?;
    let mut heads: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows {
        heads.insert(row.get(0), row.get(1));
    }
    // Each collection's deltas take the positions below its new head, in job order.
    let mut next: BTreeMap<&str, i64> = BTreeMap::new();
    for (name, added) in &counts {
        let head = heads
            .get(*name)
            .copied()
            .ok_or_else(|| StoreError::Corrupt {
                place: "PostgreSQL".into(),
                detail: format!("no head returned for {name:?}"),
            })?;
        next.insert(name, head - added + 1);
    }
    let (mut collections, mut positions, mut objects, mut deltas) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut assigned = Vec::with_capacity(jobs.len());
    for job in jobs {
        let name = job.change.name.as_str();
        let first = next.get(name).copied().unwrap_or(1);
        for (offset, (object, delta)) in job.change.deltas.iter().enumerate() {
            collections.push(name);
            positions.push(first + offset as i64);
            objects.push(object.as_slice());
            deltas.push(delta.as_slice());
        }
        let last = first + job.change.deltas.len() as i64 - 1;
        next.insert(name, last + 1);
        assigned.push((first as u64, last.max(0) as u64));
    }
    if !collections.is_empty() {
        transaction
            .execute(
                "INSERT INTO crdt_deltas (collection, pos, object, delta)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[])",
                &[&collections, &positions, &objects, &deltas],
            )
            .await?;
        transaction
            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload(&heads)])
            .await?;
    }
    transaction.commit().await?;
    Ok(assigned)
}

/// A notification's payload: the sender's clock (microseconds since the epoch, for the
/// lag metric), then a line `name<TAB>head` per collection, or `*` (every collection may have
/// changed) when that would not fit.
fn payload(heads: &BTreeMap<String, i64>) -> String {
    let sent = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_micros());
    let mut payload = format!("{sent}");
    for (name, head) in heads {
        if payload.len() + name.len() + 22 > MAX_PAYLOAD {
            return format!("{sent}\n*");
        }
        payload.push_str(&format!("\n{name}\t{head}"));
    }
    payload
}
