//! Second factors: at most one of each kind per account.

use idp_core::model::{Factor, FactorKind};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::codec::{RowExt, micros, text};
use super::error::{DbResult, missing};

fn row(r: &Row<'_>) -> rusqlite::Result<Factor> {
    Ok(Factor {
        account_id: r.uuid("account_id")?,
        kind: r.parsed("kind")?,
        secret: r.get("secret")?,
        confirmed: r.get("confirmed")?,
        created_at: r.ts("created_at")?,
    })
}

/// Inserts the factor, or replaces every field of the account's factor of that kind.
pub(super) fn put(c: &Connection, f: &Factor) -> DbResult<()> {
    let account_id = text(f.account_id);
    c.prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")?
        .query_row([&account_id], |_| Ok(()))
        .optional()?
        .ok_or_else(|| missing("account"))?;
    c.prepare_cached(
        "INSERT INTO account_factors (account_id, kind, secret, confirmed, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account_id, kind) DO UPDATE SET secret = excluded.secret,
             confirmed = excluded.confirmed, created_at = excluded.created_at",
    )?
    .execute(params![
        account_id,
        f.kind.as_str(),
        f.secret,
        f.confirmed,
        micros(f.created_at),
    ])?;
    Ok(())
}

/// Ordered by kind, in [`FactorKind`]'s own order (not the names' alphabetical one).
pub(super) fn of_account(c: &Connection, account_id: Uuid) -> DbResult<Vec<Factor>> {
    let mut stmt = c.prepare_cached(
        "SELECT account_id, kind, secret, confirmed, created_at
         FROM account_factors WHERE account_id = ?1",
    )?;
    let rows = stmt.query_map([text(account_id)], row)?;
    let mut factors = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    factors.sort_by_key(|f| f.kind);
    Ok(factors)
}

pub(super) fn delete(c: &Connection, account_id: Uuid, kind: FactorKind) -> DbResult<bool> {
    let n = c
        .prepare_cached("DELETE FROM account_factors WHERE account_id = ?1 AND kind = ?2")?
        .execute(params![text(account_id), kind.as_str()])?;
    Ok(n > 0)
}
