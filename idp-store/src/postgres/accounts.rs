//! Accounts and their secrets: creation, look-ups by id, number and login, updates, the
//! failure count and sign-in bookkeeping. The [`Store`](idp_core::store::Store) impl in
//! `postgres.rs` delegates here.

use deadpool_postgres::GenericClient;
use idp_core::model::*;
use idp_core::store::*;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::error::pg;
use super::rows::{self, account_cols, by_login, get};
use super::{PostgresStore, execute, query, query_one, query_opt};

fn count_param(n: u32) -> StoreResult<i32> {
    i32::try_from(n).map_err(|_| StoreError::Internal(format!("count {n} out of range")))
}

pub(super) async fn create_account(s: &PostgresStore, new: &NewAccount) -> StoreResult<Account> {
    let a = &new.account;
    let mut c = s.conn().await?;
    let tx = c.transaction().await.map_err(pg)?;
    let row = query_one(
        &tx,
        "INSERT INTO accounts (id, tenant_id, username, username_key, email, phone, \
         email_verified, phone_verified, user_type, status, need_change_password, \
         failed_attempts, profile, password_hash, pin_hash, created_at, updated_at, \
         last_login_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19) RETURNING number",
        &[
            &a.id,
            &a.tenant_id,
            &a.username,
            &a.username.to_lowercase(),
            &a.email,
            &a.phone,
            &a.email_verified,
            &a.phone_verified,
            &a.user_type,
            &a.status.as_str(),
            &a.need_change_password,
            &count_param(a.failed_attempts)?,
            &Json(&a.profile),
            &new.secrets.password_hash,
            &new.secrets.pin_hash,
            &a.created_at,
            &a.updated_at,
            &a.last_login_at,
            &a.password_changed_at,
        ],
    )
    .await?;
    let number: i64 = get(&row, "number")?;
    if !new.role_ids.is_empty() {
        execute(
            &tx,
            "INSERT INTO account_roles (account_id, tenant_id, role_id, assigned_at) \
             SELECT $1, $2, r, $3 FROM unnest($4::bigint[]) AS r \
             ON CONFLICT DO NOTHING",
            &[&a.id, &a.tenant_id, &a.created_at, &new.role_ids],
        )
        .await?;
    }
    tx.commit().await.map_err(pg)?;
    Ok(Account {
        number,
        ..a.clone()
    })
}

pub(super) async fn account_by_id(s: &PostgresStore, id: Uuid) -> StoreResult<Option<Account>> {
    let c = s.conn().await?;
    let sql = concat!("SELECT ", account_cols!(), " FROM accounts WHERE id = $1");
    query_opt(&c, sql, &[&id])
        .await?
        .map(|r| rows::account(&r))
        .transpose()
}

pub(super) async fn account_by_number(
    s: &PostgresStore,
    number: i64,
) -> StoreResult<Option<Account>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        account_cols!(),
        " FROM accounts WHERE number = $1"
    );
    query_opt(&c, sql, &[&number])
        .await?
        .map(|r| rows::account(&r))
        .transpose()
}

pub(super) async fn find_account(
    s: &PostgresStore,
    tenant_id: Uuid,
    key: &AccountKey,
) -> StoreResult<Option<Account>> {
    let c = s.conn().await?;
    let row = match key {
        AccountKey::Username(u) => {
            let sql = concat!(
                "SELECT ",
                account_cols!(),
                " FROM accounts WHERE tenant_id = $1 AND username_key = $2"
            );
            query_opt(&c, sql, &[&tenant_id, &u.to_lowercase()]).await?
        }
        AccountKey::Email(e) => {
            let sql = concat!(
                "SELECT ",
                account_cols!(),
                " FROM accounts WHERE tenant_id = $1 AND email = $2"
            );
            query_opt(&c, sql, &[&tenant_id, e]).await?
        }
        AccountKey::Phone(p) => {
            let sql = concat!(
                "SELECT ",
                account_cols!(),
                " FROM accounts WHERE tenant_id = $1 AND phone = $2"
            );
            query_opt(&c, sql, &[&tenant_id, p]).await?
        }
        AccountKey::Login(login) => {
            let sql = concat!("SELECT ", account_cols!(), " FROM accounts ", by_login!());
            query_opt(&c, sql, &[&tenant_id, &login.to_lowercase(), login]).await?
        }
    };
    row.map(|r| rows::account(&r)).transpose()
}

pub(super) async fn list_accounts(
    s: &PostgresStore,
    tenant_id: Uuid,
    page: Page,
) -> StoreResult<Vec<Account>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        account_cols!(),
        " FROM accounts WHERE tenant_id = $1 ORDER BY created_at, number LIMIT $2 OFFSET $3"
    );
    let (limit, offset) = (i64::from(page.limit), i64::from(page.offset));
    query(&c, sql, &[&tenant_id, &limit, &offset])
        .await?
        .iter()
        .map(rows::account)
        .collect()
}

