//! Versioned schema migrations, compiled into the binary and recorded in `schema_migrations`.

use idp_core::model::now;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::codec::micros;
use super::error::DbResult;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// In version order. Never edit an applied migration: add the next one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init",
        sql: include_str!("../../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_grants",
        sql: include_str!("../../migrations/sqlite/0002_grants.sql"),
    },
    Migration {
        version: 3,
        name: "0003_mfa",
        sql: include_str!("../../migrations/sqlite/0003_mfa.sql"),
    },
];

/// Applies the migrations not yet recorded, each in its own transaction together with its
/// record, and returns their names. `BEGIN IMMEDIATE` makes two processes migrating the same
/// file at once take turns instead of applying a migration twice.
pub(super) fn run(conn: &mut Connection) -> DbResult<Vec<String>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER NOT NULL PRIMARY KEY,
            name       TEXT    NOT NULL,
            applied_at INTEGER NOT NULL
        ) STRICT",
    )?;
    let mut applied = Vec::new();
    for m in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done = tx
            .query_row(
                "SELECT 1 FROM schema_migrations WHERE version = ?1",
                [m.version],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if done {
            continue;
        }
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, micros(now())],
        )?;
        tx.commit()?;
        tracing::info!(migration = m.name, "applied sqlite migration");
        applied.push(m.name.to_owned());
    }
    Ok(applied)
}
