//! Accounts: registration, lookup, profile updates, status changes and deletion.

use serde_json::json;
use uuid::Uuid;

use super::Idp;
use super::audit::AuditEntry;
use crate::authz::{Context, Principal, entitlements};
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::NewAccount;
use crate::validate;

/// A new account as a surface or an admin asks for it.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub username: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// None: the account cannot sign in with a password until one is set.
    pub password: Option<String>,
    pub user_type: Option<String>,
    pub profile: Profile,
    /// None means ACTIVE. Anonymous callers may only ask for ACTIVE or PENDING_APPROVAL.
    pub status: Option<AccountStatus>,
    /// Role names of the tenant, besides its default role. Admins and the operator only.
    pub roles: Vec<String>,
    pub email_verified: bool,
    pub phone_verified: bool,
    pub need_change_password: bool,
}

/// Changes to an account's identifiers and profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    pub username: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub user_type: Option<Option<String>>,
    pub profile: Option<Profile>,
    pub email_verified: Option<bool>,
    pub phone_verified: Option<bool>,
}

fn norm_user_type(t: &str) -> Result<String> {
    validate::name("user_type", t).map(|t| t.to_ascii_uppercase())
}

impl Idp {
    /// Registers an account in `tenant_id`: validates identifiers and password against the
    /// tenant's policy, hashes the password, and writes the account with its roles in one
    /// transaction. A taken username, email or phone is `Error::Conflict`.
    pub async fn register(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        reg: Registration,
    ) -> Result<Account> {
        let tenant = self.tenant_by_id(tenant_id).await?;
        let privileged = ctx.principal.can(entitlements::MANAGE_USERS, tenant_id);
        if !privileged {
            if let Principal::Account(a) = &ctx.principal
                && a.tenant_id != tenant_id
            {
                return Err(Error::Forbidden("object belongs to another tenant".into()));
            }
            if !reg.roles.is_empty() {
                return Err(Error::Forbidden(format!(
                    "assigning roles requires {}",
                    entitlements::MANAGE_USERS
                )));
            }
            if !matches!(
                reg.status,
                None | Some(AccountStatus::Active | AccountStatus::PendingApproval)
            ) {
                return Err(Error::Forbidden(format!(
                    "choosing a status requires {}",
                    entitlements::MANAGE_USERS
                )));
            }
        }
        let username = validate::username(&reg.username)?;
        let email = reg.email.as_deref().map(validate::email).transpose()?;
        let phone = reg.phone.as_deref().map(validate::phone).transpose()?;
        let user_type = reg.user_type.as_deref().map(norm_user_type).transpose()?;
        let password_hash = match &reg.password {
            Some(pw) => {
                validate::password(&tenant.settings.password_policy, pw)?;
                Some(self.hasher.hash(pw.as_bytes()).await?)
            }
            None => None,
        };
        let mut role_ids = Vec::new();
        for name in tenant.default_role.iter().chain(reg.roles.iter()) {
            let role = self
                .store
                .role_by_name(tenant_id, name)
                .await?
                .ok_or(Error::NotFound("role"))?;
            if !role_ids.contains(&role.id) {
                role_ids.push(role.id);
            }
        }
        let at = now();
        let account = Account {
            id: Uuid::new_v4(),
            tenant_id,
            number: 0,
            username,
            email,
            phone,
            email_verified: reg.email_verified,
            phone_verified: reg.phone_verified,
            user_type,
            status: reg.status.unwrap_or(AccountStatus::Active),
            need_change_password: reg.need_change_password,
            failed_attempts: 0,
            profile: reg.profile,
            created_at: at,
            updated_at: at,
            last_login_at: None,
            password_changed_at: password_hash.as_ref().map(|_| at),
        };
        let new = NewAccount {
            account: account.clone(),
            secrets: AccountSecrets {
                password_hash,
                pin_hash: None,
            },
            role_ids,
        };
        let res = self.store.create_account(&new).await.map_err(Error::from);
        let entry = AuditEntry::new(
            tenant_id,
            Some(account.id),
            AuditCategory::Api,
            AuditAction::Create,
            "account.register",
            "account registered",
        )
        .params(
            json!({ "username": account.username, "email": account.email, "roles": reg.roles }),
        );
        self.audit(ctx, entry, &res).await;
        res
    }

    /// Looks an account up inside a tenant by a raw identifier (normalised here).
    pub async fn find_account(&self, tenant_id: Uuid, key: AccountKey) -> Result<Option<Account>> {
        let key = match key {
            AccountKey::Username(u) => AccountKey::Username(u.trim().to_owned()),
            AccountKey::Email(e) => match validate::email(&e) {
                Ok(e) => AccountKey::Email(e),
                Err(_) => return Ok(None),
            },
            AccountKey::Phone(p) => match validate::phone(&p) {
                Ok(p) => AccountKey::Phone(p),
                Err(_) => return Ok(None),
            },
            AccountKey::Login(l) => AccountKey::Login(l.trim().to_owned()),
        };
        Ok(self.store.find_account(tenant_id, &key).await?)
    }

    /// An account by its public number.
    pub async fn account_by_number(&self, number: i64) -> Result<Account> {
        self.store
            .account_by_number(number)
            .await?
            .ok_or(Error::NotFound("account"))
    }

