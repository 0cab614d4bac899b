//! Onboarding and recovery steps for surfaces that identify people by a national register and
//! never say whether an address is known:
//! - [`Idp::register_with_kyc`]: self-registration with the BVN rule (required for Nigerian
//!   users, checked with the KYC register) and an optional referrer named by public number;
//! - [`Idp::confirm_bvn`]: a BVN and the details claimed for it, checked with the register;
//! - [`Idp::request_unlock_link`], [`Idp::request_email_confirmation`]: emailed links asked for
//!   by address, with the same answer whether the address is known or not;
//! - [`Idp::reset_password_with_answer`]: an emailed reset token, plus a security answer when
//!   the account has set questions;
//! - [`Idp::factor_summary`], [`Idp::public_names`]: what a surface may show about an account.

use std::time::Duration;

use chrono::NaiveDate;
use serde_json::Value;
use uuid::Uuid;

use super::{Idp, Registration};
use crate::authz::Context;
use crate::error::{Error, Result};
use crate::kyc::{self, BvnVerifier};
use crate::model::*;
use crate::secrets;
use crate::store::UniqueField;
use crate::validate;

/// Where an emailed link for an address may go ([`Idp::mail_target`]).
pub(super) enum MailTarget {
    /// No account of the tenant has the address.
    Unknown,
    /// Its account had a message within the resend interval.
    Throttled,
    Send(Box<Account>),
}

/// What a person gives to register on a KYC surface.
#[derive(Debug, Clone, Default)]
pub struct KycSignUp {
    pub email: String,
    pub phone: Option<String>,
    pub password: String,
    /// Names, birth date, gender, `country` (required; Nigeria needs a BVN), `bvn`, and the
    /// surface's own attributes.
    pub profile: Profile,
    /// Public number of the account that referred this one, if any (must exist in the tenant);
    /// kept as the attribute `referrer`.
    pub referrer: Option<String>,
}

/// How an account proves itself beyond its password.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactorSummary {
    pub pin_set: bool,
    /// A confirmed authenticator app (TOTP).
    pub totp_enrolled: bool,
    /// The second factor sign-in asks for, if any ([`Idp::second_factor`]).
    pub second_factor: Option<FactorKind>,
    /// Ids of the questions the account answered.
    pub question_ids: Vec<i64>,
}

/// What anyone may learn about an account from its public number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicNames {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub number: i64,
}

