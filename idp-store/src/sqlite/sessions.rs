//! Browser sessions, keyed by the digest of the cookie value.

use idp_core::model::{Session, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::codec::{RowExt, json, micros, text};
use super::error::DbResult;

fn row(r: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id_digest: r.get("id_digest")?,
        tenant_id: r.uuid("tenant_id")?,
        account_id: r.uuid("account_id")?,
        auth: r.json("auth")?,
        created_at: r.ts("created_at")?,
        expires_at: r.ts("expires_at")?,
    })
}

pub(super) fn create(c: &Connection, s: &Session) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO sessions (id_digest, tenant_id, account_id, auth, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        s.id_digest,
        text(s.tenant_id),
        text(s.account_id),
        json(&s.auth)?,
        micros(s.created_at),
        micros(s.expires_at),
    ])?;
    Ok(())
}

/// Expired sessions are returned too: expiry is the caller's to check, purging the store's.
pub(super) fn get(c: &Connection, digest: &str) -> DbResult<Option<Session>> {
    Ok(c.prepare_cached(
        "SELECT id_digest, tenant_id, account_id, auth, created_at, expires_at
         FROM sessions WHERE id_digest = ?1",
    )?
    .query_row([digest], row)
    .optional()?)
}

pub(super) fn delete(c: &Connection, digest: &str) -> DbResult<bool> {
    let n = c
        .prepare_cached("DELETE FROM sessions WHERE id_digest = ?1")?
        .execute([digest])?;
    Ok(n > 0)
}

pub(super) fn purge(c: &Connection, now: Timestamp) -> DbResult<u64> {
    let n = c
        .prepare_cached("DELETE FROM sessions WHERE expires_at < ?1")?
        .execute([micros(now)])?;
    Ok(n as u64)
}
