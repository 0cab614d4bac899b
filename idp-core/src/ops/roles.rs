//! Roles and their entitlements, and which accounts hold them.

use serde_json::json;
use uuid::Uuid;

use super::Idp;
use super::audit::AuditEntry;
use crate::authz::{Context, entitlements};
use crate::error::{Error, Result};
use crate::model::{AuditAction, AuditCategory, Role, RoleAssignment, now};
use crate::validate;

fn entitlement_names(raw: &[String]) -> Result<Vec<String>> {
    let mut names: Vec<String> = raw
        .iter()
        .map(|e| validate::name("entitlement", e).map(|e| e.to_ascii_uppercase()))
        .collect::<Result<_>>()?;
    names.sort();
    names.dedup();
    Ok(names)
}

impl Idp {
    pub async fn create_role(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        name: &str,
        description: Option<&str>,
        entitlements: &[String],
    ) -> Result<Role> {
        ctx.principal
            .require(entitlements::MANAGE_ROLES, tenant_id)?;
        let name = validate::name("role name", name)?;
        let description = description
            .map(|d| validate::text("description", d, 500))
            .transpose()?;
        let ents = entitlement_names(entitlements)?;
        let res = self
            .store
            .create_role(tenant_id, &name, description.as_deref(), &ents, now())
            .await
            .map_err(Error::from);
        let entry = AuditEntry::new(
            tenant_id,
            None,
            AuditCategory::Admin,
            AuditAction::Create,
            "role.create",
            format!("role {name} created"),
        )
        .params(json!({ "entitlements": ents }));
        self.audit(ctx, entry, &res).await;
        res
    }

    /// Renames a role and, when `entitlements` is given, replaces its entitlement set.
    pub async fn update_role(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        role_id: i64,
        name: &str,
        description: Option<&str>,
        entitlements: Option<&[String]>,
    ) -> Result<Role> {
        ctx.principal
            .require(entitlements::MANAGE_ROLES, tenant_id)?;
        let name = validate::name("role name", name)?;
        let description = description
            .map(|d| validate::text("description", d, 500))
            .transpose()?;
        let ents = entitlements.map(entitlement_names).transpose()?;
        let res = match self
            .store
            .update_role(
                tenant_id,
                role_id,
                &name,
                description.as_deref(),
                ents.as_deref(),
                now(),
            )
            .await
        {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(Error::NotFound("role")),
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            tenant_id,
            None,
            AuditCategory::Admin,
            AuditAction::Update,
            "role.update",
            format!("role {role_id} updated"),
        )
        .params(json!({ "entitlements": ents }));
        self.audit(ctx, entry, &res).await;
        res
    }

    pub async fn delete_role(&self, ctx: &Context, tenant_id: Uuid, role_id: i64) -> Result<()> {
        ctx.principal
            .require(entitlements::MANAGE_ROLES, tenant_id)?;
        let res = match self.store.delete_role(tenant_id, role_id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::NotFound("role")),
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            tenant_id,
            None,
            AuditCategory::Admin,
            AuditAction::Delete,
            "role.delete",
            format!("role {role_id} deleted"),
        );
        self.audit(ctx, entry, &res).await;
        res
    }

    pub async fn role(&self, ctx: &Context, tenant_id: Uuid, role_id: i64) -> Result<Role> {
        ctx.principal
            .require(entitlements::MANAGE_ROLES, tenant_id)?;
        self.store
            .role_by_id(tenant_id, role_id)
            .await?
            .ok_or(Error::NotFound("role"))
    }

    pub async fn list_roles(&self, ctx: &Context, tenant_id: Uuid) -> Result<Vec<Role>> {
        ctx.principal
            .require(entitlements::MANAGE_ROLES, tenant_id)?;
        Ok(self.store.list_roles(tenant_id).await?)
    }

    /// Gives an account a role of its tenant (by name). Idempotent.
    pub async fn assign_role(
        &self,
        ctx: &Context,
        account_id: Uuid,
        role_name: &str,
    ) -> Result<Role> {
        let account = self
            .account_admin(ctx, account_id, entitlements::MANAGE_USER_ROLES)
            .await?;
        let role = self
            .store
            .role_by_name(account.tenant_id, role_name.trim())
            .await?
            .ok_or(Error::NotFound("role"))?;
        let res = self
            .store
            .assign_role(account_id, role.id, now())
            .await
            .map_err(Error::from);
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account_id),
            AuditCategory::Admin,
            AuditAction::Create,
            "role.assign",
            format!("role {} assigned", role.name),
        );
        self.audit(ctx, entry, &res).await;
        res.map(|_| role)
    }

    /// Takes a role away from an account. NotFound if it did not hold it.
    pub async fn remove_role(
        &self,
        ctx: &Context,
        account_id: Uuid,
        role_name: &str,
    ) -> Result<()> {
        let account = self
            .account_admin(ctx, account_id, entitlements::MANAGE_USER_ROLES)
            .await?;
        let role = self
            .store
            .role_by_name(account.tenant_id, role_name.trim())
            .await?
            .ok_or(Error::NotFound("role"))?;
        let res = match self.store.remove_role(account_id, role.id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::NotFound("role assignment")),
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account_id),
            AuditCategory::Admin,
            AuditAction::Delete,
            "role.remove",
            format!("role {} removed", role.name),
        );
        self.audit(ctx, entry, &res).await;
        res
    }

    /// The account's roles: itself or a role manager.
    pub async fn account_roles(
        &self,
        ctx: &Context,
        account_id: Uuid,
    ) -> Result<Vec<RoleAssignment>> {
        self.account_for(ctx, account_id, entitlements::MANAGE_USER_ROLES)
            .await?;
        Ok(self.store.account_roles(account_id).await?)
    }
}
