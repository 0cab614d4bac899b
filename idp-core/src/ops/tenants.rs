//! Tenants: the default one, creation by the operator, settings by the tenant's admins.

use serde_json::json;
use uuid::Uuid;

use super::Idp;
use super::audit::AuditEntry;
use crate::authz::{Context, entitlements};
use crate::error::{Error, Result};
use crate::model::{AuditAction, AuditCategory, DEFAULT_TENANT, Tenant, TenantSettings, now};
use crate::store::UniqueField;
use crate::validate;

/// Changes to a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantUpdate {
    pub description: Option<Option<String>>,
    pub default_role: Option<Option<String>>,
    pub settings: Option<TenantSettings>,
}

impl Idp {
    /// Creates the `default` tenant if it does not exist yet (safe to race from many replicas).
    pub async fn ensure_default_tenant(&self) -> Result<Tenant> {
        if let Some(t) = self.store.tenant_by_name(DEFAULT_TENANT).await? {
            return Ok(t);
        }
        match self
            .create_tenant(&Context::system(), DEFAULT_TENANT, Some("Default tenant"))
            .await
        {
            Err(Error::Conflict(UniqueField::TenantName)) => self.tenant(DEFAULT_TENANT).await,
            other => other,
        }
    }

    pub async fn create_tenant(
        &self,
        ctx: &Context,
        name: &str,
        description: Option<&str>,
    ) -> Result<Tenant> {
        ctx.principal.require_system()?;
        let name = validate::name("tenant name", name)?;
        let description = description
            .map(|d| validate::text("description", d, 500))
            .transpose()?;
        let at = now();
        let tenant = Tenant {
            id: Uuid::new_v4(),
            name,
            description,
            default_role: None,
            settings: TenantSettings::default(),
            created_at: at,
            updated_at: at,
        };
        let res = self.store.create_tenant(&tenant).await.map_err(Error::from);
        let entry = AuditEntry::new(
            tenant.id,
            None,
            AuditCategory::Admin,
            AuditAction::Create,
            "tenant.create",
            format!("tenant {} created", tenant.name),
        );
        self.audit(ctx, entry, &res).await;
        res.map(|()| tenant)
    }

    /// A tenant by its exact name.
    pub async fn tenant(&self, name: &str) -> Result<Tenant> {
        self.store
            .tenant_by_name(name)
            .await?
            .ok_or(Error::NotFound("tenant"))
    }

    pub async fn update_tenant(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        update: TenantUpdate,
    ) -> Result<Tenant> {
        ctx.principal
            .require(entitlements::MANAGE_TENANT, tenant_id)?;
        // Fresh from the store, not the recent copy: every field is written back.
        let mut tenant = self
            .store
            .tenant_by_id(tenant_id)
            .await?
            .ok_or(Error::NotFound("tenant"))?;
        if let Some(d) = update.description {
            tenant.description = d
                .map(|d| validate::text("description", &d, 500))
                .transpose()?;
        }
        if let Some(r) = update.default_role {
            if let Some(role) = &r {
                self.store
                    .role_by_name(tenant_id, role)
                    .await?
                    .ok_or(Error::NotFound("role"))?;
            }
            tenant.default_role = r;
        }
        if let Some(s) = update.settings {
            if s.password_policy.min_length > s.password_policy.max_length
                || s.password_policy.max_length > 1024
            {
                return Err(Error::invalid(
                    "password_policy",
                    "min_length must not exceed max_length (at most 1024)",
                ));
            }
            tenant.settings = s;
        }
        tenant.updated_at = now();
        let res = match self.store.update_tenant(&tenant).await {
            Ok(true) => {
                // This replica applies the new policies at once; others within a second.
                self.tenants.put(tenant.id, &tenant);
                Ok(())
            }
            Ok(false) => Err(Error::NotFound("tenant")),
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            tenant_id,
            None,
            AuditCategory::Admin,
            AuditAction::Update,
            "tenant.update",
            "tenant settings updated",
        )
        .params(json!({ "default_role": tenant.default_role }));
        self.audit(ctx, entry, &res).await;
        res.map(|()| tenant)
    }
}
