//! Proving control of an address, and getting back into an account:
//! - contact verification: a one-time code sent to the account's email or phone, which marks
//!   that address verified once it is checked ([`Idp::send_contact_code`],
//!   [`Idp::verify_contact`]);
//! - password reset by an emailed link token ([`Idp::request_password_reset`],
//!   [`Idp::reset_password_with_token`]), which never says whether an address is known;
//! - a new password set by the signed-in account itself, without the current one
//!   ([`Idp::set_password_signed_in`]), for surfaces whose reset call takes an access token.
//!
//! Every new password follows the tenant's policy and ends every grant of the account.

use serde_json::{Value, json};
use uuid::Uuid;

use super::audit::AuditEntry;
use super::onboarding::MailTarget;
use super::tokens::Tokens;
use super::{Idp, ensure_active};
use crate::authz::{Context, Principal};
use crate::error::{Error, Result};
use crate::model::*;
use crate::notify::Channel;
use crate::secrets;
use crate::validate;

/// `purpose` of the codes [`Idp::send_contact_code`] sends: only these verify an address.
const CONTACT_PURPOSE: &str = "verify_contact";

impl Idp {
    /// Sends a one-time code to the account's email (`Channel::Email`) or phone
    /// (`Channel::Sms`); checking it with [`Self::verify_contact`] marks that address verified.
    /// The challenge id is what the client sends back with the code.
    pub async fn send_contact_code(
        &self,
        ctx: &Context,
        account: &Account,
        channel: Channel,
    ) -> Result<Challenge> {
        self.send_otp(ctx, account, channel, json!({ "purpose": CONTACT_PURPOSE }))
            .await
    }

    /// Checks a code sent by [`Self::send_contact_code`] on `channel` and marks the address it
    /// went to verified (if it is still the account's). Codes sent for anything else (a
    /// sign-in's second factor) are `ChallengeClosed` here; a wrong code is
    /// `InvalidCredentials` and counts as [`Self::verify_otp`] says.
    pub async fn verify_contact(
        &self,
        ctx: &Context,
        channel: Channel,
        challenge_id: Uuid,
        code: &str,
    ) -> Result<Account> {
        let kind = match channel {
            Channel::Email => ChallengeKind::EmailOtp,
            Channel::Sms => ChallengeKind::SmsOtp,
        };
        let found = self
            .store
            .challenge(challenge_id)
            .await?
            .ok_or(Error::ChallengeClosed)?;
        if found.kind != kind || found.payload["purpose"] != json!(CONTACT_PURPOSE) {
            return Err(Error::ChallengeClosed);
        }
        let (challenge, mut account) = self.verify_otp(ctx, challenge_id, code).await?;
        let current = match channel {
            Channel::Email => account.email.as_deref(),
            Channel::Sms => account.phone.as_deref(),
        };
        // The address changed since the code was sent: the code proves nothing about the new one.
        if current != Some(challenge.destination.as_str()) {
            return Err(Error::ChallengeClosed);
        }
        match channel {
            Channel::Email => account.email_verified = true,
            Channel::Sms => account.phone_verified = true,
        }
        let summary = format!("{} verified by one-time code", kind.as_str());
        self.save_account(ctx, account, "contact.verify", summary)
            .await
    }

    /// Emails a password-reset link (`{public_url}{link_path}?token=...`) to the account of
    /// `email` in the tenant, if there is one. The answer is the same whether the address is
    /// known or not, and whether a link was sent or not: at most one link per address and
    /// resend interval, and a failed delivery is logged, not reported.
    pub async fn request_password_reset(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        email: &str,
        link_path: &str,
    ) -> Result<()> {
        let account = match self.mail_target(tenant_id, email, "reset").await? {
            MailTarget::Send(account) => *account,
            MailTarget::Throttled => return Ok(()),
            MailTarget::Unknown => {
                let entry = AuditEntry::new(
                    tenant_id,
                    None,
                    AuditCategory::Other,
                    AuditAction::Webservice,
                    "password.reset.request",
                    "password reset asked for an unknown address",
                );
                self.audit(ctx, entry, &Ok::<(), Error>(())).await;
                return Ok(());
            }
        };
        if let Err(e) = self
            .send_link(
                ctx,
                &account,
                ChallengeKind::PasswordReset,
                link_path,
                Value::Null,
            )
            .await
        {
            tracing::warn!(error = %e, "password reset link not sent");
        }
        Ok(())
    }

