//! Refresh-token families and their tokens, and revoked access tokens (which a revoked family
//! revokes too).

use idp_core::model::{RefreshRotation, RefreshToken, Timestamp, TokenFamily};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::codec::{RowExt, json, micros, opt_micros, opt_text, text};
use super::error::DbResult;

const FAMILY_COLUMNS: &str =
    "f.id, f.tenant_id, f.client_id, f.account_id, f.scope, f.auth, f.created_at, f.revoked_at";

fn family_row(r: &Row<'_>) -> rusqlite::Result<TokenFamily> {
    Ok(TokenFamily {
        id: r.uuid("id")?,
        tenant_id: r.uuid("tenant_id")?,
        client_id: r.get("client_id")?,
        account_id: r.uuid("account_id")?,
        scope: r.get("scope")?,
        auth: r.json("auth")?,
        created_at: r.ts("created_at")?,
        revoked_at: r.opt_ts("revoked_at")?,
    })
}

/// A token with its family; the token's columns are prefixed so the names stay unique.
fn token_row(r: &Row<'_>) -> rusqlite::Result<(RefreshToken, TokenFamily)> {
    let token = RefreshToken {
        token_digest: r.get("t_digest")?,
        family_id: r.uuid("t_family_id")?,
        created_at: r.ts("t_created_at")?,
        expires_at: r.ts("t_expires_at")?,
        used_at: r.opt_ts("t_used_at")?,
    };
    Ok((token, family_row(r)?))
}

fn insert_token(c: &Connection, t: &RefreshToken, family_id: Uuid) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO refresh_tokens (token_digest, family_id, created_at, expires_at, used_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        t.token_digest,
        text(family_id),
        micros(t.created_at),
        micros(t.expires_at),
        opt_micros(t.used_at),
    ])?;
    Ok(())
}

pub(super) fn create(c: &Connection, f: &TokenFamily, first: &RefreshToken) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO token_families (id, tenant_id, client_id, account_id, scope, auth,
             created_at, revoked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        text(f.id),
        text(f.tenant_id),
        f.client_id,
        text(f.account_id),
        f.scope,
        json(&f.auth)?,
        micros(f.created_at),
        opt_micros(f.revoked_at),
    ])?;
    insert_token(c, first, f.id)
}

pub(super) fn token(c: &Connection, digest: &str) -> DbResult<Option<(RefreshToken, TokenFamily)>> {
    let sql = format!(
        "SELECT t.token_digest AS t_digest, t.family_id AS t_family_id,
             t.created_at AS t_created_at, t.expires_at AS t_expires_at, t.used_at AS t_used_at,
             {FAMILY_COLUMNS}
         FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id
         WHERE t.token_digest = ?1"
    );
    Ok(c.prepare_cached(&sql)?
        .query_row([digest], token_row)
        .optional()?)
}

/// Runs inside the writer's `BEGIN IMMEDIATE` transaction: reading the token and marking it
/// used cannot interleave with another rotation, so exactly one caller rotates it.
pub(super) fn rotate(
    c: &Connection,
    digest: &str,
    client_id: &str,
    next: &RefreshToken,
    at: Timestamp,
) -> DbResult<RefreshRotation> {
    let Some((token, family)) = token(c, digest)? else {
        return Ok(RefreshRotation::Invalid);
    };
    if family.client_id != client_id {
        return Ok(RefreshRotation::OtherClient);
    }
    if token.expires_at <= at || family.revoked_at.is_some() {
        return Ok(RefreshRotation::Invalid);
    }
    if token.used_at.is_some() {
        revoke(c, family.id, at)?;
        return Ok(RefreshRotation::Reused {
            family_id: family.id,
        });
    }
    c.prepare_cached("UPDATE refresh_tokens SET used_at = ?2 WHERE token_digest = ?1")?
        .execute(params![digest, micros(at)])?;
    // The successor joins the presented token's family whatever `next.family_id` says: a
    // token can never move a grant into another family.
    insert_token(c, next, family.id)?;
    let account = super::accounts::by_id(c, family.account_id)?.map(Box::new);
    Ok(RefreshRotation::Rotated(family, account))
}

pub(super) fn by_id(c: &Connection, id: Uuid) -> DbResult<Option<TokenFamily>> {
    let sql = format!("SELECT {FAMILY_COLUMNS} FROM token_families f WHERE f.id = ?1");
    Ok(c.prepare_cached(&sql)?
        .query_row([text(id)], family_row)
        .optional()?)
}

/// Keeps the first revocation time: a second revocation changes nothing.
pub(super) fn revoke(c: &Connection, id: Uuid, at: Timestamp) -> DbResult<bool> {
    let n = c
        .prepare_cached(
            "UPDATE token_families SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![text(id), micros(at)])?;
    Ok(n > 0)
}

pub(super) fn revoke_of_account(c: &Connection, account_id: Uuid, at: Timestamp) -> DbResult<u64> {
    let n = c
        .prepare_cached(
            "UPDATE token_families SET revoked_at = ?2
             WHERE account_id = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![text(account_id), micros(at)])?;
    Ok(n as u64)
}

/// Should the same jti be revoked twice, the later expiry wins, so the record never goes
/// before the token does.
pub(super) fn revoke_access_token(
    c: &Connection,
    jti: &str,
    expires_at: Timestamp,
) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?1, ?2)
         ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
    )?
    .execute(params![jti, micros(expires_at)])?;
    Ok(())
}

pub(super) fn access_token_revoked(
    c: &Connection,
    jti: &str,
    family_id: Option<Uuid>,
) -> DbResult<bool> {
    // A NULL family id matches no row, so `None` checks the jti only.
    Ok(c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = ?1)
             OR EXISTS (SELECT 1 FROM token_families WHERE id = ?2 AND revoked_at IS NOT NULL)",
    )?
    .query_row(params![jti, opt_text(family_id)], |r| r.get(0))?)
}

/// Expired refresh tokens and revoked-jti records. Families have no expiry and stay.
pub(super) fn purge(c: &Connection, now: Timestamp) -> DbResult<u64> {
    let mut total = 0;
    for sql in [
        "DELETE FROM refresh_tokens WHERE expires_at < ?1",
        "DELETE FROM revoked_access_tokens WHERE expires_at < ?1",
    ] {
        total += c.prepare_cached(sql)?.execute([micros(now)])? as u64;
    }
    Ok(total)
}
