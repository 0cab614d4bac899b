//! Read models for admin surfaces: an account with its tenant, roles and credential age; a
//! tenant with its default role; and the resolution of an account reference (id or login)
//! inside one tenant.

use uuid::Uuid;

use super::Idp;
use crate::authz::{Context, Principal, entitlements};
use crate::error::{Error, Result};
use crate::model::*;

/// An account as an admin surface shows it.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub account: Account,
    pub tenant: Tenant,
    pub roles: Vec<RoleAssignment>,
    /// False once the password is older than the tenant's `max_age_days` (true when the policy
    /// sets no age or the account has no password).
    pub credentials_non_expired: bool,
    /// Whole days left before the password expires (0 when expired or not applicable).
    pub password_days_left: i64,
}

/// A tenant as its own admins see it.
#[derive(Debug, Clone)]
pub struct TenantView {
    pub tenant: Tenant,
    pub default_role: Option<Role>,
}

impl Idp {
    /// Identifies a calling application by its client id (a vendor `api-key`) and, when the
    /// caller names one, checks that the tenant is the client's. Both failures are
    /// `InvalidClient`, so neither client ids nor tenant names can be probed separately.
    pub async fn identify_app(
        &self,
        client_id: &str,
        tenant_name: Option<&str>,
    ) -> Result<(AppClient, Tenant)> {
        let client = self.client(client_id.trim()).await?;
        let tenant = self.tenant_by_id(client.tenant_id).await?;
        match tenant_name {
            Some(name) if name.trim() != tenant.name => Err(Error::InvalidClient),
            _ => Ok((client, tenant)),
        }
    }

    /// The tenant an app client belongs to (after the client authenticated some other way).
    pub async fn client_tenant(&self, client: &AppClient) -> Result<Tenant> {
        self.tenant_by_id(client.tenant_id).await
    }

    /// The account `reference` names inside `tenant_id`: its id, else its username or email.
    /// An account of another tenant is `NotFound`, like an unknown one.
    pub async fn account_in_tenant(&self, tenant_id: Uuid, reference: &str) -> Result<Account> {
        let reference = reference.trim();
        let found = match reference.parse::<Uuid>() {
            Ok(id) => self.store.account_by_id(id).await?,
            Err(_) => {
                self.find_account(tenant_id, AccountKey::Login(reference.to_owned()))
                    .await?
            }
        };
        found
            .filter(|a| a.tenant_id == tenant_id)
            .ok_or(Error::NotFound("account"))
    }

    /// The account with its tenant and roles: the account itself or a user manager of its
    /// tenant (another tenant's admin gets `NotFound`).
    pub async fn account_view(&self, ctx: &Context, id: Uuid) -> Result<AccountView> {
        let account = self
            .account_for(ctx, id, entitlements::MANAGE_USERS)
            .await?;
        let tenant = self.tenant_by_id(account.tenant_id).await?;
        let roles = self.store.account_roles(id).await?;
        let max_age = tenant.settings.password_policy.max_age_days;
        let (credentials_non_expired, password_days_left) = match account.password_changed_at {
            Some(at) if max_age > 0 => {
                let expires = at + chrono::Duration::days(i64::from(max_age));
                let now = now();
                (expires > now, (expires - now).num_days().max(0))
            }
            _ => (true, 0),
        };
        Ok(AccountView {
            account,
            tenant,
            roles,
            credentials_non_expired,
            password_days_left,
        })
    }

    /// A tenant by name with its default role, for holders of ADMIN_MANAGE_CLIENT in it. An
    /// admin of another tenant gets `NotFound`, so tenant names cannot be probed.
    pub async fn tenant_view(&self, ctx: &Context, name: &str) -> Result<TenantView> {
        let tenant = self.tenant(name.trim()).await?;
        if let Principal::Account(a) = &ctx.principal
            && a.tenant_id != tenant.id
        {
            return Err(Error::NotFound("tenant"));
        }
        ctx.principal
            .require(entitlements::MANAGE_TENANT, tenant.id)?;
        let default_role = match &tenant.default_role {
            Some(role) => self.store.role_by_name(tenant.id, role).await?,
            None => None,
        };
        Ok(TenantView {
            tenant,
            default_role,
        })
    }
}
