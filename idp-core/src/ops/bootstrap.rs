//! What a surface needs to exist before it serves: its app client and the roles it names.
//! Idempotent and safe when several replicas start at once (a lost race re-reads the winner's).

use super::{Idp, NewClient};
use crate::authz::Context;
use crate::error::{Error, Result};
use crate::model::{AppClient, Role};

impl Idp {
    /// The app client `new.id` of tenant `tenant_name`, created by the operator when missing.
    /// An existing client is returned as it is (an operator's changes stand).
    pub async fn ensure_client(&self, tenant_name: &str, new: NewClient) -> Result<AppClient> {
        match self.client(&new.id).await {
            Ok(client) => return Ok(client),
            Err(Error::InvalidClient) => {}
            Err(e) => return Err(e),
        }
        let tenant = self.tenant(tenant_name).await?;
        let id = new.id.clone();
        match self.create_client(&Context::system(), tenant.id, new).await {
            Err(Error::Conflict(_)) => self.client(&id).await,
            other => other,
        }
    }

    /// The role `name` of tenant `tenant_name`, created by the operator with `entitlements`
    /// when missing. An existing role is returned as it is.
    pub async fn ensure_role(
        &self,
        tenant_name: &str,
        name: &str,
        description: &str,
        entitlements: &[&str],
    ) -> Result<Role> {
        let tenant = self.tenant(tenant_name).await?;
        if let Some(role) = self.store.role_by_name(tenant.id, name).await? {
            return Ok(role);
        }
        let ents: Vec<String> = entitlements.iter().map(|e| (*e).to_owned()).collect();
        match self
            .create_role(
                &Context::system(),
                tenant.id,
                name,
                Some(description),
                &ents,
            )
            .await
        {
            Err(Error::Conflict(_)) => self
                .store
                .role_by_name(tenant.id, name)
                .await?
                .ok_or(Error::NotFound("role")),
            other => other,
        }
    }
}
