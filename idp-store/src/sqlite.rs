//! The embedded store: one SQLite file, for single-node deployments and tests.
//!
//! Layout: [`pool`] runs closures on the writer or a reader connection off the async runtime;
//! one module per aggregate holds the SQL (plain functions over a `Connection`, called inside
//! the transaction the pool opened); [`codec`] and [`error`] translate values and errors.

mod accounts;
mod audit;
mod challenges;
mod checkpoint;
mod clients;
mod codec;
mod codes;
mod consents;
mod credentials;
mod error;
mod factors;
mod families;
mod keys;
mod migrate;
mod pool;
mod questions;
mod roles;
mod sessions;
mod tenants;

use std::path::Path;

use async_trait::async_trait;
use idp_core::model::*;
use idp_core::store::*;
use uuid::Uuid;

use pool::Pool;

pub struct SqliteStore {
    pool: Pool,
}

impl SqliteStore {
    /// Opens the database file, creating it and its directory if needed. Does not migrate: call
    /// [`SqliteStore::migrate`] before use.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let path = path.to_owned();
        let pool = tokio::task::spawn_blocking(move || Pool::open(&path))
            .await
            .map_err(|e| StoreError::Internal(format!("open task failed: {e}")))??;
        Ok(SqliteStore { pool })
    }

    /// Applies pending schema migrations; returns the names of those applied now (none when
    /// the schema is current).
    pub async fn migrate(&self) -> StoreResult<Vec<String>> {
        self.pool.with_writer(migrate::run).await
    }
}

