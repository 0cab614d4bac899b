//! PostgreSQL store: a deadpool pool of tokio-postgres connections, cached prepared statements,
//! and the schema of `migrations/postgres`.
//!
//! Every statement uses unqualified table names, so the connection's `search_path` (e.g.
//! `?options=-csearch_path%3Dtenant_x`) picks the schema. Uniqueness and references are
//! enforced by named constraints, which `error.rs` maps to [`StoreError`] by name; rules that
//! span tenants (a role assigned to an account of another tenant, an answer to another
//! tenant's question) are enforced by composite foreign keys on `(id, tenant_id)`.

mod bearer;
mod error;
mod grants;
mod mfa;
mod migrate;
mod rows;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts,
};
use idp_core::model::*;
use idp_core::store::*;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

use self::error::{corrupt, pg};
use self::rows::{account_cols, answer_cols, audit_cols, by_login, client_cols, get, tenant_cols};

/// How long opening one connection may take before the call fails as `Unavailable`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call may wait for a pooled connection (and for creating or recycling one).
const POOL_TIMEOUT: Duration = Duration::from_secs(5);
/// Server-side limit on one statement, in milliseconds.
const STATEMENT_TIMEOUT_MS: u32 = 15_000;

type Params<'a> = [&'a (dyn ToSql + Sync)];

/// The PostgreSQL implementation of [`Store`]. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    bearer_checks: bearer::BearerChecks,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresStore")
            .field("max_size", &status.max_size)
            .field("size", &status.size)
            .field("available", &status.available)
            .finish()
    }
}

impl PostgresStore {
    /// Builds a pool of at most `max_connections` connections to `url` (a `postgres://` URL or
    /// a key=value connection string) and checks that one connection can be opened.
    ///
    /// A malformed URL is `Internal`; a server that cannot be reached is `Unavailable`. Opening
    /// a connection times out after 5 s (unless the URL sets `connect_timeout`), a statement
    /// after 15 s (unless the URL's `options` set `statement_timeout`), and so does
    /// waiting for a pooled connection, so an outage fails calls fast instead of queueing them.
    pub async fn connect(url: &str, max_connections: usize) -> StoreResult<PostgresStore> {
        // The parse error never echoes the URL, which may carry a password.
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| {
                let detail = std::error::Error::source(&e)
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default();
                StoreError::Internal(format!("invalid PostgreSQL URL ({e}{detail})"))
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("idp");
        }
        // A statement stuck behind a lock must fail, not hold a request (and a pooled
        // connection) forever. The URL's own `options` may set another value.
        let options = config.get_options().unwrap_or_default().to_owned();
        if !options.contains("statement_timeout") {
            config.options(
                format!("{options} -c statement_timeout={STATEMENT_TIMEOUT_MS}").trim_start(),
            );
        }
        let store = PostgresStore {
            bearer_checks: bearer::BearerChecks::start(config.clone())?,
            pool: pool(config, max_connections)?,
        };
        store.ping().await?;
        Ok(store)
    }

    /// Applies the embedded migrations that the database has not seen yet, each in its own
    /// transaction under an advisory lock (so concurrent starters apply each one once), and
    /// returns the names of those applied now. Idempotent.
    pub async fn migrate(&self) -> StoreResult<Vec<String>> {
        let mut client = self.conn().await?;
        let applied = migrate::run(&mut client).await?;
        if !applied.is_empty() {
            // Statements prepared against the old schema may no longer describe it.
            self.pool.manager().statement_caches.clear();
            self.bearer_checks.clear_statement_caches();
        }
        Ok(applied)
    }

    async fn conn(&self) -> StoreResult<deadpool_postgres::Client> {
        pooled(&self.pool).await
    }
}

/// A connection from `pool`, its wait recorded (`idp_store_operation_seconds{op="connect"}`).
async fn pooled(pool: &Pool) -> StoreResult<deadpool_postgres::Client> {
    timed("connect", async { pool.get().await.map_err(error::pool) }).await
}

/// A pool of at most `max_size` connections made from `config`.
fn pool(config: tokio_postgres::Config, max_size: usize) -> StoreResult<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size.max(1))
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(POOL_TIMEOUT),
            create: Some(POOL_TIMEOUT),
            recycle: Some(POOL_TIMEOUT),
        })
        .build()
        .map_err(|e| StoreError::Internal(format!("cannot build PostgreSQL pool: {e}")))
}

