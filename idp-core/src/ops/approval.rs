//! Accounts that wait for an administrator's approval: registered as PENDING_APPROVAL (an
//! anonymous registration may ask for that status), they can do nothing — sign-in is refused
//! with `PendingApproval` once the password is right, so no token exists for them — until a
//! holder of [`APPROVE_ACCOUNT`] in their tenant approves them ([`Idp::approve`]).

use uuid::Uuid;

use super::Idp;
use super::audit::AuditEntry;
use crate::authz::{Context, Principal};
use crate::error::{Error, Result};
use crate::model::{Account, AccountStatus, AuditAction, AuditCategory, now};

/// The entitlement that lets an account approve accounts of its tenant.
pub const APPROVE_ACCOUNT: &str = "APPROVE_ACCOUNT";

impl Idp {
    /// Approves an account waiting for approval: it becomes ACTIVE. Approving an ACTIVE
    /// account again is a no-op; any other status (deactivated, locked, ...) is refused, so an
    /// approval never reactivates an account. Needs [`APPROVE_ACCOUNT`] in the account's tenant.
    pub async fn approve(&self, ctx: &Context, account_id: Uuid) -> Result<Account> {
        let account = self.account_admin(ctx, account_id, APPROVE_ACCOUNT).await?;
        match account.status {
            AccountStatus::Active => return Ok(account),
            AccountStatus::PendingApproval => {}
            _ => {
                return Err(Error::invalid("account", "is not waiting for approval"));
            }
        }
        let res = match self
            .store
            .set_status(account_id, AccountStatus::Active, now())
            .await
        {
            Ok(true) => self.account(account_id).await,
            Ok(false) => Err(Error::NotFound("account")),
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account_id),
            AuditCategory::Admin,
            AuditAction::Update,
            "account.approve",
            "account approved",
        );
        self.audit(ctx, entry, &res).await;
        res
    }

    /// [`Self::approve`] for the account with public number `number`. The caller's entitlement
    /// is checked before the number is looked up, so numbers cannot be probed without it.
    pub async fn approve_number(&self, ctx: &Context, number: i64) -> Result<Account> {
        match &ctx.principal {
            Principal::Account(a) => ctx.principal.require(APPROVE_ACCOUNT, a.tenant_id)?,
            Principal::Anonymous => return Err(Error::Unauthenticated),
            Principal::System => {}
        }
        let account = self.account_by_number(number).await?;
        self.approve(ctx, account.id).await
    }
}