impl Idp {
    /// Registers an ACTIVE account (login: its email address) after the BVN rule: a user of a
    /// country that requires one ([`kyc::bvn_required`]) must give a BVN the register knows; a
    /// BVN given by anyone else is checked the same way. `Invalid("bvn")` for a missing,
    /// malformed or unknown BVN, `Unavailable` when the register cannot answer,
    /// `Invalid("referrer")` for a referrer that is not an account of the tenant.
    pub async fn register_with_kyc(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        kyc_register: &dyn BvnVerifier,
        new: KycSignUp,
    ) -> Result<Account> {
        let email = validate::email(&new.email)?;
        let mut profile = new.profile;
        let country = profile
            .country
            .as_deref()
            .map(kyc::normalize_country)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::invalid("country", "is required"))?;
        // The password policy is checked before the register is asked anything.
        let tenant = self.tenant_by_id(tenant_id).await?;
        validate::password(&tenant.settings.password_policy, &new.password)?;
        let bvn = profile.bvn.take().filter(|b| !b.trim().is_empty());
        match bvn {
            Some(b) => profile.bvn = Some(kyc::check_bvn(kyc_register, &b).await?.0),
            None if kyc::bvn_required(&country) => {
                return Err(Error::invalid("bvn", "is required for Nigerian users"));
            }
            None => {}
        }
        profile.country = Some(country);
        if let Some(r) = new
            .referrer
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            let referrer = r
                .parse::<i64>()
                .ok()
                .and_then(|n| (n >= 100_000).then_some(n))
                .ok_or_else(|| Error::invalid("referrer", "is not a valid id"))?;
            match self.store.account_by_number(referrer).await? {
                Some(a) if a.tenant_id == tenant_id => {}
                _ => return Err(Error::invalid("referrer", "is not a known user")),
            }
            profile
                .attributes
                .insert("referrer".into(), Value::from(referrer));
        }
        let username = validate::username(&email)
            .unwrap_or_else(|_| format!("user-{}", Uuid::new_v4().simple()));
        let registration = Registration {
            username,
            email: Some(email),
            phone: new.phone,
            password: Some(new.password),
            profile,
            ..Registration::default()
        };
        match self.register(ctx, tenant_id, registration).await {
            Err(Error::Conflict(UniqueField::Username)) => Err(Error::Conflict(UniqueField::Email)),
            other => other,
        }
    }

    /// Checks a BVN with the register and that the claimed names (and birth date, when both
    /// sides have one) are the holder's. Says nothing about the holder beyond match / no match.
    pub async fn confirm_bvn(
        &self,
        kyc_register: &dyn BvnVerifier,
        bvn: &str,
        first_name: &str,
        last_name: &str,
        date_of_birth: Option<NaiveDate>,
    ) -> Result<()> {
        let (_, holder) = kyc::check_bvn(kyc_register, bvn).await?;
        kyc::holder_matches(&holder, first_name, last_name, date_of_birth)
    }

    /// Emails a new unlock link (`{public_url}{link_path}?token=...`) to the account of `email`
    /// when it exists and is LOCKED. Always `Ok(())`, whatever the address: at most one message
    /// per address and resend interval, and a failed delivery is logged, not reported.
    pub async fn request_unlock_link(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        email: &str,
        link_path: &str,
    ) -> Result<()> {
        let MailTarget::Send(account) = self.mail_target(tenant_id, email, "unlock").await? else {
            return Ok(());
        };
        if account.status != AccountStatus::Locked {
            return Ok(());
        }
        if let Err(e) = self
            .send_link(ctx, &account, ChallengeKind::Unlock, link_path, Value::Null)
            .await
        {
            tracing::warn!(error = %e, "unlock link not sent");
        }
        Ok(())
    }

    /// Emails an email-confirmation link to the account of `email` when it exists and its
    /// address is not verified yet ([`Idp::verify_email_with_token`] takes the token). Always
    /// `Ok(())`, as [`Self::request_unlock_link`].
    pub async fn request_email_confirmation(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        email: &str,
        link_path: &str,
    ) -> Result<()> {
        let MailTarget::Send(account) = self.mail_target(tenant_id, email, "verify").await? else {
            return Ok(());
        };
        if account.email_verified {
            return Ok(());
        }
        if let Err(e) = self
            .send_link(
                ctx,
                &account,
                ChallengeKind::EmailVerification,
                link_path,
                Value::Null,
            )
            .await
        {
            tracing::warn!(error = %e, "confirmation link not sent");
        }
        Ok(())
    }

    /// Whether a `what` message may go to the account of `email` now: one per address and
    /// resend interval, counted for unknown addresses too so both cost the same and neither can
    /// be flooded.
    pub(super) async fn mail_target(
        &self,
        tenant_id: Uuid,
        email: &str,
        what: &str,
    ) -> Result<MailTarget> {
        let s = &self.services.security;
        let key = format!(
            "{what}:send:{tenant_id}:{}",
            secrets::digest(&email.trim().to_lowercase())
        );
        let resend = self
            .services
            .limiter
            .hit(&key, 1, Duration::from_secs(s.otp_resend_secs))
            .await?;
        let account = self
            .find_account(tenant_id, AccountKey::Email(email.to_owned()))
            .await?;
        Ok(match account {
            None => MailTarget::Unknown,
            Some(_) if !resend.allowed => MailTarget::Throttled,
            Some(account) => MailTarget::Send(Box::new(account)),
        })
    }

    /// A new password with an emailed reset token ([`Idp::reset_password_with_token`]); when
    /// the account has set security questions, `answer` (question id, answer) must also be one
    /// of its answers (a wrong one counts toward lockout). A missing answer is
    /// `Invalid("security_question_answer")`; a bad token `ChallengeClosed`.
    pub async fn reset_password_with_answer(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        token: &str,
        new: &str,
        answer: Option<(i64, String)>,
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
        if !self
            .store
            .list_answers(challenge.account_id)
            .await?
            .is_empty()
        {
            let answer = answer.ok_or_else(|| {
                Error::invalid("security_question_answer", "is required for this account")
            })?;
            self.verify_answers(ctx, challenge.account_id, &[answer])
                .await?;
        }
        self.reset_password_with_token(ctx, tenant_id, token, None, new)
            .await
    }

    /// How the account proves itself beyond its password.
    pub async fn factor_summary(&self, account: &Account) -> Result<FactorSummary> {
        // One store read (one statement on PostgreSQL) instead of the factors, the secrets and
        // the answers: this is on every Switch sign-in.
        let overview = self.store.factor_overview(account.id).await?;
        Ok(FactorSummary {
            pin_set: overview.pin_set,
            totp_enrolled: overview.confirmed.contains(&FactorKind::Totp),
            second_factor: self
                .second_factor_of(account, &overview.confirmed, Some(overview.pin_set))
                .await?,
            question_ids: overview.question_ids,
        })
    }

    /// The names and number of the account with public number `number` in `tenant_id`; nothing
    /// else about it. Other tenants' numbers are `NotFound`.
    pub async fn public_names(&self, tenant_id: Uuid, number: i64) -> Result<PublicNames> {
        match self.store.account_by_number(number).await? {
            Some(a) if a.tenant_id == tenant_id => Ok(PublicNames {
                first_name: a.profile.first_name,
                last_name: a.profile.last_name,
                number: a.number,
            }),
            _ => Err(Error::NotFound("user")),
        }
    }
}
