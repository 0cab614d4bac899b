//! The operations every surface maps onto. Each takes a [`Context`] (who calls, from where),
//! checks what the caller may do, applies the domain rules, and leaves an audit record.

mod accounts;
pub mod audit;
mod clients;
mod credentials;
mod roles;
mod tenants;
pub mod tokens;

use std::collections::BTreeSet;
use std::sync::Arc;

use uuid::Uuid;

pub use accounts::{AccountUpdate, Registration};
pub use clients::NewClient;
pub use tenants::TenantUpdate;

use crate::authz::{Actor, Context, Principal};
use crate::error::{Error, Result};
use crate::model::{Account, AccountStatus, Tenant};
use crate::secrets::hasher::SecretHasher;
use crate::store::Store;

/// The identity engine: a store plus the hashing pool. Cheap to clone and share.
#[derive(Clone)]
pub struct Idp {
    store: Arc<dyn Store>,
    hasher: SecretHasher,
}

impl Idp {
    pub fn new(store: Arc<dyn Store>, hasher: SecretHasher) -> Self {
        Self { store, hasher }
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

    async fn tenant_by_id(&self, id: Uuid) -> Result<Tenant> {
        self.store
            .tenant_by_id(id)
            .await?
            .ok_or(Error::NotFound("tenant"))
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
