//! The schema of the PostgreSQL store, versioned: each relay brings it to the newest version
//! it knows when it connects, one step at a time, under an advisory lock so that relays
//! starting together do not race; a database newer than the relay is refused.
//!
//! Version 1:
//! - `crdt_collections (name, head, base)`: one row per collection. `head` is the position of
//!   its newest delta: positions are handed out by updating this row in the committing
//!   transaction, so they are gap-free and in commit order (the row lock orders writers).
//!   `base` is the position compaction has folded into the object states.
//! - `crdt_objects (collection, object, state)`: each object's state as of `base`.
//! - `crdt_deltas (collection, pos, object, delta)`: every delta after `base`, by position.
//!
//! Object ids, states and deltas are the canonical encodings of FORMAT.md.

use tokio_postgres::Client;

use crate::net::store::StoreError;

/// The schema version this relay writes.
pub(super) const VERSION: i32 = 1;

/// Serialises schema changes between relays (an arbitrary key, fixed for this project).
const MIGRATION_LOCK: i64 = 0x6372_6474_5f73_6368;

/// Each step brings the schema from the version before it to its own.
const STEPS: [&str; 1] = ["
    CREATE TABLE crdt_collections (
        name text PRIMARY KEY,
        head bigint NOT NULL DEFAULT 0 CHECK (head >= 0),
        base bigint NOT NULL DEFAULT 0 CHECK (base >= 0 AND base <= head)
    );
    CREATE TABLE crdt_objects (
        collection text NOT NULL REFERENCES crdt_collections (name),
        object bytea NOT NULL,
        state bytea NOT NULL,
        PRIMARY KEY (collection, object)
    );
    CREATE TABLE crdt_deltas (
        collection text NOT NULL REFERENCES crdt_collections (name),
        pos bigint NOT NULL,
        object bytea NOT NULL,
        delta bytea NOT NULL,
        PRIMARY KEY (collection, pos)
    );
"];

/// Creates or upgrades the schema to [`VERSION`].
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    transaction
        .batch_execute("CREATE TABLE IF NOT EXISTS crdt_schema (version integer NOT NULL)")
        .await?;
    let current: i32 = match transaction
        .query_opt("SELECT version FROM crdt_schema", &[])
        .await?
    {
        Some(row) => row.get(0),
        None => {
            transaction
                .execute("INSERT INTO crdt_schema (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    if current > VERSION {
        return Err(StoreError::Corrupt {
            place: "PostgreSQL".into(),
            detail: format!(
                "the schema is at version {current}, newer than this relay's {VERSION}: \
                 upgrade the relay"
            ),
        });
    }
    for (step, sql) in STEPS.iter().enumerate().skip(current.max(0) as usize) {
        transaction.batch_execute(sql).await?;
        let version = i32::try_from(step + 1).unwrap_or(VERSION);
        transaction
            .execute("UPDATE crdt_schema SET version = $1", &[&version])
            .await?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    transaction.commit().await?;
    Ok(())
}