// --- statement helpers: prepared once per connection, errors mapped, timed ---

/// Runs one statement and records its latency (`idp_store_operation_seconds`).
async fn timed<T>(op: &'static str, f: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let started = std::time::Instant::now();
    let out = f.await;
    idp_core::metrics::store_call("postgres", op, started.elapsed());
    out
}

/// PostgreSQL text cannot hold NUL, so it refuses a parameter with one (SQLSTATE 22021) where
/// SQLite just finds no match. No stored value can equal such a parameter: a lookup by it finds
/// nothing (hostile input such as `%00` in a path id, found by tests/it/hostile.rs).
fn holds_nul(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE)
}

async fn query<C: GenericClient>(c: &C, sql: &str, params: &Params<'_>) -> StoreResult<Vec<Row>> {
    timed("query", async {
        let stmt = c.prepare_cached(sql).await.map_err(pg)?;
        match c.query(&stmt, params).await {
            Err(e) if holds_nul(&e) => Ok(Vec::new()),
            rows => rows.map_err(pg),
        }
    })
    .await
}

async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &Params<'_>,
) -> StoreResult<Option<Row>> {
    timed("query", async {
        let stmt = c.prepare_cached(sql).await.map_err(pg)?;
        match c.query_opt(&stmt, params).await {
            Err(e) if holds_nul(&e) => Ok(None),
            row => row.map_err(pg),
        }
    })
    .await
}

async fn query_one<C: GenericClient>(c: &C, sql: &str, params: &Params<'_>) -> StoreResult<Row> {
    timed("query", async {
        let stmt = c.prepare_cached(sql).await.map_err(pg)?;
        c.query_one(&stmt, params).await.map_err(pg)
    })
    .await
}

async fn execute<C: GenericClient>(c: &C, sql: &str, params: &Params<'_>) -> StoreResult<u64> {
    timed("execute", async {
        let stmt = c.prepare_cached(sql).await.map_err(pg)?;
        c.execute(&stmt, params).await.map_err(pg)
    })
    .await
}

fn count_param(n: u32) -> StoreResult<i32> {
    i32::try_from(n).map_err(|_| StoreError::Internal(format!("count {n} out of range")))
}

/// Strings in PostgreSQL text and jsonb cannot hold U+0000; an audit record must not be lost
/// because a caller sent one, so they become U+FFFD there.
fn without_nul(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}").into()
    } else {
        s.into()
    }
}

fn json_without_nul(v: &serde_json::Value) -> std::borrow::Cow<'_, serde_json::Value> {
    fn clean(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) if s.contains('\0') => {
                *s = s.replace('\0', "\u{FFFD}");
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(clean),
            serde_json::Value::Object(o) => {
                let keys: Vec<String> = o.keys().filter(|k| k.contains('\0')).cloned().collect();
                for k in keys {
                    if let Some(val) = o.remove(&k) {
                        o.insert(k.replace('\0', "\u{FFFD}"), val);
                    }
                }
                o.values_mut().for_each(clean);
            }
            _ => {}
        }
    }
    fn has_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(has_nul),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    if has_nul(v) {
        let mut owned = v.clone();
        clean(&mut owned);
        std::borrow::Cow::Owned(owned)
    } else {
        std::borrow::Cow::Borrowed(v)
    }
}

// --- roles and entitlements, shared by several methods ---

/// Fills in the entitlements of `roles`, ordered by name.
async fn with_entitlements<C: GenericClient>(
    c: &C,
    mut roles: Vec<Role>,
) -> StoreResult<Vec<Role>> {
    if roles.is_empty() {
        return Ok(roles);
    }
    let ids: Vec<i64> = roles.iter().map(|r| r.id).collect();
    let rows = query(
        c,
        "SELECT re.role_id, e.id, e.name, e.description, e.created_at \
         FROM role_entitlements re JOIN entitlements e ON e.id = re.entitlement_id \
         WHERE re.role_id = ANY($1) ORDER BY e.name, e.id",
        &[&ids],
    )
    .await?;
    let mut by_role: HashMap<i64, Vec<Entitlement>> = HashMap::new();
    for row in &rows {
        let role_id: i64 = get(row, "role_id")?;
        by_role
            .entry(role_id)
            .or_default()
            .push(rows::entitlement(row)?);
    }
    for role in &mut roles {
        role.entitlements = by_role.remove(&role.id).unwrap_or_default();
    }
    Ok(roles)
}

