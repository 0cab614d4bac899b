//! Second factors and one-time proofs, the same for every surface:
//! - one-time codes by email or SMS (6 digits, argon2-hashed, short-lived, single use, a few
//!   tries, resend throttled), identified by a challenge id that vendor flows hand out;
//! - emailed links (email verification, password reset, unlock): a high-entropy token;
//! - TOTP (RFC 6238) enrolment and checks, each time step accepted once across all replicas;
//! - the policy that decides which second factor a sign-in needs.

use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use totp_rs::{Secret, Totp};
use uuid::Uuid;

use super::Idp;
use super::audit::AuditEntry;
use crate::authz::Context;
use crate::error::{Error, Result};
use crate::model::*;
use crate::notify::{Channel, Message, Template, render};
use crate::secrets;

/// A TOTP enrolment waiting for its first code.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    /// Base32 shared secret, for manual entry.
    pub secret: String,
    /// `otpauth://totp/...` for QR codes.
    pub uri: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment { .. }")
    }
}

fn six_digits() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

fn totp_for(secret_b32: &str, issuer: &str, account: &str) -> Result<Totp> {
    let secret = Secret::try_from_base32(secret_b32)
        .map_err(|_| Error::Internal("stored TOTP secret is not base32".into()))?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|e| Error::Internal(format!("TOTP: {e}")))
}

fn unix_now() -> u64 {
    u64::try_from(now().timestamp()).unwrap_or(0)
}

impl Idp {
    async fn tenant_name(&self, tenant_id: Uuid) -> String {
        match self.tenant_by_id(tenant_id).await {
            Ok(t) => t
                .description
                .clone()
                .filter(|d| !d.is_empty())
                .unwrap_or(t.name),
            Err(_) => "idp".into(),
        }
    }

    async fn deliver(
        &self,
        channel: Channel,
        to: &str,
        template: Template,
        tenant_id: Uuid,
        secret: &str,
        ttl_secs: u64,
    ) -> Result<()> {
        let tenant = self.tenant_name(tenant_id).await;
        let minutes = i64::try_from(ttl_secs.div_ceil(60)).unwrap_or(i64::MAX);
        let (subject, body) = render(template, &tenant, secret, minutes);
        let message = Message {
            channel,
            to: to.to_owned(),
            subject,
            body,
        };
        Ok(self.services.notifier.send(&message).await?)
    }

    /// Sends a one-time code to the account's email or phone and returns the challenge (its
    /// `id` is what the client sends back with the code). A new code replaces the previous one
    /// of that channel; codes to one account and channel are at most one per resend interval.
    pub async fn send_otp(
        &self,
        ctx: &Context,
        account: &Account,
        channel: Channel,
        payload: Value,
    ) -> Result<Challenge> {
        self.send_otp_as(ctx, account, channel, payload, Uuid::new_v4())
            .await
    }

