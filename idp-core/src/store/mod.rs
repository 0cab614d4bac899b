//! Storage contract. Each method is one unit of work: an implementation runs every method that
//! writes more than one row in a single transaction, so a caller never sees half of it.
//!
//! Implementations live in the `idp-store` crate (PostgreSQL and the embedded SQLite file); both
//! pass the same conformance suite (`idp-store/tests/it`).

use async_trait::async_trait;
use uuid::Uuid;

use crate::model::*;

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    TenantName,
    Username,
    Email,
    Phone,
    ClientId,
    RoleName,
    Question,
    Other,
}

impl UniqueField {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantName => "tenant name",
            Self::Username => "username",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::ClientId => "client id",
            Self::RoleName => "role name",
            Self::Question => "security question",
            Self::Other => "value",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write; nothing was written.
    #[error("{} already in use", .0.as_str())]
    Conflict(UniqueField),
    /// A row the write refers to does not exist (e.g. a role id of another tenant).
    #[error("referenced {0} not found")]
    MissingReference(&'static str),
    /// The database cannot be reached or refused service; retrying later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupt data. Logged, never shown to callers.
    #[error("database error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A new account as the core hands it to the store. The store assigns `number`.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub account: Account,
    pub secrets: AccountSecrets,
    /// Roles (of the same tenant) to assign in the same transaction.
    pub role_ids: Vec<i64>,
}

/// What a sign-in reads about the account its login names: see [`Store::find_login`].
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub account: Account,
    pub secrets: AccountSecrets,
    /// Kinds of the account's confirmed second factors, in kind order (as [`Store::factors`]
    /// lists them): the sign-in picks its second factor from them once the password is right.
    pub confirmed_factors: Vec<FactorKind>,
}

/// An account's second factors at a glance: see [`Store::factor_overview`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactorOverview {
    /// The kinds of its confirmed factors, ordered by kind.
    pub confirmed: Vec<FactorKind>,
    /// Whether it has a PIN.
    pub pin_set: bool,
    /// The questions it answered, in the order of its answers.
    pub question_ids: Vec<i64>,
}