    /// Sets a new password with an emailed reset token (single use). `email`, when given, must
    /// be the account's. The token is spent only once the new password passes the policy, so a
    /// refused password can be retried with the same token. Unknown, used, expired or forged
    /// tokens are all `ChallengeClosed`.
    pub async fn reset_password_with_token(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        token: &str,
        email: Option<&str>,
        new: &str,
    ) -> Result<Account> {
        let (id, secret) = token.trim().split_once('.').ok_or(Error::ChallengeClosed)?;
        let id: Uuid = id.parse().map_err(|_| Error::ChallengeClosed)?;
        let challenge = self
            .store
            .challenge(id)
            .await?
            .ok_or(Error::ChallengeClosed)?;
        let live = challenge.consumed_at.is_none() && challenge.expires_at > now();
        if challenge.kind != ChallengeKind::PasswordReset
            || challenge.tenant_id != tenant_id
            || !live
            || !secrets::digest_matches(secret, &challenge.secret_hash)
        {
            return Err(Error::ChallengeClosed);
        }
        let account = self
            .account(challenge.account_id)
            .await
            .map_err(|_| Error::ChallengeClosed)?;
        email_matches(&account, email)?;
        self.check_new_password(&account, new).await?;
        let (_, account) = self
            .redeem_link(ChallengeKind::PasswordReset, token)
            .await?;
        self.write_password(ctx, &account, new, false, "password.reset.link")
            .await?;
        Ok(account)
    }

    /// The signed-in account sets a new password without giving the current one (surfaces whose
    /// reset call takes an access token). `email`, when given, must be the account's.
    pub async fn set_password_signed_in(
        &self,
        ctx: &Context,
        id: Uuid,
        email: Option<&str>,
        new: &str,
    ) -> Result<Account> {
        let account = self.own_account(ctx, id).await?;
        ensure_active(&account)?;
        email_matches(&account, email)?;
        self.check_new_password(&account, new).await?;
        self.write_password(ctx, &account, new, false, "password.set.signed_in")
            .await?;
        Ok(account)
    }

    /// The tenant's policy, and (when it says so) not the current password.
    async fn check_new_password(&self, account: &Account, new: &str) -> Result<()> {
        let tenant = self.tenant_by_id(account.tenant_id).await?;
        let policy = &tenant.settings.password_policy;
        validate::password(policy, new)?;
        if policy.forbid_same_as_current
            && let Some(current) = self
                .store
                .account_secrets(account.id)
                .await?
                .and_then(|s| s.password_hash)
            && self.hasher.verify(new.as_bytes(), &current).await?
        {
            return Err(Error::invalid(
                "password",
                "must differ from the current password",
            ));
        }
        Ok(())
    }
}

/// `email`, when given, names the account.
fn email_matches(account: &Account, email: Option<&str>) -> Result<()> {
    let Some(given) = email else { return Ok(()) };
    let given = validate::email(given).ok();
    if given.is_some() && given == account.email {
        Ok(())
    } else {
        Err(Error::invalid("email", "does not match the account"))
    }
}

impl Tokens {
    /// A new password on the strength of a bearer credential, for surfaces whose reset call
    /// takes either: an emailed reset token ([`Idp::reset_password_with_token`]) or an access
    /// token of `tenant_id` naming an active account ([`Idp::set_password_signed_in`]). A bearer
    /// that is neither is `ChallengeClosed` or `InvalidToken`.
    pub async fn reset_password_with_bearer(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        bearer: &str,
        email: Option<&str>,
        new: &str,
    ) -> Result<Account> {
        let bearer = bearer.trim();
        // A JWS has three dot-separated parts; a reset token has two.
        if bearer.split('.').count() != 3 {
            return self
                .idp()
                .reset_password_with_token(ctx, tenant_id, bearer, email, new)
                .await;
        }
        let (_, account) = self.account_bearer(bearer, tenant_id).await?;
        let actor = self.idp().actor(account.id).await?;
        let ctx = Context {
            principal: Principal::Account(actor),
            ..ctx.clone()
        };
        self.idp()
            .set_password_signed_in(&ctx, account.id, email, new)
            .await
    }
}