    /// [`Self::send_otp`] under a challenge id the caller chose (for flows whose clients cannot
    /// carry the id back, which derive it from state the core keeps; see `code_sign_in`).
    pub(crate) async fn send_otp_as(
        &self,
        ctx: &Context,
        account: &Account,
        channel: Channel,
        payload: Value,
        id: Uuid,
    ) -> Result<Challenge> {
        let (kind, destination) = match channel {
            Channel::Email => (ChallengeKind::EmailOtp, account.email.clone()),
            Channel::Sms => (ChallengeKind::SmsOtp, account.phone.clone()),
        };
        let destination = destination.ok_or_else(|| {
            Error::invalid(
                "channel",
                if channel == Channel::Email {
                    "the account has no email address"
                } else {
                    "the account has no phone number"
                },
            )
        })?;
        let s = &self.services.security;
        let resend = self
            .services
            .limiter
            .hit(
                &format!("otp:send:{}:{}", account.id, kind.as_str()),
                1,
                Duration::from_secs(s.otp_resend_secs),
            )
            .await?;
        if !resend.allowed {
            let wait = resend
                .retry_after
                .map_or(s.otp_resend_secs, |d| d.as_secs().max(1));
            return Err(Error::RateLimited {
                retry_after_secs: wait,
            });
        }
        let code = six_digits();
        let at = now();
        let challenge = Challenge {
            id,
            tenant_id: account.tenant_id,
            account_id: account.id,
            kind,
            destination: destination.clone(),
            secret_hash: self.hasher.hash(code.as_bytes()).await?,
            payload,
            created_at: at,
            expires_at: at
                + chrono::Duration::seconds(i64::try_from(s.otp_ttl_secs).unwrap_or(300)),
            consumed_at: None,
        };
        self.store
            .consume_challenges_of(account.id, kind, at)
            .await?;
        self.store.insert_challenge(&challenge).await?;
        let res = self
            .deliver(
                channel,
                &destination,
                Template::OneTimeCode,
                account.tenant_id,
                &code,
                s.otp_ttl_secs,
            )
            .await;
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Other,
            AuditAction::Create,
            "otp.send",
            format!("one-time code sent by {}", kind.as_str()),
        );
        self.audit(ctx, entry, &res).await;
        if res.is_ok() {
            crate::metrics::otp_sent(channel);
        }
        res.map(|()| challenge)
    }

    /// Checks a one-time code. Each try is counted before the check, so a burst of parallel
    /// guesses gets no more than the allowed tries; the last allowed failure kills the
    /// challenge. A right code spends it (once, across replicas). Wrong codes also count
    /// toward the account's lockout.
    pub async fn verify_otp(
        &self,
        ctx: &Context,
        challenge_id: Uuid,
        code: &str,
    ) -> Result<(Challenge, Account)> {
        let challenge = self
            .store
            .challenge(challenge_id)
            .await?
            .ok_or(Error::ChallengeClosed)?;
        if !matches!(
            challenge.kind,
            ChallengeKind::EmailOtp | ChallengeKind::SmsOtp
        ) {
            return Err(Error::ChallengeClosed);
        }
        let at = now();
        if challenge.consumed_at.is_some() || challenge.expires_at <= at {
            return Err(Error::ChallengeClosed);
        }
        let s = &self.services.security;
        let tries = self
            .services
            .limiter
            .hit(
                &format!("otp:try:{challenge_id}"),
                s.otp_max_attempts,
                Duration::from_secs(s.otp_ttl_secs),
            )
            .await?;
        if !tries.allowed {
            // Refused without closing the challenge: the allowed tries may still be in flight
            // (a burst), and one of them may carry the right code. The last allowed try closes
            // it when it fails; the counter keeps refusing until the code has expired anyway.
            return Err(Error::ChallengeClosed);
        }
        let account = self.account(challenge.account_id).await?;
        let code = code.trim();
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        let ok = well_formed
            && self
                .hasher
                .verify(code.as_bytes(), &challenge.secret_hash)
                .await?;
        if !ok {
            if tries.count >= s.otp_max_attempts {
                self.store.consume_challenge(challenge_id, at).await?;
            }
            self.count_failure(ctx, &account, "auth.otp.failed").await;
            return Err(Error::InvalidCredentials);
        }
        if !self.store.consume_challenge(challenge_id, now()).await? {
            return Err(Error::ChallengeClosed);
        }
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Token,
            AuditAction::Webservice,
            "auth.otp",
            "one-time code accepted",
        );
        self.audit(ctx, entry, &Ok::<(), Error>(())).await;
        Ok((challenge, account))
    }

    /// Emails a link whose token proves control of the address: `{public_url}{path}?token=...`.
    /// The token is `<challenge id>.<secret>`; only the secret's digest is stored.
    pub async fn send_link(
        &self,
        ctx: &Context,
        account: &Account,
        kind: ChallengeKind,
        path: &str,
        payload: Value,
    ) -> Result<Challenge> {
        let template = match kind {
            ChallengeKind::EmailVerification => Template::VerifyEmail,
            ChallengeKind::PasswordReset => Template::PasswordReset,
            ChallengeKind::Unlock => Template::Unlock,
            _ => return Err(Error::Internal("not a link challenge".into())),
        };
        let email = account
            .email
            .clone()
            .ok_or_else(|| Error::invalid("email", "the account has no email address"))?;
        let s = &self.services.security;
        let secret = secrets::random_token(32);
        let at = now();
        let challenge = Challenge {
            id: Uuid::new_v4(),
            tenant_id: account.tenant_id,
            account_id: account.id,
            kind,
            destination: email.clone(),
            secret_hash: secrets::digest(&secret),
            payload,
            created_at: at,
            expires_at: at
                + chrono::Duration::seconds(i64::try_from(s.link_ttl_secs).unwrap_or(3600)),
            consumed_at: None,
        };
        self.store
            .consume_challenges_of(account.id, kind, at)
            .await?;
        self.store.insert_challenge(&challenge).await?;
        let link = format!(
            "{}{path}?token={}.{secret}",
            s.public_url.trim_end_matches('/'),
            challenge.id
        );
        let res = self
            .deliver(
                Channel::Email,
                &email,
                template,
                account.tenant_id,
                &link,
                s.link_ttl_secs,
            )
            .await;
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Other,
            AuditAction::Create,
            "link.send",
            format!("{kind} link sent"),
        );
        self.audit(ctx, entry, &res).await;
        res.map(|()| challenge)
    }

    /// Spends a link token of `kind`. Unknown, expired, used or forged tokens all answer
    /// `ChallengeClosed`, so a token reveals nothing about accounts.
    pub async fn redeem_link(
        &self,
        kind: ChallengeKind,
        token: &str,
    ) -> Result<(Challenge, Account)> {
        let (challenge, account) = self.check_link(kind, token).await?;
        if !self.store.consume_challenge(challenge.id, now()).await? {
            return Err(Error::ChallengeClosed);
        }
        Ok((challenge, account))
    }

    /// Validates a link token without spending it.
    async fn check_link(&self, kind: ChallengeKind, token: &str) -> Result<(Challenge, Account)> {
        let (id, secret) = token.trim().split_once('.').ok_or(Error::ChallengeClosed)?;
        let id: Uuid = id.parse().map_err(|_| Error::ChallengeClosed)?;
        let challenge = self
            .store
            .challenge(id)
            .await?
            .ok_or(Error::ChallengeClosed)?;
        let live = challenge.consumed_at.is_none() && challenge.expires_at > now();
        if challenge.kind != kind
            || !live
            || !secrets::digest_matches(secret, &challenge.secret_hash)
        {
            return Err(Error::ChallengeClosed);
        }
        let account = self
            .account(challenge.account_id)
            .await
            .map_err(|_| Error::ChallengeClosed)?;
        Ok((challenge, account))
    }

    /// Unlocks the account named by an emailed unlock token. Only a LOCKED account is
    /// unlocked (a disabled one stays disabled); the token is spent only once the failure count
    /// is cleared, so an unreachable limiter leaves the link usable.
    pub async fn unlock_with_token(&self, ctx: &Context, token: &str) -> Result<Account> {
        let (challenge, account) = self.check_link(ChallengeKind::Unlock, token).await?;
        self.services
            .limiter
            .reset(&failure_key(account.id))
            .await?;
        if !self.store.consume_challenge(challenge.id, now()).await? {
            return Err(Error::ChallengeClosed);
        }
        if account.status != AccountStatus::Locked {
            return Ok(account);
        }
        let res = match self
            .store
            .set_status(account.id, AccountStatus::Active, now())
            .await
        {
            Ok(_) => self.account(account.id).await,
            Err(e) => Err(e.into()),
        };
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account.id),
            AuditCategory::Other,
            AuditAction::Update,
            "account.unlock",
            "unlocked by emailed token",
        );
        self.audit(ctx, entry, &res).await;
        res
    }

    /// Starts a TOTP enrolment for the account itself: a new secret, not yet in force. Refused
    /// while an authenticator is enrolled: replacing one takes [`Self::replace_totp`].
    pub async fn begin_totp(&self, ctx: &Context, account_id: Uuid) -> Result<TotpEnrolment> {
        let account = self.own_account(ctx, account_id).await?;
        if self
            .store
            .factors(account_id)
            .await?
            .iter()
            .any(|f| f.kind == FactorKind::Totp && f.confirmed)
        {
            return Err(Error::invalid(
                "factor",
                "an authenticator app is already enrolled; replace it with one of its codes",
            ));
        }
        self.new_totp(&account).await
    }

    /// Replaces the enrolled authenticator, proven by one of its current codes.
    pub async fn replace_totp(
        &self,
        ctx: &Context,
        account_id: Uuid,
        current_code: &str,
    ) -> Result<TotpEnrolment> {
        let account = self.own_account(ctx, account_id).await?;
        self.verify_totp(ctx, account_id, current_code).await?;
        self.new_totp(&account).await
    }

    async fn new_totp(&self, account: &Account) -> Result<TotpEnrolment> {
        let secret = Secret::generate().to_base32();
        let label = account
            .email
            .clone()
            .unwrap_or_else(|| account.username.clone());
        let totp = totp_for(&secret, &self.services.security.totp_issuer, &label)?;
        let uri = totp
            .to_url()
            .map_err(|e| Error::Internal(format!("TOTP: {e}")))?;
        let factor = Factor {
            account_id: account.id,
            kind: FactorKind::Totp,
            secret: Some(secret.clone()),
            confirmed: false,
            created_at: now(),
        };
        self.store.put_factor(&factor).await?;
        Ok(TotpEnrolment { secret, uri })
    }

    /// Confirms a TOTP enrolment with a first code; from then on sign-ins ask for codes.
    pub async fn confirm_totp(&self, ctx: &Context, account_id: Uuid, code: &str) -> Result<()> {
        let account = self.own_account(ctx, account_id).await?;
        let factor = self.totp_factor(account_id).await?;
        self.check_totp(ctx, &account, &factor, code).await?;
        self.store
            .put_factor(&Factor {
                confirmed: true,
                ..factor
            })
            .await?;
        let entry = AuditEntry::new(
            account.tenant_id,
            Some(account_id),
            AuditCategory::Api,
            AuditAction::Create,
            "mfa.totp.enrol",
            "authenticator app enrolled",
        );
        self.audit(ctx, entry, &Ok::<(), Error>(())).await;
        Ok(())
    }

    /// Checks a TOTP code of an enrolled account (sign-in step).
    pub async fn verify_totp(&self, ctx: &Context, account_id: Uuid, code: &str) -> Result<()> {
        let account = self.account(account_id).await?;
        let factor = self.totp_factor(account_id).await?;
        if !factor.confirmed {
            return Err(Error::NotFound("authenticator enrolment"));
        }
        self.check_totp(ctx, &account, &factor, code).await
    }

    async fn totp_factor(&self, account_id: Uuid) -> Result<Factor> {
        self.store
            .factors(account_id)
            .await?
            .into_iter()
            .find(|f| f.kind == FactorKind::Totp && f.secret.is_some())
            .ok_or(Error::NotFound("authenticator enrolment"))
    }

    /// A code is good once: the matched time step is claimed in the shared limiter, so the same
    /// code cannot be replayed on this or another replica.
    async fn check_totp(
        &self,
        ctx: &Context,
        account: &Account,
        factor: &Factor,
        code: &str,
    ) -> Result<()> {
        let secret = factor.secret.as_deref().unwrap_or_default();
        let totp = totp_for(
            secret,
            &self.services.security.totp_issuer,
            &account.username,
        )?;
        let step = match totp.check(code.trim(), unix_now()) {
            Some(step) => step,
            None => {
                self.count_failure(ctx, account, "auth.totp.failed").await;
                return Err(Error::InvalidCredentials);
            }
        };
        let claim = self
            .services
            .limiter
            .hit(
                &format!("totp:used:{}:{step}", account.id),
                1,
                Duration::from_secs(120),
            )
            .await?;
        if !claim.allowed {
            return Err(Error::InvalidCredentials);
        }
        Ok(())
    }

    /// The second factor a sign-in of this account needs, if any: an enrolled authenticator
    /// first, then a factor the account chose, then what the tenant's policy requires.
    pub async fn second_factor(&self, account: &Account) -> Result<Option<FactorKind>> {
        let confirmed = Factor::confirmed_kinds(&self.store.factors(account.id).await?);
        self.second_factor_of(account, &confirmed, None).await
    }

    /// [`Idp::second_factor`] for an account whose confirmed factors (ordered by kind), and
    /// whether it has a PIN when known, the caller has read already.
    pub(crate) async fn second_factor_of(
        &self,
        account: &Account,
        confirmed: &[FactorKind],
        pin_set: Option<bool>,
    ) -> Result<Option<FactorKind>> {
        if confirmed.contains(&FactorKind::Totp) {
            return Ok(Some(FactorKind::Totp));
        }
        if let Some(kind) = confirmed.first() {
            return Ok(Some(*kind));
        }
        let tenant = self.tenant_by_id(account.tenant_id).await?;
        let has_pin = || async {
            match pin_set {
                Some(known) => known,
                None => matches!(
                    self.store.account_secrets(account.id).await,
                    Ok(Some(s)) if s.pin_hash.is_some()
                ),
            }
        };
        Ok(match tenant.settings.mfa_policy {
            MfaPolicy::None => None,
            MfaPolicy::EmailOtp if account.email.is_some() => Some(FactorKind::EmailOtp),
            MfaPolicy::SmsOtp if account.phone.is_some() => Some(FactorKind::SmsOtp),
            MfaPolicy::Pin if has_pin().await => Some(FactorKind::Pin),
            // Required but not possible with what the account has: a code to its email if it
            // has one, else to its phone.
            _ if account.email.is_some() => Some(FactorKind::EmailOtp),
            _ => Some(FactorKind::SmsOtp),
        })
    }

    /// The account chooses a second factor that needs no enrolment (email or SMS codes, its
    /// PIN); `None` removes them. An authenticator app is enrolled with [`Self::begin_totp`].
    pub async fn choose_factor(
        &self,
        ctx: &Context,
        account_id: Uuid,
        kind: Option<FactorKind>,
    ) -> Result<()> {
        let account = self.own_account(ctx, account_id).await?;
        for k in [
            FactorKind::EmailOtp,
            FactorKind::SmsOtp,
            FactorKind::Pin,
            FactorKind::SecurityAnswer,
        ] {
            self.store.delete_factor(account_id, k).await?;
        }
        let Some(kind) = kind else { return Ok(()) };
        let possible = match kind {
            FactorKind::EmailOtp => account.email.is_some(),
            FactorKind::SmsOtp => account.phone.is_some(),
            FactorKind::Pin => self
                .store
                .account_secrets(account_id)
                .await?
                .is_some_and(|s| s.pin_hash.is_some()),
            FactorKind::SecurityAnswer => !self.store.list_answers(account_id).await?.is_empty(),
            FactorKind::Totp => {
                return Err(Error::invalid(
                    "factor",
                    "enrol an authenticator app with a code first",
                ));
            }
        };
        if !possible {
            return Err(Error::invalid(
                "factor",
                format!("{kind} needs contact data or a PIN first"),
            ));
        }
        self.store
            .put_factor(&Factor {
                account_id,
                kind,
                secret: None,
                confirmed: true,
                created_at: now(),
            })
            .await?;
        Ok(())
    }
}

/// The limiter key counting an account's failed proofs.
pub(crate) fn failure_key(account_id: Uuid) -> String {
    format!("fail:{account_id}")
}
