//! Versioned schema migrations, embedded in the binary.

use deadpool_postgres::Client;
use idp_core::store::{StoreError, StoreResult};

use super::error::pg;

/// One migration: applied once, in order, in a transaction of its own.
pub(crate) struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first. Append only: an applied migration is never edited.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init",
        sql: include_str!("../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_oauth",
        sql: include_str!("../../migrations/postgres/0002_oauth.sql"),
    },
    Migration {
        version: 3,
        name: "0003_mfa",
        sql: include_str!("../../migrations/postgres/0003_mfa.sql"),
    },
];

/// First key of the advisory lock that serialises concurrent migrators (`idp` in ASCII); the
/// second is the hash of the current schema, so stores on different schemas do not wait on
/// each other.
const LOCK_KEY: i32 = 0x0069_6470;

/// Applies the migrations not yet recorded in `schema_migrations`; returns their names.
pub(crate) async fn run(client: &mut Client) -> StoreResult<Vec<String>> {
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))",
            &[&LOCK_KEY],
        )
        .await
        .map_err(pg)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    integer     PRIMARY KEY,
                 name       text        NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(pg)?;
        let done = tx
            .query_opt(
                "SELECT name FROM schema_migrations WHERE version = $1",
                &[&m.version],
            )
            .await
            .map_err(pg)?;
        if let Some(row) = done {
            let name: String = row.try_get("name").map_err(pg)?;
            if name != m.name {
                return Err(StoreError::Internal(format!(
                    "schema_migrations has version {} as `{name}`, this build calls it `{}`",
                    m.version, m.name
                )));
            }
            tx.commit().await.map_err(pg)?;
            continue;
        }
        tx.batch_execute(m.sql).await.map_err(|e| match pg(e) {
            StoreError::Internal(msg) => {
                StoreError::Internal(format!("migration {} failed: {msg}", m.name))
            }
            other => other,
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
            &[&m.version, &m.name],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        tracing::info!(migration = m.name, "applied PostgreSQL migration");
        applied.push(m.name.to_owned());
    }
    Ok(applied)
}
