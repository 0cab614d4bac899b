//! Signing keys. The newest key of an algorithm signs; superseded ones stay listed (for the
//! JWKS) until the tokens they signed have expired.

use idp_core::model::{SigningKey, Timestamp};
use rusqlite::{Connection, Row, params};

use super::codec::{RowExt, json, micros, opt_micros};
use super::error::DbResult;

fn row(r: &Row<'_>) -> rusqlite::Result<SigningKey> {
    Ok(SigningKey {
        kid: r.get("kid")?,
        alg: r.parsed("alg")?,
        private_der: r.get("private_der")?,
        public_jwk: r.json("public_jwk")?,
        created_at: r.ts("created_at")?,
        superseded_at: r.opt_ts("superseded_at")?,
    })
}

/// Inserts before superseding, so a duplicate kid fails before anything else is touched.
pub(super) fn insert(c: &Connection, key: &SigningKey) -> DbResult<()> {
    c.prepare_cached(
        "INSERT INTO signing_keys (kid, alg, private_der, public_jwk, created_at, superseded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        key.kid,
        key.alg.as_str(),
        key.private_der,
        json(&key.public_jwk)?,
        micros(key.created_at),
        opt_micros(key.superseded_at),
    ])?;
    // Only keys no newer than this one: a back-dated key must not retire a newer signer.
    c.prepare_cached(
        "UPDATE signing_keys SET superseded_at = ?3
         WHERE alg = ?2 AND kid <> ?1 AND superseded_at IS NULL AND created_at <= ?3",
    )?
    .execute(params![key.kid, key.alg.as_str(), micros(key.created_at)])?;
    Ok(())
}

pub(super) fn list(c: &Connection) -> DbResult<Vec<SigningKey>> {
    let mut stmt = c.prepare_cached(
        "SELECT kid, alg, private_der, public_jwk, created_at, superseded_at
         FROM signing_keys ORDER BY created_at DESC, kid DESC",
    )?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn delete_superseded_before(c: &Connection, before: Timestamp) -> DbResult<u64> {
    // NULL (current keys) never compares below anything, so they are never deleted here.
    let n = c
        .prepare_cached("DELETE FROM signing_keys WHERE superseded_at < ?1")?
        .execute([micros(before)])?;
    Ok(n as u64)
}