async fn one_role<C: GenericClient>(c: &C, row: Option<Row>) -> StoreResult<Option<Role>> {
    let Some(row) = row else { return Ok(None) };
    let role = rows::role(&row)?;
    Ok(with_entitlements(c, vec![role]).await?.pop())
}

/// Links the named entitlements to a role, creating the names not seen before.
async fn link_entitlements<C: GenericClient>(
    c: &C,
    role_id: i64,
    names: &[String],
    at: Timestamp,
) -> StoreResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    execute(
        c,
        "INSERT INTO entitlements (name, created_at) \
         SELECT DISTINCT n, $2::timestamptz FROM unnest($1::text[]) AS n \
         ON CONFLICT ON CONSTRAINT entitlements_name_key DO NOTHING",
        &[&names, &at],
    )
    .await?;
    execute(
        c,
        "INSERT INTO role_entitlements (role_id, entitlement_id) \
         SELECT $1, id FROM entitlements WHERE name = ANY($2::text[]) \
         ON CONFLICT DO NOTHING",
        &[&role_id, &names],
    )
    .await?;
    Ok(())
}

// --- security answers ---

/// The question `question_id` if it belongs to `tenant_id`.
async fn tenant_question<C: GenericClient>(
    c: &C,
    tenant_id: Uuid,
    question_id: i64,
) -> StoreResult<SecurityQuestion> {
    let row = query_opt(
        c,
        "SELECT id, tenant_id, question, created_at, updated_at FROM security_questions \
         WHERE id = $1 AND tenant_id = $2",
        &[&question_id, &tenant_id],
    )
    .await?;
    match row {
        Some(row) => rows::question(&row, ""),
        None => Err(StoreError::MissingReference("question")),
    }
}

