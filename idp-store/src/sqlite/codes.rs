//! Authorization codes, spendable once.

use idp_core::model::{AuthorizationCode, CodeRedemption, RefreshToken, Timestamp, TokenFamily};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::codec::{RowExt, json, micros, text};
use super::error::DbResult;
use super::families;

fn row(r: &Row<'_>) -> rusqlite::Result<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_digest: r.get("code_digest")?,
        client_id: r.get("client_id")?,
        tenant_id: r.uuid("tenant_id")?,
        account_id: r.uuid("account_id")?,
        redirect_uri: r.get("redirect_uri")?,
        scope: r.get("scope")?,
        nonce: r.get("nonce")?,
        pkce: r.get("pkce")?,
        auth: r.json("auth")?,
        created_at: r.ts("created_at")?,
        expires_at: r.ts("expires_at")?,
    })
}

pub(super) fn insert(c: &Connection, code: &AuthorizationCode) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO authorization_codes (code_digest, client_id, tenant_id, account_id,
             redirect_uri, scope, nonce, pkce, auth, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        code.code_digest,
        code.client_id,
        text(code.tenant_id),
        text(code.account_id),
        code.redirect_uri,
        code.scope,
        code.nonce,
        code.pkce,
        json(&code.auth)?,
        micros(code.created_at),
        micros(code.expires_at),
    ])?;
    Ok(())
}

/// Runs inside the writer's `BEGIN IMMEDIATE` transaction, so the conditional UPDATE, the
/// family it creates and the follow-up SELECT see no other redemption in between: one caller
/// wins, the rest replay.
pub(super) fn redeem(
    c: &Connection,
    digest: &str,
    first: &RefreshToken,
    at: Timestamp,
) -> DbResult<CodeRedemption> {
    let family_id = first.family_id;
    let spent = c
        .prepare_cached(
            "UPDATE authorization_codes SET family_id = ?2, redeemed_at = ?3
             WHERE code_digest = ?1 AND redeemed_at IS NULL
             RETURNING code_digest, client_id, tenant_id, account_id, redirect_uri, scope,
                 nonce, pkce, auth, created_at, expires_at",
        )?
        .query_row(params![digest, text(family_id), micros(at)], row)
        .optional()?;
    if let Some(code) = spent {
        let family = TokenFamily {
            id: family_id,
            tenant_id: code.tenant_id,
            client_id: code.client_id.clone(),
            account_id: code.account_id,
            scope: code.scope.clone(),
            auth: code.auth.clone(),
            created_at: at,
            revoked_at: None,
        };
        families::create(c, &family, first)?;
        return Ok(CodeRedemption::Redeemed(code));
    }
    let earlier = c
        .prepare_cached("SELECT family_id FROM authorization_codes WHERE code_digest = ?1")?
        .query_row([digest], |r| r.opt_uuid("family_id"))
        .optional()?;
    Ok(match earlier {
        Some(family_id) => CodeRedemption::Replayed { family_id },
        None => CodeRedemption::Unknown,
    })
}

pub(super) fn purge(c: &Connection, now: Timestamp) -> DbResult<u64> {
    let n = c
        .prepare_cached("DELETE FROM authorization_codes WHERE expires_at < ?1")?
        .execute([micros(now)])?;
    Ok(n as u64)
}