    /// An account as seen by the caller: itself, or a user manager of its tenant.
    pub async fn read_account(&self, ctx: &Context, id: Uuid) -> Result<Account> {
        self.account_for(ctx, id, entitlements::MANAGE_USERS).await
    }

    pub async fn list_accounts(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        page: Page,
    ) -> Result<Vec<Account>> {
        ctx.principal
            .require(entitlements::MANAGE_USERS, tenant_id)?;
        Ok(self.store.list_accounts(tenant_id, page.clamped()).await?)
    }

    /// Updates identifiers and profile: the account itself or a user manager.
    pub async fn update_account(
        &self,
        ctx: &Context,
        id: Uuid,
        update: AccountUpdate,
    ) -> Result<Account> {
        let mut account = self
            .account_for(ctx, id, entitlements::MANAGE_USERS)
            .await?;
        if let Some(u) = update.username {
            account.username = validate::username(&u)?;
        }
        if let Some(e) = update.email {
            let e = e.as_deref().map(validate::email).transpose()?;
            if e != account.email {
                account.email_verified = false;
            }
            account.email = e;
        }
        if let Some(p) = update.phone {
            let p = p.as_deref().map(validate::phone).transpose()?;
            if p != account.phone {
                account.phone_verified = false;
            }
            account.phone = p;
        }
        if let Some(t) = update.user_type {
            account.user_type = t.as_deref().map(norm_user_type).transpose()?;
        }
        if let Some(p) = update.profile {
            account.profile = p;
        }
        // Verification flags are proofs: only the system or an admin may set them directly.
        if update.email_verified.is_some() || update.phone_verified.is_some() {
            ctx.principal
                .require(entitlements::MANAGE_USERS, account.tenant_id)?;
            account.email_verified = update.email_verified.unwrap_or(account.email_verified);
            account.phone_verified = update.phone_verified.unwrap_or(account.phone_verified);
        }
        self.save_account(ctx, account, "account.update", "account updated")
            .await
    }

    /// Saves a changed account (stamping `updated_at`) and audits the change as `name`, failed
    /// or not: the common end of every profile change.
    pub(super) async fn save_account(
        &self,
        ctx: &Context,
        mut account: Account,
        name: &'static str,
        summary: impl Into<String>,
    ) -> Result<Account> {
        account.updated_at = now();
        let (tenant_id, id) = (account.tenant_id, account.id);
        let res = match self.store.update_account(&account).await {
            Ok(true) => Ok(account),
            Ok(false) => Err(Error::NotFound("account")),
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            tenant_id,
            Some(id),
            AuditCategory::Api,
            AuditAction::Update,
            name,
            summary,
        );
        self.audit(ctx, entry, &res).await;
        res
    }

    /// Sets the status (lock, unlock, activate, close, ...): a status manager of the tenant.
    pub async fn set_status(
        &self,
        ctx: &Context,
        id: Uuid,
        status: AccountStatus,
    ) -> Result<Account> {
        let account = self
            .account_admin(ctx, id, entitlements::MANAGE_USER_STATUS)
            .await?;
        self.write_status(ctx, account, status, "account.status")
            .await
    }

    pub async fn lock(&self, ctx: &Context, id: Uuid) -> Result<Account> {
        self.set_status(ctx, id, AccountStatus::Locked).await
    }

    pub async fn unlock(&self, ctx: &Context, id: Uuid) -> Result<Account> {
        self.set_status(ctx, id, AccountStatus::Active).await
    }

    /// The account deactivates itself (or a status manager does it).
    pub async fn deactivate(&self, ctx: &Context, id: Uuid) -> Result<Account> {
        let account = self
            .account_for(ctx, id, entitlements::MANAGE_USER_STATUS)
            .await?;
        self.write_status(ctx, account, AccountStatus::Disabled, "account.deactivate")
            .await
    }

    /// Deletes the account and erases its personal data; audit records keep only its id.
    /// The account itself or a holder of DEREGISTER_ACCOUNT.
    pub async fn delete_account(&self, ctx: &Context, id: Uuid) -> Result<()> {
        let account = self
            .account_for(ctx, id, entitlements::DEREGISTER_ACCOUNT)
            .await?;
        let res = match self.store.delete_account(id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::NotFound("account")),
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(id),
            AuditCategory::Api,
            AuditAction::Delete,
            "account.delete",
            "account deleted and personal data erased",
        );
        self.audit(ctx, entry, &res).await;
        res
    }

    async fn write_status(
        &self,
        ctx: &Context,
        account: Account,
        status: AccountStatus,
        name: &'static str,
    ) -> Result<Account> {
        if status == AccountStatus::Active {
            // An unlock also forgets the failures that led to the lock.
            self.services
                .limiter
                .reset(&super::mfa::failure_key(account.id))
                .await?;
        }
        let res = match self.store.set_status(account.id, status, now()).await {
            // Read back: the store also resets the failure count when an account leaves LOCKED.
            Ok(true) => self.account(account.id).await,
            Ok(false) => Err(Error::NotFound("account")),
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Admin,
            AuditAction::Update,
            name,
            format!("status set to {status}"),
        )
        .params(json!({ "status": status }));
        self.audit(ctx, entry, &res).await;
        res
    }
}

impl Page {
    /// At most 500 rows a page.
    pub fn clamped(self) -> Self {
        Self {
            offset: self.offset,
            limit: self.limit.clamp(1, 500),
        }
    }
}
