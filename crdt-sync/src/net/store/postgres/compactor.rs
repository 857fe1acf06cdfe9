//! Compaction of a [`PgStore`](super::PgStore): deltas folded into object states, so the
//! delta table holds only the recent past and opening a collection reads a few rows.
//!
//! Every relay runs the loop, but each compaction runs inside a transaction that first takes
//! a transaction-level advisory lock: one relay compacts at a time, and a relay that dies
//! mid-compaction releases the lock with its connection. A collection is compacted under
//! its head row's lock, so no delta is committed to it meanwhile; relays positioned before
//! the new base notice it when they next read and reload the states.

use std::collections::BTreeMap;
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::watch;

use super::{corrupt, decode_row, join_into};
use crate::net::store::StoreError;
use crate::object::Object;
use crate::object_id::ObjectId;

/// Held by the relay compacting (an arbitrary key, fixed for this project).
const COMPACTION_LOCK: i64 = 0x6372_6474_5f63_6d70;

/// How often a relay looks for collections to compact.
const EVERY: Duration = Duration::from_secs(5);

/// A collection is compacted once this many deltas follow its base.
const MIN_DELTAS: i64 = 64;

/// The most collections compacted in one round.
const PER_ROUND: i64 = 256;

/// Compacts every [`EVERY`] until `stop` turns true.
pub(super) async fn run(pool: Pool, mut stop: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        if let Err(error) = round(&pool).await {
            tracing::warn!(%error, "compaction failed; retrying later");
        }
    }
}

async fn round(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await?;
    let names: Vec<String> = client
        .query(
            "SELECT name FROM crdt_collections WHERE head - base >= $1 ORDER BY name LIMIT $2",
            &[&MIN_DELTAS, &PER_ROUND],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for name in names {
        if !compact(&mut client, &name).await? {
            // Another relay holds the lock: it is compacting.
            break;
        }
    }
    Ok(())
}

/// Folds `name`'s deltas into its states; false if another relay holds the lock.
async fn compact(client: &mut deadpool_postgres::Client, name: &str) -> Result<bool, StoreError> {
    let transaction = client.transaction().await?;
    let locked: bool = transaction
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&COMPACTION_LOCK])
        .await?
        .get(0);
    if !locked {
        return Ok(false);
    }
    let row = transaction
        .query_one(
            "SELECT head, base FROM crdt_collections WHERE name = $1 FOR UPDATE",
            &[&name],
        )
        .await?;
    let (head, base): (i64, i64) = (row.get(0), row.get(1));
    if head == base {
        return Ok(true);
    }
    let mut states: BTreeMap<ObjectId, Object> = BTreeMap::new();
    for row in transaction
        .query(
            "SELECT object, state FROM crdt_objects WHERE collection = $1",
            &[&name],
        )
        .await?
    {
        let (id, state) = decode_row(name, row.get(0), row.get(1))?;
        states.insert(id, state);
    }
    for row in transaction
        .query(
            "SELECT object, delta FROM crdt_deltas
             WHERE collection = $1 AND pos > $2 AND pos <= $3 ORDER BY pos",
            &[&name, &base, &head],
        )
        .await?
    {
        let (id, delta) = decode_row(name, row.get(0), row.get(1))?;
        join_into(&mut states, id, delta)?;
    }
    let mut ids = Vec::with_capacity(states.len());
    let mut encodings = Vec::with_capacity(states.len());
    for (id, state) in &states {
        ids.push(id.as_bytes().to_vec());
        encodings.push(
            state
                .encode()
                .map_err(|error| corrupt(name, format!("object {id}: {error}")))?,
        );
    }
    transaction
        .execute(
            "INSERT INTO crdt_objects (collection, object, state)
             SELECT $1, object, state FROM unnest($2::bytea[], $3::bytea[]) AS t(object, state)
             ON CONFLICT (collection, object) DO UPDATE SET state = EXCLUDED.state",
            &[&name, &ids, &encodings],
        )
        .await?;
    transaction
        .execute(
            "DELETE FROM crdt_deltas WHERE collection = $1 AND pos <= $2",
            &[&name, &head],
        )
        .await?;
    transaction
        .execute(
            "UPDATE crdt_collections SET base = head WHERE name = $1",
            &[&name],
        )
        .await?;
    transaction.commit().await?;
    tracing::debug!(collection = name, base = head, "compacted");
    Ok(true)
}
