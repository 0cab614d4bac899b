//! MFA challenges: one-time codes and link tokens, each spendable once before it expires.

use idp_core::model::{Challenge, ChallengeKind, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::codec::{RowExt, json, micros, opt_micros, text};
use super::error::{DbResult, missing};

fn row(r: &Row<'_>) -> rusqlite::Result<Challenge> {
    Ok(Challenge {
        id: r.uuid("id")?,
        tenant_id: r.uuid("tenant_id")?,
        account_id: r.uuid("account_id")?,
        kind: r.parsed("kind")?,
        destination: r.get("destination")?,
        secret_hash: r.get("secret_hash")?,
        payload: r.json("payload")?,
        created_at: r.ts("created_at")?,
        expires_at: r.ts("expires_at")?,
        consumed_at: r.opt_ts("consumed_at")?,
    })
}

/// The account must exist in the challenge's tenant: the foreign keys alone would accept an
/// account of another tenant (PostgreSQL refuses it by a composite foreign key).
pub(super) fn insert(c: &Connection, ch: &Challenge) -> DbResult<()> {
    c.prepare_cached("SELECT 1 FROM accounts WHERE id = ?1 AND tenant_id = ?2")?
        .query_row(params![text(ch.account_id), text(ch.tenant_id)], |_| Ok(()))
        .optional()?
        .ok_or_else(|| missing("account"))?;
    c.prepare_cached(
        "INSERT INTO challenges (id, tenant_id, account_id, kind, destination, secret_hash,
             payload, created_at, expires_at, consumed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        text(ch.id),
        text(ch.tenant_id),
        text(ch.account_id),
        ch.kind.as_str(),
        ch.destination,
        ch.secret_hash,
        json(&ch.payload)?,
        micros(ch.created_at),
        micros(ch.expires_at),
        opt_micros(ch.consumed_at),
    ])?;
    Ok(())
}

/// Consumed and expired challenges are returned too: checking them is the caller's.
pub(super) fn get(c: &Connection, id: Uuid) -> DbResult<Option<Challenge>> {
    Ok(c.prepare_cached(
        "SELECT id, tenant_id, account_id, kind, destination, secret_hash, payload, created_at,
             expires_at, consumed_at
         FROM challenges WHERE id = ?1",
    )?
    .query_row([text(id)], row)
    .optional()?)
}

/// One conditional UPDATE on the single writer: of concurrent calls, the first to run changes
/// the row and every later one finds `consumed_at` set.
pub(super) fn consume(c: &Connection, id: Uuid, at: Timestamp) -> DbResult<bool> {
    let n = c
        .prepare_cached(
            "UPDATE challenges SET consumed_at = ?2
             WHERE id = ?1 AND consumed_at IS NULL AND expires_at > ?2",
        )?
        .execute(params![text(id), micros(at)])?;
    Ok(n > 0)
}

pub(super) fn consume_of(
    c: &Connection,
    account_id: Uuid,
    kind: ChallengeKind,
    at: Timestamp,
) -> DbResult<u64> {
    let n = c
        .prepare_cached(
            "UPDATE challenges SET consumed_at = ?3
             WHERE account_id = ?1 AND kind = ?2 AND consumed_at IS NULL AND expires_at > ?3",
        )?
        .execute(params![text(account_id), kind.as_str(), micros(at)])?;
    Ok(n as u64)
}

pub(super) fn purge(c: &Connection, now: Timestamp) -> DbResult<u64> {
    let n = c
        .prepare_cached("DELETE FROM challenges WHERE expires_at < ?1")?
        .execute([micros(now)])?;
    Ok(n as u64)
}
