//! The operations every surface maps onto. Each takes a [`Context`] (who calls, from where),
//! checks what the caller may do, applies the domain rules, and leaves an audit record.

pub mod account_views;
mod accounts;
pub mod approval;
pub mod audit;
mod bootstrap;
mod clients;
pub mod code_sign_in;
mod credentials;
pub mod mfa;
pub mod onboarding;
mod provisioning;
mod recent;
mod recovery;
mod roles;
mod self_service;
mod signup;
pub mod temporary_secrets;
mod tenants;
mod throttle;
pub mod tokens;

use std::collections::BTreeSet;
use std::sync::Arc;

use uuid::Uuid;

pub use accounts::{AccountUpdate, Registration};
pub use clients::NewClient;
pub use credentials::UNLOCK_PATH;
pub use signup::{SignUp, SignedUp};
pub use tenants::TenantUpdate;
pub use throttle::Throttle;

use crate::authz::{Actor, Context, Principal};
use crate::error::{Error, Result};
use crate::limits::Limiter;
use crate::model::{Account, AccountStatus, Tenant};
use crate::notify::Notifier;
use crate::secrets::hasher::SecretHasher;
use crate::store::Store;

/// The outside world the core talks to, besides its store.
#[derive(Clone)]
pub struct Services {
    /// Counters shared by every replica (Redis) or kept in process.
    pub limiter: Arc<dyn Limiter>,
    pub notifier: Arc<dyn Notifier>,
    pub security: SecurityConfig,
}

/// Knobs of MFA, lockout and rate limiting that are not per tenant.
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    /// Lifetime of a one-time code.
    pub otp_ttl_secs: u64,
    /// Wrong tries before a code dies.
    pub otp_max_attempts: u32,
    /// Least time between two codes sent to one account on one channel.
    pub otp_resend_secs: u64,
    /// Lifetime of emailed links (verification, reset, unlock).
    pub link_ttl_secs: u64,
    /// Base URL that emailed links start with (e.g. the issuer).
    pub public_url: String,
    /// The issuer shown in authenticator apps.
    pub totp_issuer: String,
    /// Attempts per minute on authentication endpoints.
    pub rate_per_ip: u32,
    pub rate_per_account: u32,
    pub rate_per_client: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            otp_ttl_secs: 300,
            otp_max_attempts: 5,
            otp_resend_secs: 30,
            link_ttl_secs: 3600,
            public_url: "http://127.0.0.1:8080".into(),
            totp_issuer: "idp".into(),
            rate_per_ip: 60,
            rate_per_account: 30,
            rate_per_client: 600,
        }
    }
}

/// The identity engine: a store, the hashing pool and the outside-world services. Cheap to
/// clone and share.
#[derive(Clone)]
pub struct Idp {
    store: Arc<dyn Store>,
    hasher: SecretHasher,
    services: Services,
    clients: Arc<recent::Clients>,
    tenants: Arc<recent::Tenants>,
}

impl Idp {
    pub fn new(store: Arc<dyn Store>, hasher: SecretHasher, services: Services) -> Self {
        Self {
            store,
            hasher,
            services,
            clients: Arc::default(),
            tenants: Arc::default(),
        }
    }

    pub fn security(&self) -> &SecurityConfig {
        &self.services.security
    }

    /// The shared counters (for readiness checks).
    pub fn limiter(&self) -> &Arc<dyn Limiter> {
        &self.services.limiter
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn hasher(&self) -> &SecretHasher {
        &self.hasher
    }

    /// Loads an account by id.
    pub async fn account(&self, id: Uuid) -> Result<Account> {
        self.store
            .account_by_id(id)
            .await?
            .ok_or(Error::NotFound("account"))
    }

    /// The principal for a signed-in account: its tenant and the entitlements of its roles.
    /// Refused unless the account is ACTIVE, so a locked or disabled account can do nothing.
    pub async fn actor(&self, account_id: Uuid) -> Result<Actor> {
        let account = self.account(account_id).await?;
        ensure_active(&account)?;
        let entitlements: BTreeSet<String> = self
            .store
            .account_roles(account_id)
            .await?
            .into_iter()
            .flat_map(|a| a.role.entitlements.into_iter().map(|e| e.name))
            .collect();
        Ok(Actor {
            account_id,
            tenant_id: account.tenant_id,
            entitlements,
        })
    }

    /// Loads an account and checks that the caller is that account or holds `entitlement` in its
    /// tenant. An account of another tenant answers NotFound, so ids cannot be probed.
    async fn account_for(&self, ctx: &Context, id: Uuid, entitlement: &str) -> Result<Account> {
        let account = self.scoped_account(ctx, id).await?;
        ctx.principal
            .require_self_or(id, entitlement, account.tenant_id)?;
        Ok(account)
    }

    /// Like [`Self::account_for`], but only for holders of `entitlement`, not the account itself.
    async fn account_admin(&self, ctx: &Context, id: Uuid, entitlement: &str) -> Result<Account> {
        let account = self.scoped_account(ctx, id).await?;
        ctx.principal.require(entitlement, account.tenant_id)?;
        Ok(account)
    }

    async fn scoped_account(&self, ctx: &Context, id: Uuid) -> Result<Account> {
        let account = self.account(id).await?;
        match &ctx.principal {
            Principal::Account(a) if a.tenant_id != account.tenant_id => {
                Err(Error::NotFound("account"))
            }
            _ => Ok(account),
        }
    }

    /// A tenant by id, as read at most a second ago (see [`recent`]): sign-ins read its
    /// policies several times, and each read would be a round trip on PostgreSQL.
    async fn tenant_by_id(&self, id: Uuid) -> Result<Tenant> {
        if let Some(known) = self.tenants.get(&id) {
            return Ok(known);
        }
        let tenant = self
            .store
            .tenant_by_id(id)
            .await?
            .ok_or(Error::NotFound("tenant"))?;
        self.tenants.put(id, &tenant);
        Ok(tenant)
    }
}

/// Only ACTIVE accounts may act; every other status has its own error.
pub fn ensure_active(account: &Account) -> Result<()> {
    match account.status {
        AccountStatus::Active => Ok(()),
        AccountStatus::Locked => Err(Error::AccountLocked),
        AccountStatus::Inactive => Err(Error::AccountInactive),
        AccountStatus::Disabled | AccountStatus::Closed => Err(Error::AccountDisabled),
        AccountStatus::PendingApproval => Err(Error::PendingApproval),
    }
}
