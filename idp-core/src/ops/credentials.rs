//! Proofs an account holds: password, PIN and security answers. Every failed proof counts toward
//! the tenant's lockout policy; unknown accounts cost the same hashing time as known ones.

use serde_json::json;
use uuid::Uuid;

use std::time::Duration;

use super::audit::AuditEntry;
use super::mfa::failure_key;
use super::{Idp, ensure_active};
use crate::authz::{Context, Principal, entitlements};
use crate::error::{Error, Result};
use crate::model::*;
use crate::validate;

/// Audit names of failed proofs.
mod proof {
    pub const PASSWORD: &str = "auth.password.failed";
    pub const PIN: &str = "auth.pin.failed";
    pub const ANSWER: &str = "auth.answer.failed";
}

impl Idp {
    /// Signs in with a username or email and a password. Only ACTIVE accounts pass; the status
    /// is revealed only to someone who knows the password. Success resets the failure count.
    pub async fn authenticate(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        login: &str,
        password: &str,
    ) -> Result<Account> {
        self.authenticate_with_factors(ctx, tenant_id, login, password)
            .await
            .map(|(account, _)| account)
    }

    /// [`Self::authenticate`], also giving the kinds of the account's confirmed factors (in
    /// kind order), read with the account: the second factor of a sign-in is chosen from them
    /// without another read.
    pub(crate) async fn authenticate_with_factors(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        login: &str,
        password: &str,
    ) -> Result<(Account, Vec<FactorKind>)> {
        let Some(found) = self.store.find_login(tenant_id, login.trim()).await? else {
            // An unknown login spends a budget of its own, as an account does: otherwise the 429
            // that a known account earns first would tell which logins exist.
            self.throttle(super::Throttle::Login(login))
                .await
                .inspect_err(|_| crate::metrics::login(ctx.surface, false))?;
            self.hasher.verify_dummy(password.as_bytes()).await?;
            let entry = AuditEntry::new(
                tenant_id,
                None,
                AuditCategory::Token,
                AuditAction::Webservice,
                "auth.password.failed",
                "sign-in with unknown login",
            );
            let res: Result<()> = Err(Error::InvalidCredentials);
            self.audit(ctx, entry, &res).await;
            crate::metrics::login(ctx.surface, false);
            return Err(Error::InvalidCredentials);
        };
        let res = self
            .authenticate_account(ctx, found.account, found.secrets, password)
            .await;
        crate::metrics::login(ctx.surface, res.is_ok());
        Ok((res?, found.confirmed_factors))
    }

