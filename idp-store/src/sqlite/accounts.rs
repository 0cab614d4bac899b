//! Accounts: creation, lookups, profile updates and deletion.

use idp_core::model::{Account, AccountKey, Page};
use idp_core::store::NewAccount;
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::codec::{RowExt, json, micros, opt_micros, text};
use super::error::DbResult;
use super::roles;

macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, tenant_id, number, username, email, phone, email_verified,
                    phone_verified, user_type, status, need_change_password, failed_attempts,
                    profile, created_at, updated_at, last_login_at, password_changed_at
             FROM accounts ",
            $rest
        )
    };
}

pub(super) fn row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.uuid("id")?,
        tenant_id: r.uuid("tenant_id")?,
        number: r.get("number")?,
        username: r.get("username")?,
        email: r.get("email")?,
        phone: r.get("phone")?,
        email_verified: r.get("email_verified")?,
        phone_verified: r.get("phone_verified")?,
        user_type: r.get("user_type")?,
        status: r.parsed("status")?,
        need_change_password: r.get("need_change_password")?,
        failed_attempts: r.get("failed_attempts")?,
        profile: r.json("profile")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        last_login_at: r.opt_ts("last_login_at")?,
        password_changed_at: r.opt_ts("password_changed_at")?,
    })
}

/// What usernames are compared by. Computed here, on write and on lookup alike, so both sides
/// agree on Unicode case folding (SQLite's own lower() only folds ASCII).
fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// Inserts the account, its secrets and its roles. The caller's transaction makes it all or
/// nothing, including the account number, which a failed insert does not use up.
pub(super) fn create(c: &Connection, new: &NewAccount) -> DbResult<Account> {
    let a = &new.account;
    let number: i64 = c
        .prepare_cached(
            "UPDATE sequences SET next = next + 1 WHERE name = 'account_number' RETURNING next - 1",
        )?
        .query_row([], |r| r.get(0))?;
    c.prepare_cached(
        "INSERT INTO accounts (id, tenant_id, number, username, username_key, email, phone,
             email_verified, phone_verified, user_type, status, need_change_password,
             failed_attempts, profile, created_at, updated_at, last_login_at, password_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?
    .execute(params![
        text(a.id),
        text(a.tenant_id),
        number,
        a.username,
        username_key(&a.username),
        a.email,
        a.phone,
        a.email_verified,
        a.phone_verified,
        a.user_type,
        a.status.as_str(),
        a.need_change_password,
        a.failed_attempts,
        json(&a.profile)?,
        micros(a.created_at),
        micros(a.updated_at),
        opt_micros(a.last_login_at),
        opt_micros(a.password_changed_at),
    ])?;
    c.prepare_cached(
        "INSERT INTO account_secrets (account_id, password_hash, pin_hash) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![
        text(a.id),
        new.secrets.password_hash,
        new.secrets.pin_hash
    ])?;
    for &role_id in &new.role_ids {
        roles::assign(c, a.id, role_id, a.created_at)?;
    }
    Ok(Account {
        number,
        ..a.clone()
    })
}

pub(super) fn by_id(c: &Connection, id: Uuid) -> DbResult<Option<Account>> {
    let mut stmt = c.prepare_cached(select!("WHERE id = ?1"))?;
    Ok(stmt.query_row([text(id)], row).optional()?)
}

pub(super) fn by_number(c: &Connection, number: i64) -> DbResult<Option<Account>> {
    let mut stmt = c.prepare_cached(select!("WHERE number = ?1"))?;
    Ok(stmt.query_row([number], row).optional()?)
}

pub(super) fn find(c: &Connection, tenant_id: Uuid, key: &AccountKey) -> DbResult<Option<Account>> {
    let (sql, value) = match key {
        AccountKey::Username(u) => (
            select!("WHERE tenant_id = ?1 AND username_key = ?2"),
            username_key(u),
        ),
        AccountKey::Email(e) => (select!("WHERE tenant_id = ?1 AND email = ?2"), e.clone()),
        AccountKey::Phone(p) => (select!("WHERE tenant_id = ?1 AND phone = ?2"), p.clone()),
        // Emails are stored lower-cased, so the folded login matches them too. Should one
        // account's username be another's email, the username wins.
        AccountKey::Login(l) => (
            select!(
                "WHERE tenant_id = ?1 AND (username_key = ?2 OR email = ?2)
                 ORDER BY username_key = ?2 DESC LIMIT 1"
            ),
            username_key(l),
        ),
    };
    let mut stmt = c.prepare_cached(sql)?;
    Ok(stmt
        .query_row(params![text(tenant_id), value], row)
        .optional()?)
}

pub(super) fn list(c: &Connection, tenant_id: Uuid, page: Page) -> DbResult<Vec<Account>> {
    let mut stmt = c.prepare_cached(select!(
        "WHERE tenant_id = ?1 ORDER BY created_at, number LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![text(tenant_id), page.limit, page.offset], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes the fields an account edit may change; counters, timestamps of sign-in and password
/// and identity fields belong to other operations.
pub(super) fn update(c: &Connection, a: &Account) -> DbResult<bool> {
    let n = c
        .prepare_cached(
            "UPDATE accounts SET username = ?2, username_key = ?3, email = ?4, phone = ?5,
                 email_verified = ?6, phone_verified = ?7, user_type = ?8, status = ?9,
                 need_change_password = ?10, profile = ?11, updated_at = ?12
             WHERE id = ?1",
        )?
        .execute(params![
            text(a.id),
            a.username,
            username_key(&a.username),
            a.email,
            a.phone,
            a.email_verified,
            a.phone_verified,
            a.user_type,
            a.status.as_str(),
            a.need_change_password,
            json(&a.profile)?,
            micros(a.updated_at),
        ])?;
    Ok(n > 0)
}

/// Removes everything that hangs off the account; audit records are not among it, nor are
/// authorization codes (they expire within minutes and reference no account row).
pub(super) fn delete(c: &Connection, id: Uuid) -> DbResult<bool> {
    let id = text(id);
    for sql in [
        // Tokens before their families, which they reference.
        "DELETE FROM refresh_tokens
         WHERE family_id IN (SELECT id FROM token_families WHERE account_id = ?1)",
        "DELETE FROM token_families WHERE account_id = ?1",
        "DELETE FROM sessions WHERE account_id = ?1",
        "DELETE FROM consents WHERE account_id = ?1",
        "DELETE FROM challenges WHERE account_id = ?1",
        "DELETE FROM account_factors WHERE account_id = ?1",
        "DELETE FROM account_roles WHERE account_id = ?1",
        "DELETE FROM security_answers WHERE account_id = ?1",
        "DELETE FROM account_secrets WHERE account_id = ?1",
    ] {
        c.prepare_cached(sql)?.execute([&id])?;
    }
    let n = c
        .prepare_cached("DELETE FROM accounts WHERE id = ?1")?
        .execute([&id])?;
    Ok(n > 0)
}
