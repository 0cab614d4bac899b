//! PostgreSQL store: a deadpool pool of tokio-postgres connections, cached prepared statements,
//! and the schema of `migrations/postgres`.
//!
//! Every statement uses unqualified table names, so the connection's `search_path` (e.g.
//! `?options=-csearch_path%3Dtenant_x`) picks the schema. Uniqueness and references are
//! enforced by named constraints, which `error.rs` maps to [`StoreError`] by name; rules that
//! span tenants (a role assigned to an account of another tenant, an answer to another
//! tenant's question) are enforced by composite foreign keys on `(id, tenant_id)`.
//!
//! The [`Store`] impl below only delegates: each domain's statements are in a module of its own
//! (`accounts`, `tenants`, `roles`, `questions`, `clients`, `audit`, `grants` for OAuth state,
//! `mfa` for challenges and factors, `bearer` for the batched bearer checks), as on the SQLite side.

mod accounts;
mod audit;
mod bearer;
mod clients;
mod error;
mod grants;
mod mfa;
mod migrate;
mod questions;
mod roles;
mod rows;
mod tenants;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts,
};
use idp_core::model::*;
use idp_core::store::*;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

use self::error::pg;

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

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        let c = self.conn().await?;
        c.simple_query("SELECT 1").await.map_err(pg)?;
        Ok(())
    }

    // --- tenants ---

    async fn create_tenant(&self, t: &Tenant) -> StoreResult<()> {
        tenants::create_tenant(self, t).await
    }

    async fn tenant_by_id(&self, id: Uuid) -> StoreResult<Option<Tenant>> {
        tenants::tenant_by_id(self, id).await
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        tenants::tenant_by_name(self, name).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        tenants::list_tenants(self).await
    }

    async fn update_tenant(&self, t: &Tenant) -> StoreResult<bool> {
        tenants::update_tenant(self, t).await
    }

    // --- accounts ---

    async fn create_account(&self, new: &NewAccount) -> StoreResult<Account> {
        accounts::create_account(self, new).await
    }

    async fn account_by_id(&self, id: Uuid) -> StoreResult<Option<Account>> {
        accounts::account_by_id(self, id).await
    }

    async fn account_by_number(&self, number: i64) -> StoreResult<Option<Account>> {
        accounts::account_by_number(self, number).await
    }

    async fn find_account(
        &self,
        tenant_id: Uuid,
        key: &AccountKey,
    ) -> StoreResult<Option<Account>> {
        accounts::find_account(self, tenant_id, key).await
    }

    async fn list_accounts(&self, tenant_id: Uuid, page: Page) -> StoreResult<Vec<Account>> {
        accounts::list_accounts(self, tenant_id, page).await
    }

    async fn update_account(&self, a: &Account) -> StoreResult<bool> {
        accounts::update_account(self, a).await
    }

    async fn find_login(&self, tenant_id: Uuid, login: &str) -> StoreResult<Option<LoginRecord>> {
        accounts::find_login(self, tenant_id, login).await
    }

    async fn account_secrets(&self, id: Uuid) -> StoreResult<Option<AccountSecrets>> {
        accounts::account_secrets(self, id).await
    }

    async fn set_password_hash(
        &self,
        id: Uuid,
        hash: &str,
        need_change: bool,
        at: Timestamp,
    ) -> StoreResult<bool> {
        accounts::set_password_hash(self, id, hash, need_change, at).await
    }

    async fn set_pin_hash(&self, id: Uuid, hash: Option<&str>, at: Timestamp) -> StoreResult<bool> {
        accounts::set_pin_hash(self, id, hash, at).await
    }

    async fn record_failure(
        &self,
        id: Uuid,
        lock_after: u32,
        at: Timestamp,
    ) -> StoreResult<Option<FailureCount>> {
        accounts::record_failure(self, id, lock_after, at).await
    }

    async fn record_login(&self, id: Uuid, at: Timestamp) -> StoreResult<bool> {
        accounts::record_login(self, id, at).await
    }

    async fn set_status(
        &self,
        id: Uuid,
        status: AccountStatus,
        at: Timestamp,
    ) -> StoreResult<bool> {
        accounts::set_status(self, id, status, at).await
    }

    async fn delete_account(&self, id: Uuid) -> StoreResult<bool> {
        accounts::delete_account(self, id).await
    }

    // --- security questions ---

    async fn create_question(
        &self,
        tenant_id: Uuid,
        question: &str,
        at: Timestamp,
    ) -> StoreResult<SecurityQuestion> {
        questions::create_question(self, tenant_id, question, at).await
    }

    async fn list_questions(&self, tenant_id: Uuid) -> StoreResult<Vec<SecurityQuestion>> {
        questions::list_questions(self, tenant_id).await
    }

    async fn put_answer(
        &self,
        account_id: Uuid,
        question_id: i64,
        answer_hash: &str,
        at: Timestamp,
    ) -> StoreResult<StoredAnswer> {
        questions::put_answer(self, account_id, question_id, answer_hash, at).await
    }

    async fn update_answer(
        &self,
        account_id: Uuid,
        answer_id: i64,
        question_id: i64,
        answer_hash: &str,
        at: Timestamp,
    ) -> StoreResult<Option<StoredAnswer>> {
        questions::update_answer(self, account_id, answer_id, question_id, answer_hash, at).await
    }

    async fn list_answers(&self, account_id: Uuid) -> StoreResult<Vec<StoredAnswer>> {
        questions::list_answers(self, account_id).await
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
        roles::create_role(self, tenant_id, name, description, entitlements, at).await
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
        roles::update_role(
            self,
            tenant_id,
            role_id,
            name,
            description,
            entitlements,
            at,
        )
        .await
    }

    async fn delete_role(&self, tenant_id: Uuid, role_id: i64) -> StoreResult<bool> {
        roles::delete_role(self, tenant_id, role_id).await
    }

    async fn role_by_id(&self, tenant_id: Uuid, role_id: i64) -> StoreResult<Option<Role>> {
        roles::role_by_id(self, tenant_id, role_id).await
    }

    async fn role_by_name(&self, tenant_id: Uuid, name: &str) -> StoreResult<Option<Role>> {
        roles::role_by_name(self, tenant_id, name).await
    }

    async fn list_roles(&self, tenant_id: Uuid) -> StoreResult<Vec<Role>> {
        roles::list_roles(self, tenant_id).await
    }

    async fn assign_role(
        &self,
        account_id: Uuid,
        role_id: i64,
        at: Timestamp,
    ) -> StoreResult<bool> {
        roles::assign_role(self, account_id, role_id, at).await
    }

    async fn remove_role(&self, account_id: Uuid, role_id: i64) -> StoreResult<bool> {
        roles::remove_role(self, account_id, role_id).await
    }

    async fn account_roles(&self, account_id: Uuid) -> StoreResult<Vec<RoleAssignment>> {
        roles::account_roles(self, account_id).await
    }

    // --- app clients ---

    async fn create_client(&self, client: &AppClient) -> StoreResult<()> {
        clients::create_client(self, client).await
    }

    async fn client_by_id(&self, id: &str) -> StoreResult<Option<AppClient>> {
        clients::client_by_id(self, id).await
    }

    async fn list_clients(&self, tenant_id: Uuid) -> StoreResult<Vec<AppClient>> {
        clients::list_clients(self, tenant_id).await
    }

    // --- audit ---

    async fn append_audit(&self, r: &NewAudit) -> StoreResult<i64> {
        audit::append_audit(self, r).await
    }

    async fn list_audit(
        &self,
        tenant_id: Uuid,
        account_id: Uuid,
        page: Page,
    ) -> StoreResult<Vec<AuditRecord>> {
        audit::list_audit(self, tenant_id, account_id, page).await
    }

    async fn audit_by_id(
        &self,
        tenant_id: Uuid,
        account_id: Uuid,
        audit_id: i64,
    ) -> StoreResult<Option<AuditRecord>> {
        audit::audit_by_id(self, tenant_id, account_id, audit_id).await
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
