//! Registration by an administrator with the account's first PIN in the same call.

use serde_json::json;
use uuid::Uuid;

use super::audit::AuditEntry;
use super::{Idp, Registration};
use crate::authz::{Context, entitlements};
use crate::error::{Error, Result};
use crate::model::*;
use crate::validate;

impl Idp {
    /// [`Idp::register`] by a user manager of the tenant (never a self-registration), then the
    /// PIN when one is given (checked before anything is written).
    pub async fn provision_account(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        reg: Registration,
        pin: Option<&str>,
    ) -> Result<Account> {
        ctx.principal
            .require(entitlements::MANAGE_USERS, tenant_id)?;
        if let Some(pin) = pin {
            validate::pin(pin)?;
        }
        let account = self.register(ctx, tenant_id, reg).await?;
        if let Some(pin) = pin {
            let hash = self.hasher.hash(pin.as_bytes()).await?;
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
                tenant_id,
                Some(account.id),
                AuditCategory::Admin,
                AuditAction::Update,
                "pin.set",
                "first PIN set at registration",
            )
            .params(json!({ "by": "admin" }));
            self.audit(ctx, entry, &res).await;
            res?;
        }
        Ok(account)
    }
}
