//! Secrets, failure counting, sign-in bookkeeping and account status.

use idp_core::model::{AccountSecrets, AccountStatus, Timestamp};
use idp_core::store::FailureCount;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::codec::{RowExt, micros, text};
use super::error::DbResult;

pub(super) fn secrets(c: &Connection, id: Uuid) -> DbResult<Option<AccountSecrets>> {
    let mut stmt = c.prepare_cached(
        "SELECT password_hash, pin_hash FROM account_secrets WHERE account_id = ?1",
    )?;
    let found = stmt.query_row([text(id)], |r| {
        Ok(AccountSecrets {
            password_hash: r.get("password_hash")?,
            pin_hash: r.get("pin_hash")?,
        })
    });
    Ok(found.optional()?)
}

pub(super) fn set_password_hash(
    c: &Connection,
    id: Uuid,
    hash: &str,
    need_change: bool,
    at: Timestamp,
) -> DbResult<bool> {
    let id = text(id);
    let n = c
        .prepare_cached(
            "UPDATE accounts SET need_change_password = ?2, password_changed_at = ?3,
                 updated_at = ?3
             WHERE id = ?1",
        )?
        .execute(params![id, need_change, micros(at)])?;
    if n == 0 {
        return Ok(false);
    }
    // Upsert: an account always has a secrets row, but a missing one is no reason to fail.
    c.prepare_cached(
        "INSERT INTO account_secrets (account_id, password_hash) VALUES (?1, ?2)
         ON CONFLICT (account_id) DO UPDATE SET password_hash = excluded.password_hash",
    )?
    .execute(params![id, hash])?;
    Ok(true)
}

pub(super) fn set_pin_hash(
    c: &Connection,
    id: Uuid,
    hash: Option<&str>,
    at: Timestamp,
) -> DbResult<bool> {
    let id = text(id);
    let n = c
        .prepare_cached("UPDATE accounts SET updated_at = ?2 WHERE id = ?1")?
        .execute(params![id, micros(at)])?;
    if n == 0 {
        return Ok(false);
    }
    c.prepare_cached(
        "INSERT INTO account_secrets (account_id, pin_hash) VALUES (?1, ?2)
         ON CONFLICT (account_id) DO UPDATE SET pin_hash = excluded.pin_hash",
    )?
    .execute(params![id, hash])?;
    Ok(true)
}

/// One statement, so concurrent failures can neither be lost nor lock twice. In an UPDATE the
/// right-hand sides see the old row, hence `failed_attempts + 1` in the CASE.
pub(super) fn record_failure(
    c: &Connection,
    id: Uuid,
    lock_after: u32,
    at: Timestamp,
) -> DbResult<Option<FailureCount>> {
    let mut stmt = c.prepare_cached(
        "UPDATE accounts SET
             failed_attempts = failed_attempts + 1,
             status = CASE
                 WHEN ?2 > 0 AND failed_attempts + 1 >= ?2 AND status = ?4 THEN ?5
                 ELSE status
             END,
             updated_at = ?3
         WHERE id = ?1
         RETURNING failed_attempts, status",
    )?;
    let counted = stmt.query_row(
        params![
            text(id),
            lock_after,
            micros(at),
            AccountStatus::Active.as_str(),
            AccountStatus::Locked.as_str(),
        ],
        |r| {
            Ok(FailureCount {
                failed_attempts: r.get("failed_attempts")?,
                status: r.parsed("status")?,
            })
        },
    );
    Ok(counted.optional()?)
}

/// A sign-in is not an edit of the account: `updated_at` stays.
pub(super) fn record_login(c: &Connection, id: Uuid, at: Timestamp) -> DbResult<bool> {
    let n = c
        .prepare_cached(
            "UPDATE accounts SET failed_attempts = 0, last_login_at = ?2 WHERE id = ?1",
        )?
        .execute(params![text(id), micros(at)])?;
    Ok(n > 0)
}

/// Unlocking (leaving LOCKED) or activating gives the account a fresh count of failures.
pub(super) fn set_status(
    c: &Connection,
    id: Uuid,
    status: AccountStatus,
    at: Timestamp,
) -> DbResult<bool> {
    let n = c
        .prepare_cached(
            "UPDATE accounts SET
                 failed_attempts = CASE
                     WHEN (status = ?4 AND ?2 <> ?4) OR ?2 = ?5 THEN 0
                     ELSE failed_attempts
                 END,
                 status = ?2,
                 updated_at = ?3
             WHERE id = ?1",
        )?
        .execute(params![
            text(id),
            status.as_str(),
            micros(at),
            AccountStatus::Locked.as_str(),
            AccountStatus::Active.as_str(),
        ])?;
    Ok(n > 0)
}