// Each method copies its borrowed arguments into the closure, which runs on a blocking thread.
#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.pool
            .read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    // --- tenants ---

    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let tenant = tenant.clone();
        self.pool.write(move |c| tenants::create(c, &tenant)).await
    }

    async fn tenant_by_id(&self, id: Uuid) -> StoreResult<Option<Tenant>> {
        self.pool.lookup(move |c| tenants::by_id(c, id)).await
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let name = name.to_owned();
        self.pool.lookup(move |c| tenants::by_name(c, &name)).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.pool.read(|c| tenants::list(c)).await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<bool> {
        let tenant = tenant.clone();
        self.pool.write(move |c| tenants::update(c, &tenant)).await
    }

    // --- accounts ---

    async fn create_account(&self, new: &NewAccount) -> StoreResult<Account> {
        let new = new.clone();
        self.pool.write(move |c| accounts::create(c, &new)).await
    }

    async fn account_by_id(&self, id: Uuid) -> StoreResult<Option<Account>> {
        self.pool.lookup(move |c| accounts::by_id(c, id)).await
    }

    async fn account_by_number(&self, number: i64) -> StoreResult<Option<Account>> {
        self.pool
            .lookup(move |c| accounts::by_number(c, number))
            .await
    }

    async fn find_account(
        &self,
        tenant_id: Uuid,
        key: &AccountKey,
    ) -> StoreResult<Option<Account>> {
        let key = key.clone();
        self.pool
            .lookup(move |c| accounts::find(c, tenant_id, &key))
            .await
    }

    async fn list_accounts(&self, tenant_id: Uuid, page: Page) -> StoreResult<Vec<Account>> {
        self.pool
            .read(move |c| accounts::list(c, tenant_id, page))
            .await
    }

    async fn update_account(&self, account: &Account) -> StoreResult<bool> {
        let account = account.clone();
        self.pool
            .write(move |c| accounts::update(c, &account))
            .await
    }

    async fn account_secrets(&self, id: Uuid) -> StoreResult<Option<AccountSecrets>> {
        self.pool.lookup(move |c| credentials::secrets(c, id)).await
    }

    async fn set_password_hash(
        &self,
        id: Uuid,
        hash: &str,
        need_change: bool,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let hash = hash.to_owned();
        self.pool
            .write(move |c| credentials::set_password_hash(c, id, &hash, need_change, at))
            .await
    }

    async fn set_pin_hash(&self, id: Uuid, hash: Option<&str>, at: Timestamp) -> StoreResult<bool> {
        let hash = hash.map(str::to_owned);
        self.pool
            .write(move |c| credentials::set_pin_hash(c, id, hash.as_deref(), at))
            .await
    }

    async fn record_failure(
        &self,
        id: Uuid,
        lock_after: u32,
        at: Timestamp,
    ) -> StoreResult<Option<FailureCount>> {
        self.pool
            .quick_write(move |c| credentials::record_failure(c, id, lock_after, at))
            .await
    }

    async fn record_login(&self, id: Uuid, at: Timestamp) -> StoreResult<bool> {
        self.pool
            .quick_write(move |c| credentials::record_login(c, id, at))
            .await
    }

    async fn set_status(
        &self,
        id: Uuid,
        status: AccountStatus,
        at: Timestamp,
    ) -> StoreResult<bool> {
        self.pool
            .write(move |c| credentials::set_status(c, id, status, at))
            .await
    }

    async fn delete_account(&self, id: Uuid) -> StoreResult<bool> {
        self.pool.write(move |c| accounts::delete(c, id)).await
    }

    // --- security questions ---

    async fn create_question(
        &self,
        tenant_id: Uuid,
        question: &str,
        at: Timestamp,
    ) -> StoreResult<SecurityQuestion> {
        let question = question.to_owned();
        self.pool
            .write(move |c| questions::create(c, tenant_id, &question, at))
            .await
    }

    async fn list_questions(&self, tenant_id: Uuid) -> StoreResult<Vec<SecurityQuestion>> {
        self.pool.read(move |c| questions::list(c, tenant_id)).await
    }

    async fn put_answer(
        &self,
        account_id: Uuid,
        question_id: i64,
        answer_hash: &str,
        at: Timestamp,
    ) -> StoreResult<StoredAnswer> {
        let hash = answer_hash.to_owned();
        self.pool
            .write(move |c| questions::put_answer(c, account_id, question_id, &hash, at))
            .await
    }

    async fn update_answer(
        &self,
        account_id: Uuid,
        answer_id: i64,
        question_id: i64,
        answer_hash: &str,
        at: Timestamp,
    ) -> StoreResult<Option<StoredAnswer>> {
        let hash = answer_hash.to_owned();
        self.pool
            .write(move |c| {
                questions::update_answer(c, account_id, answer_id, question_id, &hash, at)
            })
            .await
    }

    async fn list_answers(&self, account_id: Uuid) -> StoreResult<Vec<StoredAnswer>> {
        self.pool
            .read(move |c| questions::list_answers(c, account_id))
            .await
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
        let (name, description) = (name.to_owned(), description.map(str::to_owned));
        let entitlements = entitlements.to_vec();
        self.pool
            .write(move |c| {
                roles::create(
                    c,
                    tenant_id,
                    &name,
                    description.as_deref(),
                    &entitlements,
                    at,
                )
            })
            .await
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
        let (name, description) = (name.to_owned(), description.map(str::to_owned));
        let entitlements = entitlements.map(<[String]>::to_vec);
        self.pool
            .write(move |c| {
                let (description, entitlements) = (description.as_deref(), entitlements.as_deref());
                roles::update(c, tenant_id, role_id, &name, description, entitlements, at)
            })
            .await
    }

    async fn delete_role(&self, tenant_id: Uuid, role_id: i64) -> StoreResult<bool> {
        self.pool
            .write(move |c| roles::delete(c, tenant_id, role_id))
            .await
    }

    async fn role_by_id(&self, tenant_id: Uuid, role_id: i64) -> StoreResult<Option<Role>> {
        self.pool
            .lookup(move |c| roles::by_id(c, tenant_id, role_id))
            .await
    }

    async fn role_by_name(&self, tenant_id: Uuid, name: &str) -> StoreResult<Option<Role>> {
        let name = name.to_owned();
        self.pool
            .lookup(move |c| roles::by_name(c, tenant_id, &name))
            .await
    }

    async fn list_roles(&self, tenant_id: Uuid) -> StoreResult<Vec<Role>> {
        self.pool.read(move |c| roles::list(c, tenant_id)).await
    }

    async fn assign_role(
        &self,
        account_id: Uuid,
        role_id: i64,
        at: Timestamp,
    ) -> StoreResult<bool> {
        self.pool
            .write(move |c| roles::assign(c, account_id, role_id, at))
            .await
    }

    async fn remove_role(&self, account_id: Uuid, role_id: i64) -> StoreResult<bool> {
        self.pool
            .write(move |c| roles::remove(c, account_id, role_id))
            .await
    }

    async fn account_roles(&self, account_id: Uuid) -> StoreResult<Vec<RoleAssignment>> {
        self.pool
            .lookup(move |c| roles::of_account(c, account_id))
            .await
    }

    // --- app clients ---

    async fn create_client(&self, client: &AppClient) -> StoreResult<()> {
        let client = client.clone();
        self.pool.write(move |c| clients::create(c, &client)).await
    }

    async fn client_by_id(&self, id: &str) -> StoreResult<Option<AppClient>> {
        let id = id.to_owned();
        self.pool.lookup(move |c| clients::by_id(c, &id)).await
    }

    async fn list_clients(&self, tenant_id: Uuid) -> StoreResult<Vec<AppClient>> {
        self.pool.read(move |c| clients::list(c, tenant_id)).await
    }

    // --- audit ---

    async fn append_audit(&self, record: &NewAudit) -> StoreResult<i64> {
        let record = record.clone();
        self.pool.write(move |c| audit::append(c, &record)).await
    }

    async fn list_audit(
        &self,
        tenant_id: Uuid,
        account_id: Uuid,
        page: Page,
    ) -> StoreResult<Vec<AuditRecord>> {
        self.pool
            .read(move |c| audit::list(c, tenant_id, account_id, page))
            .await
    }

    async fn audit_by_id(
        &self,
        tenant_id: Uuid,
        account_id: Uuid,
        audit_id: i64,
    ) -> StoreResult<Option<AuditRecord>> {
        self.pool
            .read(move |c| audit::by_id(c, tenant_id, account_id, audit_id))
            .await
    }

    // --- signing keys ---

    async fn insert_key(&self, key: &SigningKey) -> StoreResult<()> {
        let key = key.clone();
        self.pool.write(move |c| keys::insert(c, &key)).await
    }

    async fn list_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.pool.read(|c| keys::list(c)).await
    }

    async fn delete_keys_superseded_before(&self, before: Timestamp) -> StoreResult<u64> {
        self.pool
            .write(move |c| keys::delete_superseded_before(c, before))
            .await
    }

    // --- authorization codes ---

    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let code = code.clone();
        self.pool
            .quick_write(move |c| codes::insert(c, &code))
            .await
    }

    async fn redeem_code(
        &self,
        code_digest: &str,
        first: &RefreshToken,
        at: Timestamp,
    ) -> StoreResult<CodeRedemption> {
        let (digest, first) = (code_digest.to_owned(), first.clone());
        self.pool
            .quick_write(move |c| codes::redeem(c, &digest, &first, at))
            .await
    }

    // --- refresh-token families ---

    async fn create_family(&self, family: &TokenFamily, first: &RefreshToken) -> StoreResult<()> {
        let (family, first) = (family.clone(), first.clone());
        self.pool
            .quick_write(move |c| families::create(c, &family, &first))
            .await
    }

    async fn rotate_refresh(
        &self,
        token_digest: &str,
        client_id: &str,
        next: &RefreshToken,
        at: Timestamp,
    ) -> StoreResult<RefreshRotation> {
        let (digest, client_id, next) =
            (token_digest.to_owned(), client_id.to_owned(), next.clone());
        self.pool
            .quick_write(move |c| families::rotate(c, &digest, &client_id, &next, at))
            .await
    }

    async fn refresh_token(
        &self,
        token_digest: &str,
    ) -> StoreResult<Option<(RefreshToken, TokenFamily)>> {
        let digest = token_digest.to_owned();
        self.pool.lookup(move |c| families::token(c, &digest)).await
    }

    async fn family(&self, id: Uuid) -> StoreResult<Option<TokenFamily>> {
        self.pool.lookup(move |c| families::by_id(c, id)).await
    }

    async fn revoke_family(&self, id: Uuid, at: Timestamp) -> StoreResult<bool> {
        self.pool
            .quick_write(move |c| families::revoke(c, id, at))
            .await
    }

    async fn revoke_account_families(&self, account_id: Uuid, at: Timestamp) -> StoreResult<u64> {
        self.pool
            .write(move |c| families::revoke_of_account(c, account_id, at))
            .await
    }

    // --- access-token revocation ---

    async fn revoke_access_token(&self, jti: &str, expires_at: Timestamp) -> StoreResult<()> {
        let jti = jti.to_owned();
        self.pool
            .quick_write(move |c| families::revoke_access_token(c, &jti, expires_at))
            .await
    }

    async fn access_token_revoked(&self, jti: &str, family_id: Option<Uuid>) -> StoreResult<bool> {
        let jti = jti.to_owned();
        self.pool
            .lookup(move |c| families::access_token_revoked(c, &jti, family_id))
            .await
    }

    async fn bearer_state(
        &self,
        jti: &str,
        family_id: Option<Uuid>,
        account_id: Option<Uuid>,
    ) -> StoreResult<BearerState> {
        let jti = jti.to_owned();
        self.pool
            .lookup(move |c| {
                Ok(BearerState {
                    revoked: families::access_token_revoked(c, &jti, family_id)?,
                    account: account_id
                        .map(|id| accounts::by_id(c, id))
                        .transpose()?
                        .flatten(),
                })
            })
            .await
    }

    // --- browser sessions ---

    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let session = session.clone();
        self.pool
            .quick_write(move |c| sessions::create(c, &session))
            .await
    }

    async fn session(&self, id_digest: &str) -> StoreResult<Option<Session>> {
        let digest = id_digest.to_owned();
        self.pool.lookup(move |c| sessions::get(c, &digest)).await
    }

    async fn delete_session(&self, id_digest: &str) -> StoreResult<bool> {
        let digest = id_digest.to_owned();
        self.pool
            .quick_write(move |c| sessions::delete(c, &digest))
            .await
    }

    // --- consents ---

    async fn grant_consent(
        &self,
        account_id: Uuid,
        client_id: &str,
        scopes: &[String],
        at: Timestamp,
    ) -> StoreResult<()> {
        let (client_id, scopes) = (client_id.to_owned(), scopes.to_vec());
        self.pool
            .write(move |c| consents::grant(c, account_id, &client_id, &scopes, at))
            .await
    }

    async fn consented_scopes(
        &self,
        account_id: Uuid,
        client_id: &str,
    ) -> StoreResult<Vec<String>> {
        let client_id = client_id.to_owned();
        self.pool
            .lookup(move |c| consents::scopes(c, account_id, &client_id))
            .await
    }

    // --- MFA challenges ---

    async fn insert_challenge(&self, challenge: &Challenge) -> StoreResult<()> {
        let challenge = challenge.clone();
        self.pool
            .quick_write(move |c| challenges::insert(c, &challenge))
            .await
    }

    async fn challenge(&self, id: Uuid) -> StoreResult<Option<Challenge>> {
        self.pool.lookup(move |c| challenges::get(c, id)).await
    }

    async fn consume_challenge(&self, id: Uuid, at: Timestamp) -> StoreResult<bool> {
        self.pool
            .quick_write(move |c| challenges::consume(c, id, at))
            .await
    }

    async fn consume_challenges_of(
        &self,
        account_id: Uuid,
        kind: ChallengeKind,
        at: Timestamp,
    ) -> StoreResult<u64> {
        self.pool
            .write(move |c| challenges::consume_of(c, account_id, kind, at))
            .await
    }

    // --- second factors ---

    async fn put_factor(&self, factor: &Factor) -> StoreResult<()> {
        let factor = factor.clone();
        self.pool.write(move |c| factors::put(c, &factor)).await
    }

    async fn factors(&self, account_id: Uuid) -> StoreResult<Vec<Factor>> {
        self.pool
            .lookup(move |c| factors::of_account(c, account_id))
            .await
    }

    async fn delete_factor(&self, account_id: Uuid, kind: FactorKind) -> StoreResult<bool> {
        self.pool
            .write(move |c| factors::delete(c, account_id, kind))
            .await
    }

    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        self.pool
            .write(move |c| {
                Ok(codes::purge(c, now)?
                    + families::purge(c, now)?
                    + sessions::purge(c, now)?
                    + challenges::purge(c, now)?)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_creates_directories_and_does_not_migrate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/idp.db");
        let store = SqliteStore::open(&path).await.unwrap();
        assert!(path.is_file());
        store.ping().await.unwrap();
        // No schema yet: a query on a missing table is an internal error, not a panic.
        let err = store.tenant_by_id(Uuid::new_v4()).await.unwrap_err();
        assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
    }

    #[tokio::test]
    async fn migrate_is_recorded_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idp.db");
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(
            store.migrate().await.unwrap(),
            vec![
                "0001_init".to_owned(),
                "0002_grants".to_owned(),
                "0003_mfa".to_owned()
            ]
        );
        assert!(store.migrate().await.unwrap().is_empty());
        drop(store);

        let reopened = SqliteStore::open(&path).await.unwrap();
        assert!(reopened.migrate().await.unwrap().is_empty());
        let raw = rusqlite::Connection::open(&path).unwrap();
        let recorded: Vec<(i64, String)> = raw
            .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            recorded,
            vec![
                (1, "0001_init".to_owned()),
                (2, "0002_grants".to_owned()),
                (3, "0003_mfa".to_owned())
            ]
        );
        let mode: String = raw
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn upgrade_keeps_existing_clients_first_party() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idp.db");
        // A file as a release with only 0001 left it, holding one client.
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(include_str!("../migrations/sqlite/0001_init.sql"))
            .unwrap();
        let tenant = Uuid::new_v4().to_string();
        raw.execute_batch(&format!(
            "CREATE TABLE schema_migrations (
                 version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL,
                 applied_at INTEGER NOT NULL) STRICT;
             INSERT INTO schema_migrations VALUES (1, '0001_init', 0);
             INSERT INTO tenants (id, name, settings, created_at, updated_at)
                 VALUES ('{tenant}', 'acme', '{{}}', 0, 0);
             INSERT INTO app_clients (id, tenant_id, redirect_uris, grants, scopes, created_at)
                 VALUES ('old', '{tenant}', '[]', '[]', '[]', 0);"
        ))
        .unwrap();
        drop(raw);

        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(
            store.migrate().await.unwrap(),
            vec!["0002_grants".to_owned(), "0003_mfa".to_owned()]
        );
        let client = store.client_by_id("old").await.unwrap().expect("client");
        assert!(!client.consent_required);
    }

    #[tokio::test]
    async fn undecodable_rows_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idp.db");
        let store = SqliteStore::open(&path).await.unwrap();
        store.migrate().await.unwrap();
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute(
            "INSERT INTO tenants (id, name, settings, created_at, updated_at)
             VALUES ('not-a-uuid', 'broken', '{}', 0, 0)",
            [],
        )
        .unwrap();
        raw.execute(
            "INSERT INTO tenants (id, name, settings, created_at, updated_at)
             VALUES (?1, 'bad-json', 'not json', 0, 0)",
            [Uuid::new_v4().to_string()],
        )
        .unwrap();
        for name in ["broken", "bad-json"] {
            let err = store.tenant_by_name(name).await.unwrap_err();
            assert!(matches!(err, StoreError::Internal(_)), "{name}: {err:?}");
        }
        assert!(store.list_tenants().await.is_err());
    }
}
