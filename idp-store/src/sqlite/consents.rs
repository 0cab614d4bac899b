//! Consents: one row per (account, client, scope), so a grant is a union by construction.

use idp_core::model::Timestamp;
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::codec::{micros, text};
use super::error::DbResult;

/// A scope granted before keeps its original time.
pub(super) fn grant(
    c: &Connection,
    account_id: Uuid,
    client_id: &str,
    scopes: &[String],
    at: Timestamp,
) -> DbResult<()> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO consents (account_id, client_id, scope, granted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
    )?;
    let account_id = text(account_id);
    for scope in scopes {
        stmt.execute(params![account_id, client_id, scope, micros(at)])?;
    }
    Ok(())
}

/// In the order they were granted.
pub(super) fn scopes(c: &Connection, account_id: Uuid, client_id: &str) -> DbResult<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT scope FROM consents WHERE account_id = ?1 AND client_id = ?2
         ORDER BY granted_at, scope",
    )?;
    let rows = stmt.query_map(params![text(account_id), client_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