/// A `RETURNING id, account_id, answer_hash, created_at, updated_at` row plus its question.
fn stored_answer(row: &Row, question: SecurityQuestion) -> StoreResult<StoredAnswer> {
    Ok(StoredAnswer {
        id: get(row, "id")?,
        account_id: get(row, "account_id")?,
        question,
        answer_hash: get(row, "answer_hash")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        let c = self.conn().await?;
        c.simple_query("SELECT 1").await.map_err(pg)?;
        Ok(())
    }

    // --- tenants ---

    async fn create_tenant(&self, t: &Tenant) -> StoreResult<()> {
        let c = self.conn().await?;
        execute(
            &c,
            "INSERT INTO tenants (id, name, description, default_role, settings, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &t.id,
                &t.name,
                &t.description,
                &t.default_role,
                &Json(&t.settings),
                &t.created_at,
                &t.updated_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn tenant_by_id(&self, id: Uuid) -> StoreResult<Option<Tenant>> {
        let c = self.conn().await?;
        let sql = concat!("SELECT ", tenant_cols!(), " FROM tenants WHERE id = $1");
        query_opt(&c, sql, &[&id])
            .await?
            .map(|r| rows::tenant(&r))
            .transpose()
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let c = self.conn().await?;
        let sql = concat!("SELECT ", tenant_cols!(), " FROM tenants WHERE name = $1");
        query_opt(&c, sql, &[&name])
            .await?
            .map(|r| rows::tenant(&r))
            .transpose()
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let c = self.conn().await?;
        let sql = concat!(
            "SELECT ",
            tenant_cols!(),
            " FROM tenants ORDER BY created_at, name"
        );
        query(&c, sql, &[])
            .await?
            .iter()
            .map(rows::tenant)
            .collect()
    }

    async fn update_tenant(&self, t: &Tenant) -> StoreResult<bool> {
        let c = self.conn().await?;
        let n = execute(
            &c,
            "UPDATE tenants SET description = $2, default_role = $3, settings = $4, \
             updated_at = $5 WHERE id = $1",
            &[
                &t.id,
                &t.description,
                &t.default_role,
                &Json(&t.settings),
                &t.updated_at,
            ],
        )
        .await?;
        Ok(n > 0)
    }

    // --- accounts ---

    async fn create_account(&self, new: &NewAccount) -> StoreResult<Account> {
        let a = &new.account;
        let mut c = self.conn().await?;
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

    async fn account_by_id(&self, id: Uuid) -> StoreResult<Option<Account>> {
        let c = self.conn().await?;
        let sql = concat!("SELECT ", account_cols!(), " FROM accounts WHERE id = $1");
        query_opt(&c, sql, &[&id])
            .await?
            .map(|r| rows::account(&r))
            .transpose()
    }

    async fn account_by_number(&self, number: i64) -> StoreResult<Option<Account>> {
        let c = self.conn().await?;
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

    async fn find_account(
        &self,
        tenant_id: Uuid,
        key: &AccountKey,
    ) -> StoreResult<Option<Account>> {
        let c = self.conn().await?;
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

    async fn list_accounts(&self, tenant_id: Uuid, page: Page) -> StoreResult<Vec<Account>> {
        let c = self.conn().await?;
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

    async fn update_account(&self, a: &Account) -> StoreResult<bool> {
        let c = self.conn().await?;
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

    async fn find_login(&self, tenant_id: Uuid, login: &str) -> StoreResult<Option<LoginRecord>> {
        let c = self.conn().await?;
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
                confirmed_factors: mfa::confirmed_kinds(&r)?,
            })
        })
        .transpose()
    }

    async fn account_secrets(&self, id: Uuid) -> StoreResult<Option<AccountSecrets>> {
        let c = self.conn().await?;
        query_opt(
            &c,
            "SELECT password_hash, pin_hash FROM accounts WHERE id = $1",
            &[&id],
        )
        .await?
        .map(|r| rows::secrets(&r))
        .transpose()
    }

    async fn set_password_hash(
        &self,
        id: Uuid,
        hash: &str,
        need_change: bool,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let c = self.conn().await?;
        let n = execute(
            &c,
            "UPDATE accounts SET password_hash = $2, need_change_password = $3, \
             password_changed_at = $4, updated_at = $4 WHERE id = $1",
            &[&id, &hash, &need_change, &at],
        )
        .await?;
        Ok(n > 0)
    }

    async fn set_pin_hash(&self, id: Uuid, hash: Option<&str>, at: Timestamp) -> StoreResult<bool> {
        let c = self.conn().await?;
        let n = execute(
            &c,
            "UPDATE accounts SET pin_hash = $2, updated_at = $3 WHERE id = $1",
            &[&id, &hash, &at],
        )
        .await?;
        Ok(n > 0)
    }

    async fn record_failure(
        &self,
        id: Uuid,
        lock_after: u32,
        at: Timestamp,
    ) -> StoreResult<Option<FailureCount>> {
        let c = self.conn().await?;
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

    async fn record_login(&self, id: Uuid, at: Timestamp) -> StoreResult<bool> {
        let c = self.conn().await?;
        let n = execute(
            &c,
            "UPDATE accounts SET failed_attempts = 0, last_login_at = $2 WHERE id = $1",
            &[&id, &at],
        )
        .await?;
        Ok(n > 0)
    }

    async fn set_status(
        &self,
        id: Uuid,
        status: AccountStatus,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let c = self.conn().await?;
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

    async fn delete_account(&self, id: Uuid) -> StoreResult<bool> {
        let c = self.conn().await?;
        // Answers, role assignments, token families (with their refresh tokens), sessions,
        // consents, challenges and factors go with it (ON DELETE CASCADE), in this one
        // statement; secrets live in the account row. Audit records have no foreign key and
        // stay.
        let n = execute(&c, "DELETE FROM accounts WHERE id = $1", &[&id]).await?;
        Ok(n > 0)
    }

    // --- security questions ---

    async fn create_question(
        &self,
        tenant_id: Uuid,
        question: &str,
        at: Timestamp,
    ) -> StoreResult<SecurityQuestion> {
        let c = self.conn().await?;
        let row = query_one(
            &c,
            "INSERT INTO security_questions (tenant_id, question, created_at, updated_at) \
             VALUES ($1, $2, $3, $3) RETURNING id, tenant_id, question, created_at, updated_at",
            &[&tenant_id, &question, &at],
        )
        .await?;
        rows::question(&row, "")
    }

    async fn list_questions(&self, tenant_id: Uuid) -> StoreResult<Vec<SecurityQuestion>> {
        let c = self.conn().await?;
        query(
            &c,
            "SELECT id, tenant_id, question, created_at, updated_at FROM security_questions \
             WHERE tenant_id = $1 ORDER BY id",
            &[&tenant_id],
        )
        .await?
        .iter()
        .map(|r| rows::question(r, ""))
        .collect()
    }

    async fn put_answer(
        &self,
        account_id: Uuid,
        question_id: i64,
        answer_hash: &str,
        at: Timestamp,
    ) -> StoreResult<StoredAnswer> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let tenant_id: Uuid = match query_opt(
            &tx,
            "SELECT tenant_id FROM accounts WHERE id = $1",
            &[&account_id],
        )
        .await?
        {
            Some(row) => get(&row, "tenant_id")?,
            None => return Err(StoreError::MissingReference("account")),
        };
        let question = tenant_question(&tx, tenant_id, question_id).await?;
        let row = query_one(
            &tx,
            "INSERT INTO security_answers (account_id, tenant_id, question_id, answer_hash, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT ON CONSTRAINT security_answers_question_key DO UPDATE \
             SET answer_hash = EXCLUDED.answer_hash, updated_at = EXCLUDED.updated_at \
             RETURNING id, account_id, answer_hash, created_at, updated_at",
            &[&account_id, &tenant_id, &question_id, &answer_hash, &at],
        )
        .await?;
        let answer = stored_answer(&row, question)?;
        tx.commit().await.map_err(pg)?;
        Ok(answer)
    }

    async fn update_answer(
        &self,
        account_id: Uuid,
        answer_id: i64,
        question_id: i64,
        answer_hash: &str,
        at: Timestamp,
    ) -> StoreResult<Option<StoredAnswer>> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let tenant_id: Uuid = match query_opt(
            &tx,
            "SELECT tenant_id FROM security_answers WHERE id = $1 AND account_id = $2 \
             FOR UPDATE",
            &[&answer_id, &account_id],
        )
        .await?
        {
            Some(row) => get(&row, "tenant_id")?,
            None => return Ok(None),
        };
        let question = tenant_question(&tx, tenant_id, question_id).await?;
        let row = query_one(
            &tx,
            "UPDATE security_answers SET question_id = $2, answer_hash = $3, updated_at = $4 \
             WHERE id = $1 RETURNING id, account_id, answer_hash, created_at, updated_at",
            &[&answer_id, &question_id, &answer_hash, &at],
        )
        .await?;
        let answer = stored_answer(&row, question)?;
        tx.commit().await.map_err(pg)?;
        Ok(Some(answer))
    }

    async fn list_answers(&self, account_id: Uuid) -> StoreResult<Vec<StoredAnswer>> {
        let c = self.conn().await?;
        let sql = concat!(
            "SELECT ",
            answer_cols!(),
            " FROM security_answers a JOIN security_questions q ON q.id = a.question_id \
             WHERE a.account_id = $1 ORDER BY a.id"
        );
        query(&c, sql, &[&account_id])
            .await?
            .iter()
            .map(rows::answer)
            .collect()
    }

    // --- roles and entitlements ---

    async fn create_role(
        &self,
        tenant_id: Uuid,
        name: &str,
        description: Option<&str>,
        entitlements: &[String],
        at: Timestamp,
    ) -> StoreResult<Role> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let row = query_one(
            &tx,
            "INSERT INTO roles (tenant_id, name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) \
             RETURNING id, tenant_id, name, description, created_at, updated_at",
            &[&tenant_id, &name, &description, &at],
        )
        .await?;
        let role = rows::role(&row)?;
        link_entitlements(&tx, role.id, entitlements, at).await?;
        let role = with_entitlements(&tx, vec![role])
            .await?
            .pop()
            .ok_or_else(|| corrupt("role", "created role vanished"))?;
        tx.commit().await.map_err(pg)?;
        Ok(role)
    }

    async fn update_role(
        &self,
        tenant_id: Uuid,
        role_id: i64,
        name: &str,
        description: Option<&str>,
        entitlements: Option<&[String]>,
        at: Timestamp,
    ) -> StoreResult<Option<Role>> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(pg)?;
        let row = query_opt(
            &tx,
            "UPDATE roles SET name = $3, description = $4, updated_at = $5 \
             WHERE id = $1 AND tenant_id = $2 \
             RETURNING id, tenant_id, name, description, created_at, updated_at",
            &[&role_id, &tenant_id, &name, &description, &at],
        )
        .await?;
        let Some(row) = row else { return Ok(None) };
        if let Some(names) = entitlements {
            execute(
                &tx,
                "DELETE FROM role_entitlements WHERE role_id = $1",
                &[&role_id],
            )
            .await?;
            link_entitlements(&tx, role_id, names, at).await?;
        }
        let role = one_role(&tx, Some(row)).await?;
        tx.commit().await.map_err(pg)?;
        Ok(role)
    }

    async fn delete_role(&self, tenant_id: Uuid, role_id: i64) -> StoreResult<bool> {
        let c = self.conn().await?;
        // Assignments and entitlement links go with it (ON DELETE CASCADE).
        let n = execute(
            &c,
            "DELETE FROM roles WHERE id = $1 AND tenant_id = $2",
            &[&role_id, &tenant_id],
        )
        .await?;
        Ok(n > 0)
    }

    async fn role_by_id(&self, tenant_id: Uuid, role_id: i64) -> StoreResult<Option<Role>> {
        let c = self.conn().await?;
        let row = query_opt(
            &c,
            "SELECT id, tenant_id, name, description, created_at, updated_at FROM roles \
             WHERE id = $1 AND tenant_id = $2",
            &[&role_id, &tenant_id],
        )
        .await?;
        one_role(&c, row).await
    }

    async fn role_by_name(&self, tenant_id: Uuid, name: &str) -> StoreResult<Option<Role>> {
        let c = self.conn().await?;
        let row = query_opt(
            &c,
            "SELECT id, tenant_id, name, description, created_at, updated_at FROM roles \
             WHERE tenant_id = $1 AND name = $2",
            &[&tenant_id, &name],
        )
        .await?;
        one_role(&c, row).await
    }

    async fn list_roles(&self, tenant_id: Uuid) -> StoreResult<Vec<Role>> {
        let c = self.conn().await?;
        let roles = query(
            &c,
            "SELECT id, tenant_id, name, description, created_at, updated_at FROM roles \
             WHERE tenant_id = $1 ORDER BY id",
            &[&tenant_id],
        )
        .await?
        .iter()
        .map(rows::role)
        .collect::<StoreResult<Vec<_>>>()?;
        with_entitlements(&c, roles).await
    }

    async fn assign_role(
        &self,
        account_id: Uuid,
        role_id: i64,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let c = self.conn().await?;
        // One statement: which side is missing, and whether a row was inserted. A role deleted
        // between the lookup and the insert still fails, by foreign key.
        let row = query_one(
            &c,
            "WITH a AS (SELECT id, tenant_id FROM accounts WHERE id = $1), \
             r AS (SELECT r.id, r.tenant_id FROM roles r JOIN a ON r.tenant_id = a.tenant_id \
                   WHERE r.id = $2), \
             ins AS (INSERT INTO account_roles (account_id, tenant_id, role_id, assigned_at) \
                     SELECT a.id, a.tenant_id, r.id, $3 FROM a, r \
                     ON CONFLICT DO NOTHING RETURNING 1) \
             SELECT (SELECT count(*) FROM a) AS accounts, (SELECT count(*) FROM r) AS roles, \
                    (SELECT count(*) FROM ins) AS inserted",
            &[&account_id, &role_id, &at],
        )
        .await?;
        let (accounts, roles, inserted): (i64, i64, i64) = (
            get(&row, "accounts")?,
            get(&row, "roles")?,
            get(&row, "inserted")?,
        );
        if accounts == 0 {
            return Err(StoreError::MissingReference("account"));
        }
        if roles == 0 {
            return Err(StoreError::MissingReference("role"));
        }
        Ok(inserted > 0)
    }

    async fn remove_role(&self, account_id: Uuid, role_id: i64) -> StoreResult<bool> {
        let c = self.conn().await?;
        let n = execute(
            &c,
            "DELETE FROM account_roles WHERE account_id = $1 AND role_id = $2",
            &[&account_id, &role_id],
        )
        .await?;
        Ok(n > 0)
    }

    async fn account_roles(&self, account_id: Uuid) -> StoreResult<Vec<RoleAssignment>> {
        let c = self.conn().await?;
        let rows = query(
            &c,
            "SELECT r.id, r.tenant_id, r.name, r.description, r.created_at, r.updated_at, \
             ar.assigned_at FROM account_roles ar JOIN roles r ON r.id = ar.role_id \
             WHERE ar.account_id = $1 ORDER BY ar.assigned_at, r.id",
            &[&account_id],
        )
        .await?;
        let mut assigned_at = Vec::with_capacity(rows.len());
        let mut roles = Vec::with_capacity(rows.len());
        for row in &rows {
            assigned_at.push(get::<Timestamp>(row, "assigned_at")?);
            roles.push(rows::role(row)?);
        }
        let roles = with_entitlements(&c, roles).await?;
        Ok(roles
            .into_iter()
            .zip(assigned_at)
            .map(|(role, assigned_at)| RoleAssignment { role, assigned_at })
            .collect())
    }

    // --- app clients ---

    async fn create_client(&self, client: &AppClient) -> StoreResult<()> {
        let c = self.conn().await?;
        let grants: Vec<&str> = client.grants.iter().map(|g| g.as_str()).collect();
        execute(
            &c,
            "INSERT INTO app_clients (id, tenant_id, name, secret_digest, redirect_uris, grants, \
             scopes, consent_required, id_token_alg, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &client.id,
                &client.tenant_id,
                &client.name,
                &client.secret_digest,
                &client.redirect_uris,
                &grants,
                &client.scopes,
                &client.consent_required,
                &client.id_token_alg.map(|a| a.as_str()),
                &client.created_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn client_by_id(&self, id: &str) -> StoreResult<Option<AppClient>> {
        let c = self.conn().await?;
        let sql = concat!("SELECT ", client_cols!(), " FROM app_clients WHERE id = $1");
        query_opt(&c, sql, &[&id])
            .await?
            .map(|r| rows::client(&r))
            .transpose()
    }

    async fn list_clients(&self, tenant_id: Uuid) -> StoreResult<Vec<AppClient>> {
        let c = self.conn().await?;
        let sql = concat!(
            "SELECT ",
            client_cols!(),
            " FROM app_clients WHERE tenant_id = $1 ORDER BY created_at, id"
        );
        query(&c, sql, &[&tenant_id])
            .await?
            .iter()
            .map(rows::client)
            .collect()
    }

    // --- audit ---

    async fn append_audit(&self, r: &NewAudit) -> StoreResult<i64> {
        let c = self.conn().await?;
        let row = query_one(
            &c,
            "INSERT INTO audit_records (tenant_id, account_id, actor_id, category, action, name, \
             success, summary, parameters, error_message, client_ip, request_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            &[
                &r.tenant_id,
                &r.account_id,
                &r.actor_id,
                &r.category.as_str(),
                &r.action.as_str(),
                &without_nul(&r.name).as_ref(),
                &r.success,
                &without_nul(&r.summary).as_ref(),
                &json_without_nul(&r.parameters).as_ref(),
                &r.error_message.as_deref().map(without_nul).as_deref(),
                &r.client_ip.as_deref().map(without_nul).as_deref(),
                &r.request_id.as_deref().map(without_nul).as_deref(),
                &r.created_at,
            ],
        )
        .await?;
        get(&row, "id")
    }

    async fn list_audit(
        &self,
        tenant_id: Uuid,
        account_id: Uuid,
        page: Page,
    ) -> StoreResult<Vec<AuditRecord>> {
        let c = self.conn().await?;
        let sql = concat!(
            "SELECT ",
            audit_cols!(),
            " FROM audit_records WHERE tenant_id = $1 AND account_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let (limit, offset) = (i64::from(page.limit), i64::from(page.offset));
        query(&c, sql, &[&tenant_id, &account_id, &limit, &offset])
            .await?
            .iter()
            .map(rows::audit)
            .collect()
    }

    async fn audit_by_id(
        &self,
        tenant_id: Uuid,
        account_id: Uuid,
        audit_id: i64,
    ) -> StoreResult<Option<AuditRecord>> {
        let c = self.conn().await?;
        let sql = concat!(
            "SELECT ",
            audit_cols!(),
            " FROM audit_records WHERE id = $1 AND tenant_id = $2 AND account_id = $3"
        );
        query_opt(&c, sql, &[&audit_id, &tenant_id, &account_id])
            .await?
            .map(|r| rows::audit(&r))
            .transpose()
    }

    // --- signing keys ---

    async fn insert_key(&self, key: &SigningKey) -> StoreResult<()> {
        grants::insert_key(self, key).await
    }

    async fn list_keys(&self) -> StoreResult<Vec<SigningKey>> {
        grants::list_keys(self).await
    }

    async fn delete_keys_superseded_before(&self, before: Timestamp) -> StoreResult<u64> {
        grants::delete_keys_superseded_before(self, before).await
    }

    // --- authorization codes ---

    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        grants::insert_code(self, code).await
    }

    async fn redeem_code(
        &self,
        code_digest: &str,
        first: &RefreshToken,
        at: Timestamp,
    ) -> StoreResult<CodeRedemption> {
        grants::redeem_code(self, code_digest, first, at).await
    }

    // --- refresh-token families ---

    async fn create_family(&self, family: &TokenFamily, first: &RefreshToken) -> StoreResult<()> {
        grants::create_family(self, family, first).await
    }

    async fn rotate_refresh(
        &self,
        token_digest: &str,
        client_id: &str,
        next: &RefreshToken,
        at: Timestamp,
    ) -> StoreResult<RefreshRotation> {
        grants::rotate_refresh(self, token_digest, client_id, next, at).await
    }

    async fn refresh_token(
        &self,
        token_digest: &str,
    ) -> StoreResult<Option<(RefreshToken, TokenFamily)>> {
        grants::refresh_token(self, token_digest).await
    }

    async fn family(&self, id: Uuid) -> StoreResult<Option<TokenFamily>> {
        grants::family_by_id(self, id).await
    }

    async fn revoke_family(&self, id: Uuid, at: Timestamp) -> StoreResult<bool> {
        grants::revoke_family(self, id, at).await
    }

    async fn revoke_account_families(&self, account_id: Uuid, at: Timestamp) -> StoreResult<u64> {
        grants::revoke_account_families(self, account_id, at).await
    }

    // --- access-token revocation ---

    async fn revoke_access_token(&self, jti: &str, expires_at: Timestamp) -> StoreResult<()> {
        grants::revoke_access_token(self, jti, expires_at).await
    }

    async fn access_token_revoked(&self, jti: &str, family_id: Option<Uuid>) -> StoreResult<bool> {
        grants::access_token_revoked(self, jti, family_id).await
    }

    async fn bearer_state(
        &self,
        jti: &str,
        family_id: Option<Uuid>,
        account_id: Option<Uuid>,
    ) -> StoreResult<BearerState> {
        self.bearer_checks.check(jti, family_id, account_id).await
    }

    // --- browser sessions ---

    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        grants::create_session(self, session).await
    }

    async fn session(&self, id_digest: &str) -> StoreResult<Option<Session>> {
        grants::session_by_digest(self, id_digest).await
    }

    async fn delete_session(&self, id_digest: &str) -> StoreResult<bool> {
        grants::delete_session(self, id_digest).await
    }

    // --- consents ---

    async fn grant_consent(
        &self,
        account_id: Uuid,
        client_id: &str,
        scopes: &[String],
        at: Timestamp,
    ) -> StoreResult<()> {
        grants::grant_consent(self, account_id, client_id, scopes, at).await
    }

    async fn consented_scopes(
        &self,
        account_id: Uuid,
        client_id: &str,
    ) -> StoreResult<Vec<String>> {
        grants::consented_scopes(self, account_id, client_id).await
    }

    // --- MFA challenges ---

    async fn insert_challenge(&self, challenge: &Challenge) -> StoreResult<()> {
        mfa::insert_challenge(self, challenge).await
    }

    async fn challenge(&self, id: Uuid) -> StoreResult<Option<Challenge>> {
        mfa::challenge_by_id(self, id).await
    }

    async fn consume_challenge(&self, id: Uuid, at: Timestamp) -> StoreResult<bool> {
        mfa::consume_challenge(self, id, at).await
    }

    async fn consume_challenges_of(
        &self,
        account_id: Uuid,
        kind: ChallengeKind,
        at: Timestamp,
    ) -> StoreResult<u64> {
        mfa::consume_challenges_of(self, account_id, kind, at).await
    }

    // --- second factors ---

    async fn put_factor(&self, factor: &Factor) -> StoreResult<()> {
        mfa::put_factor(self, factor).await
    }

    async fn factors(&self, account_id: Uuid) -> StoreResult<Vec<Factor>> {
        mfa::factors(self, account_id).await
    }

    async fn factor_overview(&self, account_id: Uuid) -> StoreResult<FactorOverview> {
        mfa::factor_overview(self, account_id).await
    }

    async fn delete_factor(&self, account_id: Uuid, kind: FactorKind) -> StoreResult<bool> {
        mfa::delete_factor(self, account_id, kind).await
    }

    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        grants::purge_expired(self, now).await
    }
}
