//! What a signed-in account does to itself on surfaces that name accounts by their public
//! number: finding "my" account by number, setting the avatar, and proving the email address by
//! an emailed link.

use std::time::Duration;

use serde_json::Value;

use super::Idp;
use crate::authz::{Context, Principal, entitlements};
use crate::error::{Error, Result};
use crate::model::*;
use crate::validate;

impl Idp {
    /// The account with public number `number`, for the account itself or a user manager of
    /// its tenant. Anyone else gets `Forbidden` whether the number exists or not, so numbers
    /// cannot be probed; a user manager gets `NotFound` for numbers outside its tenant.
    pub async fn account_by_number_for(&self, ctx: &Context, number: i64) -> Result<Account> {
        let privileged = match &ctx.principal {
            Principal::System => true,
            Principal::Account(a) => ctx.principal.can(entitlements::MANAGE_USERS, a.tenant_id),
            Principal::Anonymous => return Err(Error::Unauthenticated),
        };
        let found = self.store.account_by_number(number).await?;
        match found {
            Some(a) if privileged || ctx.principal.account_id() == Some(a.id) => {
                self.account_for(ctx, a.id, entitlements::MANAGE_USERS)
                    .await
            }
            _ if privileged => Err(Error::NotFound("account")),
            _ => Err(Error::Forbidden("not the caller's account".into())),
        }
    }

    /// Sets the account's avatar to `url` (an uploaded file's address): the account itself or
    /// a user manager.
    pub async fn set_avatar(&self, ctx: &Context, id: uuid::Uuid, url: &str) -> Result<Account> {
        let mut account = self
            .account_for(ctx, id, entitlements::MANAGE_USERS)
            .await?;
        account.profile.avatar_url = Some(url.to_owned());
        self.save_account(ctx, account, "account.avatar", "avatar set")
            .await
    }

    /// Emails the account a link (`{public_url}{link_path}?token=...`) that proves its email
    /// address ([`Self::verify_email_with_token`]). The account itself or a user manager;
    /// `email`, when given, must be the account's address (so the call never mails anyone
    /// else); at most one link per account and resend interval (`RateLimited` otherwise).
    pub async fn send_email_verification(
        &self,
        ctx: &Context,
        id: uuid::Uuid,
        email: Option<&str>,
        link_path: &str,
    ) -> Result<Challenge> {
        let account = self
            .account_for(ctx, id, entitlements::MANAGE_USERS)
            .await?;
        if let Some(given) = email {
            let given = validate::email(given)?;
            if account.email.as_deref() != Some(given.as_str()) {
                return Err(Error::invalid("email", "is not the address of the account"));
            }
        }
        let s = &self.services.security;
        let resend = self
            .services
            .limiter
            .hit(
                &format!("verify:send:{id}"),
                1,
                Duration::from_secs(s.otp_resend_secs),
            )
            .await?;
        if !resend.allowed {
            return Err(Error::RateLimited {
                retry_after_secs: resend
                    .retry_after
                    .map_or(s.otp_resend_secs, |d| d.as_secs().max(1)),
            });
        }
        self.send_link(
            ctx,
            &account,
            ChallengeKind::EmailVerification,
            link_path,
            Value::Null,
        )
        .await
    }

    /// Spends an email-verification link token and marks the address verified, if it is still
    /// the account's. Unknown, used, expired or forged tokens are `ChallengeClosed`.
    pub async fn verify_email_with_token(&self, ctx: &Context, token: &str) -> Result<Account> {
        let (challenge, mut account) = self
            .redeem_link(ChallengeKind::EmailVerification, token)
            .await?;
        if account.email.as_deref() != Some(challenge.destination.as_str()) {
            return Err(Error::ChallengeClosed);
        }
        account.email_verified = true;
        self.save_account(ctx, account, "contact.verify", "email verified by link")
            .await
    }
}