pub(super) async fn update_account(s: &PostgresStore, a: &Account) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(
        &c,
        "UPDATE accounts SET username = $2, username_key = $3, email = $4, phone = $5, \
         email_verified = $6, phone_verified = $7, user_type = $8, status = $9, \
         need_change_password = $10, profile = $11, updated_at = $12 WHERE id = $1",
        &[
            &a.id,
            &a.username,
            &a.username.to_lowercase(),
            &a.email,
            &a.phone,
            &a.email_verified,
            &a.phone_verified,
            &a.user_type,
            &a.status.as_str(),
            &a.need_change_password,
            &Json(&a.profile),
            &a.updated_at,
        ],
    )
    .await?;
    Ok(n > 0)
}

pub(super) async fn find_login(
    s: &PostgresStore,
    tenant_id: Uuid,
    login: &str,
) -> StoreResult<Option<LoginRecord>> {
    let c = s.conn().await?;
    let sql = concat!(
        "SELECT ",
        account_cols!(),
        ", password_hash, pin_hash, \
         ARRAY(SELECT f.kind FROM account_factors f \
               WHERE f.account_id = accounts.id AND f.confirmed) AS confirmed \
         FROM accounts ",
        by_login!()
    );
    let row = query_opt(&c, sql, &[&tenant_id, &login.to_lowercase(), &login]).await?;
    row.map(|r| {
        Ok(LoginRecord {
            account: rows::account(&r)?,
            secrets: rows::secrets(&r)?,
            confirmed_factors: super::mfa::confirmed_kinds(&r)?,
        })
    })
    .transpose()
}

pub(super) async fn account_secrets(
    s: &PostgresStore,
    id: Uuid,
) -> StoreResult<Option<AccountSecrets>> {
    let c = s.conn().await?;
    query_opt(
        &c,
        "SELECT password_hash, pin_hash FROM accounts WHERE id = $1",
        &[&id],
    )
    .await?
    .map(|r| rows::secrets(&r))
    .transpose()
}

pub(super) async fn set_password_hash(
    s: &PostgresStore,
    id: Uuid,
    hash: &str,
    need_change: bool,
    at: Timestamp,
) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(
        &c,
        "UPDATE accounts SET password_hash = $2, need_change_password = $3, \
         password_changed_at = $4, updated_at = $4 WHERE id = $1",
        &[&id, &hash, &need_change, &at],
    )
    .await?;
    Ok(n > 0)
}

pub(super) async fn set_pin_hash(
    s: &PostgresStore,
    id: Uuid,
    hash: Option<&str>,
    at: Timestamp,
) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(
        &c,
        "UPDATE accounts SET pin_hash = $2, updated_at = $3 WHERE id = $1",
        &[&id, &hash, &at],
    )
    .await?;
    Ok(n > 0)
}

pub(super) async fn record_failure(
    s: &PostgresStore,
    id: Uuid,
    lock_after: u32,
    at: Timestamp,
) -> StoreResult<Option<FailureCount>> {
    let c = s.conn().await?;
    // One statement: the row lock taken by UPDATE makes concurrent failures count one by
    // one, and the lock decision sees the count it produces.
    let row = query_opt(
        &c,
        "UPDATE accounts SET failed_attempts = failed_attempts + 1, \
         status = CASE WHEN $2::bigint > 0 AND failed_attempts + 1 >= $2::bigint \
                       AND status = 'ACTIVE' THEN 'LOCKED' ELSE status END, \
         updated_at = $3 \
         WHERE id = $1 RETURNING failed_attempts, status",
        &[&id, &i64::from(lock_after), &at],
    )
    .await?;
    row.map(|r| rows::failure_count(&r)).transpose()
}

pub(super) async fn record_login(s: &PostgresStore, id: Uuid, at: Timestamp) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(
        &c,
        "UPDATE accounts SET failed_attempts = 0, last_login_at = $2 WHERE id = $1",
        &[&id, &at],
    )
    .await?;
    Ok(n > 0)
}

pub(super) async fn set_status(
    s: &PostgresStore,
    id: Uuid,
    status: AccountStatus,
    at: Timestamp,
) -> StoreResult<bool> {
    let c = s.conn().await?;
    let n = execute(
        &c,
        "UPDATE accounts SET status = $2::text, \
         failed_attempts = CASE WHEN (status = 'LOCKED' AND $2::text <> 'LOCKED') \
                                  OR $2::text = 'ACTIVE' THEN 0 ELSE failed_attempts END, \
         updated_at = $3 WHERE id = $1",
        &[&id, &status.as_str(), &at],
    )
    .await?;
    Ok(n > 0)
}

pub(super) async fn delete_account(s: &PostgresStore, id: Uuid) -> StoreResult<bool> {
    let c = s.conn().await?;
    // Answers, role assignments, token families (with their refresh tokens), sessions,
    // consents, challenges and factors go with it (ON DELETE CASCADE), in this one
    // statement; secrets live in the account row. Audit records have no foreign key and
    // stay.
    let n = execute(&c, "DELETE FROM accounts WHERE id = $1", &[&id]).await?;
    Ok(n > 0)
}