    /// [`Self::authenticate`] once the login named an account.
    async fn authenticate_account(
        &self,
        ctx: &Context,
        account: Account,
        secrets: AccountSecrets,
        password: &str,
    ) -> Result<Account> {
        self.throttle(super::Throttle::Account(account.id)).await?;
        let account = self.expire_lock(ctx, account).await?;
        self.check_proof(
            ctx,
            &account,
            proof::PASSWORD,
            password,
            secrets.password_hash.as_deref(),
        )
        .await?;
        let at = now();
        let res = match ensure_active(&account) {
            Ok(()) => match self.store.record_login(account.id, at).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(Error::NotFound("account")),
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e),
        };
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Token,
            AuditAction::Webservice,
            "auth.password",
            "signed in with password",
        );
        self.audit(ctx, entry, &res).await;
        res?;
        // What `record_login` wrote, without reading the row back (a round trip per sign-in).
        Ok(Account {
            failed_attempts: 0,
            last_login_at: Some(at),
            ..account
        })
    }

    /// The account changes its own password, proving the current one.
    pub async fn change_password(
        &self,
        ctx: &Context,
        id: Uuid,
        current: &str,
        new: &str,
    ) -> Result<()> {
        let account = self.own_account(ctx, id).await?;
        let tenant = self.tenant_by_id(account.tenant_id).await?;
        let secrets = self.store.account_secrets(id).await?.unwrap_or_default();
        self.check_proof(
            ctx,
            &account,
            proof::PASSWORD,
            current,
            secrets.password_hash.as_deref(),
        )
        .await?;
        validate::password(&tenant.settings.password_policy, new)?;
        if tenant.settings.password_policy.forbid_same_as_current && current == new {
            return Err(Error::invalid(
                "password",
                "must differ from the current password",
            ));
        }
        self.write_password(ctx, &account, new, false, "password.change")
            .await
    }

    /// An admin sets a new password (e.g. a temporary one); `need_change` forces a change at the
    /// next sign-in.
    pub async fn reset_password(
        &self,
        ctx: &Context,
        id: Uuid,
        new: &str,
        need_change: bool,
    ) -> Result<()> {
        let account = self
            .account_admin(ctx, id, entitlements::RESET_USER_PASSWORD)
            .await?;
        let tenant = self.tenant_by_id(account.tenant_id).await?;
        validate::password(&tenant.settings.password_policy, new)?;
        self.write_password(ctx, &account, new, need_change, "password.reset")
            .await
    }

    /// Writes a new password and ends every grant made with the old one.
    pub(super) async fn write_password(
        &self,
        ctx: &Context,
        account: &Account,
        new: &str,
        need_change: bool,
        name: &'static str,
    ) -> Result<()> {
        let hash = self.hasher.hash(new.as_bytes()).await?;
        let at = now();
        let res = match self
            .store
            .set_password_hash(account.id, &hash, need_change, at)
            .await
        {
            // A new password ends every grant made with the old one (a thief's included).
            Ok(true) => self
                .store
                .revoke_account_families(account.id, at)
                .await
                .map(|_| ())
                .map_err(Error::from),
            Ok(false) => Err(Error::NotFound("account")),
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Api,
            AuditAction::Update,
            name,
            "password changed",
        );
        self.audit(ctx, entry, &res).await;
        res
    }

    /// Sets the account's own PIN; an existing PIN must be proven first.
    pub async fn set_pin(
        &self,
        ctx: &Context,
        id: Uuid,
        current: Option<&str>,
        new: &str,
    ) -> Result<()> {
        let account = self.own_account(ctx, id).await?;
        let secrets = self.store.account_secrets(id).await?.unwrap_or_default();
        if let Some(existing) = secrets.pin_hash.as_deref() {
            let current = current
                .ok_or_else(|| Error::invalid("currentPin", "the current PIN is required"))?;
            self.check_proof(ctx, &account, proof::PIN, current, Some(existing))
                .await?;
        }
        validate::pin(new)?;
        self.write_pin(ctx, &account, new, "pin.change").await
    }

    /// An admin sets a PIN (e.g. a temporary one).
    pub async fn reset_pin(&self, ctx: &Context, id: Uuid, new: &str) -> Result<()> {
        let account = self
            .account_admin(ctx, id, entitlements::RESET_USER_PIN)
            .await?;
        validate::pin(new)?;
        self.write_pin(ctx, &account, new, "pin.reset").await
    }

    async fn write_pin(
        &self,
        ctx: &Context,
        account: &Account,
        new: &str,
        name: &'static str,
    ) -> Result<()> {
        let hash = self.hasher.hash(new.as_bytes()).await?;
        let res = match self
            .store
            .set_pin_hash(account.id, Some(&hash), now())
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::NotFound("account")),
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Api,
            AuditAction::Update,
            name,
            "PIN changed",
        );
        self.audit(ctx, entry, &res).await;
        res
    }

    /// Checks a PIN. Wrong PINs count toward lockout, so this is no guessing oracle.
    pub async fn verify_pin(&self, ctx: &Context, id: Uuid, pin: &str) -> Result<()> {
        let account = self.scoped_account(ctx, id).await?;
        let secrets = self.store.account_secrets(id).await?.unwrap_or_default();
        self.check_proof(ctx, &account, proof::PIN, pin, secrets.pin_hash.as_deref())
            .await?;
        ensure_active(&account)
    }

    // --- security questions ---

    /// Adds a question to the tenant's catalogue.
    pub async fn create_question(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        question: &str,
    ) -> Result<SecurityQuestion> {
        ctx.principal
            .require(entitlements::MANAGE_TENANT, tenant_id)?;
        let question = validate::text("question", question, 300)?;
        let res = self
            .store
            .create_question(tenant_id, &question, now())
            .await
            .map_err(Error::from);
        let entry = AuditEntry::new(
            tenant_id,
            None,
            AuditCategory::Admin,
            AuditAction::Create,
            "question.create",
            "security question added",
        );
        self.audit(ctx, entry, &res).await;
        res
    }

    pub async fn list_questions(&self, tenant_id: Uuid) -> Result<Vec<SecurityQuestion>> {
        Ok(self.store.list_questions(tenant_id).await?)
    }

    /// The account answers (or re-answers) one of its tenant's questions.
    pub async fn set_answer(
        &self,
        ctx: &Context,
        id: Uuid,
        question_id: i64,
        answer: &str,
    ) -> Result<SecurityAnswer> {
        let account = self.own_account(ctx, id).await?;
        let hash = self
            .hasher
            .hash(validate::normalize_answer(answer)?.as_bytes())
            .await?;
        let res = self
            .store
            .put_answer(id, question_id, &hash, now())
            .await
            .map(SecurityAnswer::from)
            .map_err(Error::from);
        self.audit_answer(ctx, &account, question_id, &res).await;
        res
    }

    /// The account rewrites one of its answers (possibly to another question).
    pub async fn update_answer(
        &self,
        ctx: &Context,
        id: Uuid,
        answer_id: i64,
        question_id: i64,
        answer: &str,
    ) -> Result<SecurityAnswer> {
        let account = self.own_account(ctx, id).await?;
        let hash = self
            .hasher
            .hash(validate::normalize_answer(answer)?.as_bytes())
            .await?;
        let res = match self
            .store
            .update_answer(id, answer_id, question_id, &hash, now())
            .await
        {
            Ok(Some(a)) => Ok(SecurityAnswer::from(a)),
            Ok(None) => Err(Error::NotFound("security answer")),
            Err(e) => Err(e.into()),
        };
        self.audit_answer(ctx, &account, question_id, &res).await;
        res
    }

    async fn audit_answer(
        &self,
        ctx: &Context,
        account: &Account,
        question_id: i64,
        res: &Result<SecurityAnswer>,
    ) {
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Api,
            AuditAction::Update,
            "answer.set",
            "security answer set",
        )
        .params(json!({ "question_id": question_id }));
        self.audit(ctx, entry, res).await;
    }

    /// The account's answers, without the answers: itself or a user manager.
    pub async fn list_answers(&self, ctx: &Context, id: Uuid) -> Result<Vec<SecurityAnswer>> {
        self.account_for(ctx, id, entitlements::MANAGE_USERS)
            .await?;
        Ok(self
            .store
            .list_answers(id)
            .await?
            .into_iter()
            .map(SecurityAnswer::from)
            .collect())
    }

    /// Checks answers given as (question id, answer). Every given answer must match one the
    /// account set, and at least one must be given; a failure counts once toward lockout.
    pub async fn verify_answers(
        &self,
        ctx: &Context,
        id: Uuid,
        answers: &[(i64, String)],
    ) -> Result<()> {
        let account = self.scoped_account(ctx, id).await?;
        let stored = self.store.list_answers(id).await?;
        if answers.is_empty() {
            return Err(Error::invalid("answers", "at least one answer is required"));
        }
        let over = self.precount(ctx, &account).await?;
        let mut all_ok = true;
        for (question_id, given) in answers {
            let norm = validate::normalize_answer(given).unwrap_or_default();
            let ok = match stored.iter().find(|s| s.question.id == *question_id) {
                Some(s) => self.hasher.verify(norm.as_bytes(), &s.answer_hash).await?,
                None => self.hasher.verify_dummy(norm.as_bytes()).await?,
            };
            all_ok &= ok;
        }
        if !all_ok {
            self.count_failure(ctx, &account, proof::ANSWER).await;
            return Err(Error::InvalidCredentials);
        }
        if over {
            return Err(Error::AccountLocked);
        }
        self.services
            .limiter
            .reset(&failure_key(account.id))
            .await?;
        ensure_active(&account)
    }

    // --- shared ---

    /// The caller must be the account itself (or the operator).
    pub(super) async fn own_account(&self, ctx: &Context, id: Uuid) -> Result<Account> {
        match &ctx.principal {
            Principal::System => self.account(id).await,
            Principal::Account(a) if a.account_id == id => self.account(id).await,
            Principal::Anonymous => Err(Error::Unauthenticated),
            Principal::Account(_) => Err(Error::Forbidden(
                "only the account itself may do this".into(),
            )),
        }
    }

    /// Verifies `secret` against `hash` (the dummy hash when there is none, so timing does not
    /// tell). The attempt is counted in the shared limiter *before* the hash is checked, so a
    /// burst of parallel guesses cannot slip past the lockout threshold; past it, the account
    /// is locked and even the right secret only learns that it is locked.
    async fn check_proof(
        &self,
        ctx: &Context,
        account: &Account,
        name: &'static str,
        secret: &str,
        hash: Option<&str>,
    ) -> Result<()> {
        let over = self.precount(ctx, account).await?;
        let ok = match hash {
            Some(h) => self.hasher.verify(secret.as_bytes(), h).await?,
            None => self.hasher.verify_dummy(secret.as_bytes()).await?,
        };
        match (ok, over) {
            // Past the budget the account is locked: the right secret learns only that.
            (true, true) => Err(Error::AccountLocked),
            (true, false) => {
                self.services
                    .limiter
                    .reset(&failure_key(account.id))
                    .await?;
                Ok(())
            }
            // Failures past the budget were already counted by the limiter and locked the
            // account; the persistent count stops at the threshold.
            (false, true) => Err(Error::InvalidCredentials),
            (false, false) => {
                self.count_failure(ctx, account, name).await;
                Err(Error::InvalidCredentials)
            }
        }
    }

    /// Counts one attempt against the account's failure budget; true when the budget is spent
    /// (the account is then locked). Limiter unreachable: the attempt is refused.
    pub(super) async fn precount(&self, ctx: &Context, account: &Account) -> Result<bool> {
        let policy = self.lockout_policy(account.tenant_id).await;
        if policy.max_failures == 0 {
            return Ok(false);
        }
        let window = Duration::from_secs(policy.window_secs.max(1));
        let d = self
            .services
            .limiter
            .hit(&failure_key(account.id), policy.max_failures, window)
            .await?;
        if !d.allowed {
            self.lock_for_failures(ctx, account, d.count).await;
        }
        Ok(!d.allowed)
    }

    async fn lockout_policy(&self, tenant_id: Uuid) -> LockoutPolicy {
        match self.tenant_by_id(tenant_id).await {
            Ok(t) => t.settings.lockout_policy,
            Err(_) => LockoutPolicy::default(),
        }
    }

    /// Records a failed proof on the account (its persistent count, which also locks at the
    /// threshold) and in the audit trail.
    pub(super) async fn count_failure(&self, ctx: &Context, account: &Account, name: &'static str) {
        let lock_after = self.lockout_policy(account.tenant_id).await.max_failures;
        let counted = self
            .store
            .record_failure(account.id, lock_after, now())
            .await;
        let res: Result<()> = Err(Error::InvalidCredentials);
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Token,
            AuditAction::Webservice,
            name,
            "wrong proof",
        );
        self.audit(ctx, entry, &res).await;
        match counted {
            Ok(Some(c))
                if c.status == AccountStatus::Locked && account.status == AccountStatus::Active =>
            {
                self.after_lock(ctx, account, c.failed_attempts).await;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "failed attempt not counted"),
        }
    }

    /// Locks an account whose failure budget is spent (once: only the transition acts).
    async fn lock_for_failures(&self, ctx: &Context, account: &Account, attempts: u32) {
        let Ok(current) = self.account(account.id).await else {
            return;
        };
        if current.status != AccountStatus::Active {
            return;
        }
        match self
            .store
            .set_status(account.id, AccountStatus::Locked, now())
            .await
        {
            Ok(true) => self.after_lock(ctx, &current, attempts).await,
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "account not locked"),
        }
    }

    /// Audits a lock and emails the account an unlock link (when it has an address).
    async fn after_lock(&self, ctx: &Context, account: &Account, attempts: u32) {
        crate::metrics::lockout();
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Other,
            AuditAction::Update,
            "account.locked",
            format!("locked after {attempts} failed attempts"),
        );
        self.audit(ctx, entry, &Ok::<(), Error>(())).await;
        if account.email.is_some()
            && let Err(e) = self
                .send_link(
                    ctx,
                    account,
                    ChallengeKind::Unlock,
                    UNLOCK_PATH,
                    serde_json::Value::Null,
                )
                .await
        {
            tracing::warn!(error = %e, "unlock link not sent");
        }
    }

    /// Lifts a lock whose time is up, when the tenant's policy unlocks by expiry.
    pub(super) async fn expire_lock(&self, ctx: &Context, account: Account) -> Result<Account> {
        // Only a locked account needs the tenant's policy (a read on every sign-in otherwise).
        if account.status != AccountStatus::Locked {
            return Ok(account);
        }
        let policy = self.lockout_policy(account.tenant_id).await;
        let Some(after) = policy.unlock_after_secs else {
            return Ok(account);
        };
        let due = account.updated_at
            + chrono::Duration::seconds(i64::try_from(after).unwrap_or(i64::MAX));
        if due > now() {
            return Ok(account);
        }
        self.services
            .limiter
            .reset(&failure_key(account.id))
            .await?;
        self.store
            .set_status(account.id, AccountStatus::Active, now())
            .await?;
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Other,
            AuditAction::Update,
            "account.unlock",
            "lock expired",
        );
        self.audit(ctx, entry, &Ok::<(), Error>(())).await;
        self.account(account.id).await
    }
}

/// Where emailed unlock links point (served by the OIDC surface).
pub const UNLOCK_PATH: &str = "/unlock";