/// Result of counting a failed proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    pub failed_attempts: u32,
    pub status: AccountStatus,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    // --- tenants ---
    /// Conflict(TenantName) when the name is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    async fn tenant_by_id(&self, id: Uuid) -> StoreResult<Option<Tenant>>;
    /// Exact, case-sensitive name.
    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>>;
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// Writes description, default_role, settings and updated_at. Ok(false) if no such tenant.
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<bool>;

    // --- accounts ---
    /// Inserts account, secrets and role assignments in one transaction; returns the account with
    /// its assigned `number`. Conflict(Username|Email|Phone) on a duplicate within the tenant.
    async fn create_account(&self, new: &NewAccount) -> StoreResult<Account>;
    async fn account_by_id(&self, id: Uuid) -> StoreResult<Option<Account>>;
    async fn account_by_number(&self, number: i64) -> StoreResult<Option<Account>>;
    async fn find_account(&self, tenant_id: Uuid, key: &AccountKey)
    -> StoreResult<Option<Account>>;
    /// Ordered by creation.
    async fn list_accounts(&self, tenant_id: Uuid, page: Page) -> StoreResult<Vec<Account>>;
    /// Writes every field except id, tenant_id, number, created_at, failed_attempts,
    /// last_login_at and password_changed_at. Ok(false) if no such account; Conflict on a
    /// duplicate username, email or phone.
    async fn update_account(&self, account: &Account) -> StoreResult<bool>;
    async fn account_secrets(&self, id: Uuid) -> StoreResult<Option<AccountSecrets>>;
    /// [`Store::find_account`] by [`AccountKey::Login`] with the account's secrets and the
    /// kinds of its confirmed factors: what a sign-in reads. A store with round trips reads
    /// them at once.
    async fn find_login(&self, tenant_id: Uuid, login: &str) -> StoreResult<Option<LoginRecord>> {
        let key = AccountKey::Login(login.to_owned());
        let Some(account) = self.find_account(tenant_id, &key).await? else {
            return Ok(None);
        };
        let secrets = self.account_secrets(account.id).await?.unwrap_or_default();
        let confirmed_factors = Factor::confirmed_kinds(&self.factors(account.id).await?);
        Ok(Some(LoginRecord {
            account,
            secrets,
            confirmed_factors,
        }))
    }
    /// Sets the password hash, `need_change_password`, `password_changed_at = at` and `updated_at`.
    async fn set_password_hash(
        &self,
        id: Uuid,
        hash: &str,
        need_change: bool,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Sets (or clears) the PIN hash.
    async fn set_pin_hash(&self, id: Uuid, hash: Option<&str>, at: Timestamp) -> StoreResult<bool>;
    /// Atomically adds one failure; if the count reaches `lock_after` (> 0) and the account is
    /// ACTIVE, sets it LOCKED in the same statement. None if no such account.
    async fn record_failure(
        &self,
        id: Uuid,
        lock_after: u32,
        at: Timestamp,
    ) -> StoreResult<Option<FailureCount>>;
    /// Resets the failure count and sets `last_login_at`.
    async fn record_login(&self, id: Uuid, at: Timestamp) -> StoreResult<bool>;
    /// Sets the status; leaving LOCKED (or entering ACTIVE) also resets the failure count.
    async fn set_status(&self, id: Uuid, status: AccountStatus, at: Timestamp)
    -> StoreResult<bool>;
    /// Deletes the account with its secrets, answers, role assignments, token families, sessions,
    /// consents, challenges and factors (one transaction).
    /// Audit records stay, keyed by the account id only.
    async fn delete_account(&self, id: Uuid) -> StoreResult<bool>;

    // --- security questions ---
    /// Conflict(Question) if the tenant already has this question text.
    async fn create_question(
        &self,
        tenant_id: Uuid,
        question: &str,
        at: Timestamp,
    ) -> StoreResult<SecurityQuestion>;
    async fn list_questions(&self, tenant_id: Uuid) -> StoreResult<Vec<SecurityQuestion>>;
    /// Inserts or replaces the account's answer to `question_id` (unique per account and
    /// question). MissingReference("question") if the question is not of the account's tenant.
    async fn put_answer(
        &self,
        account_id: Uuid,
        question_id: i64,
        answer_hash: &str,
        at: Timestamp,
    ) -> StoreResult<StoredAnswer>;
    /// Rewrites answer `answer_id` of this account (question and hash). None if the account has
    /// no such answer. MissingReference("question") / Conflict(Question) as above.
    async fn update_answer(
        &self,
        account_id: Uuid,
        answer_id: i64,
        question_id: i64,
        answer_hash: &str,
        at: Timestamp,
    ) -> StoreResult<Option<StoredAnswer>>;
    async fn list_answers(&self, account_id: Uuid) -> StoreResult<Vec<StoredAnswer>>;

    // --- roles and entitlements ---
    /// Creates the role and links the named entitlements (creating unknown entitlement names) in
    /// one transaction. Conflict(RoleName) if the tenant has a role of that name.
    async fn create_role(
        &self,
        tenant_id: Uuid,
        name: &str,
        description: Option<&str>,
        entitlements: &[String],
        at: Timestamp,
    ) -> StoreResult<Role>;
    /// Renames/redescribes the role and, when `entitlements` is Some, replaces its entitlement
    /// set, in one transaction. None if the tenant has no such role.
    async fn update_role(
        &self,
        tenant_id: Uuid,
        role_id: i64,
        name: &str,
        description: Option<&str>,
        entitlements: Option<&[String]>,
        at: Timestamp,
    ) -> StoreResult<Option<Role>>;
    /// Deletes the role and its assignments. Ok(false) if the tenant has no such role.
    async fn delete_role(&self, tenant_id: Uuid, role_id: i64) -> StoreResult<bool>;
    async fn role_by_id(&self, tenant_id: Uuid, role_id: i64) -> StoreResult<Option<Role>>;
    async fn role_by_name(&self, tenant_id: Uuid, name: &str) -> StoreResult<Option<Role>>;
    async fn list_roles(&self, tenant_id: Uuid) -> StoreResult<Vec<Role>>;
    /// Idempotent; Ok(true) if newly assigned. MissingReference if the account or role is gone
    /// or they belong to different tenants.
    async fn assign_role(&self, account_id: Uuid, role_id: i64, at: Timestamp)
    -> StoreResult<bool>;
    /// Ok(true) if an assignment was removed.
    async fn remove_role(&self, account_id: Uuid, role_id: i64) -> StoreResult<bool>;
    async fn account_roles(&self, account_id: Uuid) -> StoreResult<Vec<RoleAssignment>>;

    // --- app clients ---
    /// Conflict(ClientId) if the id is taken (ids are global, not per tenant).
    async fn create_client(&self, client: &AppClient) -> StoreResult<()>;
    async fn client_by_id(&self, id: &str) -> StoreResult<Option<AppClient>>;
    async fn list_clients(&self, tenant_id: Uuid) -> StoreResult<Vec<AppClient>>;

    // --- audit ---
    async fn append_audit(&self, record: &NewAudit) -> StoreResult<i64>;
    /// Newest first.
    async fn list_audit(
        &self,
        tenant_id: Uuid,
        account_id: Uuid,
        page: Page,
    ) -> StoreResult<Vec<AuditRecord>>;
    async fn audit_by_id(
        &self,
        tenant_id: Uuid,
        account_id: Uuid,
        audit_id: i64,
    ) -> StoreResult<Option<AuditRecord>>;

    // --- signing keys ---
    /// Stores a new key and, in the same transaction, sets `superseded_at = key.created_at` on
    /// every older key of the same algorithm that has none yet.
    async fn insert_key(&self, key: &SigningKey) -> StoreResult<()>;
    /// Every key, newest first.
    async fn list_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// Deletes keys superseded before `before` (their tokens have all expired). Returns the count.
    async fn delete_keys_superseded_before(&self, before: Timestamp) -> StoreResult<u64>;

    // --- authorization codes ---
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    /// Spends a code atomically. The first call for a digest returns Redeemed and, in the same
    /// transaction, records `first.family_id` and `at` on the code and creates that token family
    /// (tenant, client, account, scope and auth from the code; created at `at`, not revoked)
    /// with `first` as its first refresh token — so a concurrent replay always finds the family
    /// to revoke. Every later call returns Replayed with that family id; an unknown digest
    /// returns Unknown. Expiry and the other checks are the caller's (who revokes the family
    /// when they fail).
    async fn redeem_code(
        &self,
        code_digest: &str,
        first: &RefreshToken,
        at: Timestamp,
    ) -> StoreResult<CodeRedemption>;

    // --- refresh-token families ---
    /// Creates a family with its first refresh token, in one transaction.
    async fn create_family(&self, family: &TokenFamily, first: &RefreshToken) -> StoreResult<()>;
    /// Exchanges a refresh token presented by `client_id` for `next` (same family), atomically
    /// even under concurrent calls with the same token:
    /// - unknown digest: Invalid; family of another client: OtherClient; nothing changes;
    /// - token expired at `at`, or family revoked: Invalid, nothing changes;
    /// - token already used: the family is revoked (at `at`) and Reused is returned;
    /// - otherwise: the token is marked used at `at`, `next` is stored, Rotated(family,
    ///   the family's account).
    async fn rotate_refresh(
        &self,
        token_digest: &str,
        client_id: &str,
        next: &RefreshToken,
        at: Timestamp,
    ) -> StoreResult<RefreshRotation>;
    async fn refresh_token(
        &self,
        token_digest: &str,
    ) -> StoreResult<Option<(RefreshToken, TokenFamily)>>;
    async fn family(&self, id: Uuid) -> StoreResult<Option<TokenFamily>>;
    /// Ok(true) if the family was revoked now, false if unknown or already revoked.
    async fn revoke_family(&self, id: Uuid, at: Timestamp) -> StoreResult<bool>;
    /// Revokes every live family of the account (on lock, password change, deletion).
    async fn revoke_account_families(&self, account_id: Uuid, at: Timestamp) -> StoreResult<u64>;

    // --- access-token revocation ---
    /// Records a revoked access token until its own expiry. Idempotent.
    async fn revoke_access_token(&self, jti: &str, expires_at: Timestamp) -> StoreResult<()>;
    /// True if `jti` was revoked, or `family_id` (when given) is a revoked family.
    async fn access_token_revoked(&self, jti: &str, family_id: Option<Uuid>) -> StoreResult<bool>;
    /// What checking a bearer token reads on every use: [`Store::access_token_revoked`] and the
    /// account `account_id` names (client tokens name none). The stores answer it in one read
    /// (one round trip on PostgreSQL); this default is the two calls.
    async fn bearer_state(
        &self,
        jti: &str,
        family_id: Option<Uuid>,
        account_id: Option<Uuid>,
    ) -> StoreResult<BearerState> {
        let revoked = self.access_token_revoked(jti, family_id).await?;
        let account = match account_id {
            Some(id) => self.account_by_id(id).await?,
            None => None,
        };
        Ok(BearerState { revoked, account })
    }

    // --- browser sessions ---
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    async fn session(&self, id_digest: &str) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, id_digest: &str) -> StoreResult<bool>;

    // --- consents ---
    /// Adds `scopes` to what the account has granted the client (a union with earlier grants).
    async fn grant_consent(
        &self,
        account_id: Uuid,
        client_id: &str,
        scopes: &[String],
        at: Timestamp,
    ) -> StoreResult<()>;
    async fn consented_scopes(&self, account_id: Uuid, client_id: &str)
    -> StoreResult<Vec<String>>;

    // --- MFA challenges ---
    async fn insert_challenge(&self, challenge: &Challenge) -> StoreResult<()>;
    async fn challenge(&self, id: Uuid) -> StoreResult<Option<Challenge>>;
    /// Spends a challenge atomically: true for the one call that finds it unconsumed and not
    /// expired at `at` (and sets `consumed_at = at`), false for every other.
    async fn consume_challenge(&self, id: Uuid, at: Timestamp) -> StoreResult<bool>;
    /// Consumes every live challenge of `kind` of the account (a new code replaces the old).
    async fn consume_challenges_of(
        &self,
        account_id: Uuid,
        kind: ChallengeKind,
        at: Timestamp,
    ) -> StoreResult<u64>;

    // --- second factors ---
    /// Inserts or replaces the account's factor of that kind.
    async fn put_factor(&self, factor: &Factor) -> StoreResult<()>;
    /// The account's factors, ordered by kind.
    async fn factors(&self, account_id: Uuid) -> StoreResult<Vec<Factor>>;
    /// What [`Store::factors`], [`Store::account_secrets`] and [`Store::list_answers`] tell about
    /// an account's second factors, without a secret or a hash. A store with round trips reads
    /// it in one. An unknown account has none.
    async fn factor_overview(&self, account_id: Uuid) -> StoreResult<FactorOverview> {
        let factors = self.factors(account_id).await?;
        let secrets = self.account_secrets(account_id).await?;
        let answers = self.list_answers(account_id).await?;
        Ok(FactorOverview {
            confirmed: Factor::confirmed_kinds(&factors),
            pin_set: secrets.is_some_and(|s| s.pin_hash.is_some()),
            question_ids: answers.iter().map(|a| a.question.id).collect(),
        })
    }
    /// Ok(true) if a factor was removed.
    async fn delete_factor(&self, account_id: Uuid, kind: FactorKind) -> StoreResult<bool>;

    /// Deletes expired codes, refresh tokens, sessions, challenges and revoked-token records
    /// (expired before `now`). Returns how many rows went.
    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64>;
}
