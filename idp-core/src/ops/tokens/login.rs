//! Sign-in with a second factor, as one flow every surface can use:
//! 1. [`Tokens::sign_in`] checks the password and, when the account needs a second factor,
//!    returns a *pending* sign-in instead of a finished one (sending the code when the factor
//!    is an emailed or texted one);
//! 2. [`Tokens::finish_sign_in`] takes the pending token and the code, PIN or TOTP.
//!
//! The pending token is a short-lived JWS signed with the server's keys (`typ: idp-mfa+jwt`),
//! so no server-side state is kept between the steps and the second step cannot be reached
//! without the first: a forged or expired token is refused before any factor is checked.

use serde_json::json;
use uuid::Uuid;

use super::Tokens;
use crate::authz::Context;
use crate::error::{Error, Result};
use crate::jose::SignError;
use crate::model::*;
use crate::notify::Channel;

const PENDING_TYP: &str = "idp-mfa+jwt";

/// Where a sign-in stands after the password. (One per sign-in and short-lived: its size does
/// not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SignIn {
    /// Done: the account and how it authenticated.
    Complete(Account, AuthContext),
    /// A second factor is needed.
    Pending(PendingSignIn),
}

/// A password-verified sign-in waiting for its second factor.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    /// Carried by the client (a hidden form field, a vendor's request id) to the second step.
    pub token: String,
    pub factor: FactorKind,
    /// The code's challenge, for emailed or texted codes.
    pub challenge_id: Option<Uuid>,
    /// Where the code went (for display: "we sent a code to ..."), masked.
    pub sent_to: Option<String>,
    /// The security question to answer, for that factor.
    pub question: Option<String>,
}

fn mask(destination: &str) -> String {
    match destination.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => {
            let tail: String = destination
                .chars()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("***{tail}")
        }
    }
}

fn amr_for(factor: FactorKind) -> &'static str {
    match factor {
        FactorKind::Totp | FactorKind::EmailOtp | FactorKind::SmsOtp => "otp",
        FactorKind::Pin => "pin",
        // RFC 8176: knowledge-based authentication.
        FactorKind::SecurityAnswer => "kba",
    }
}

impl Tokens {
    /// Step 1: the password. `client_id` binds a pending sign-in to the client it started for.
    pub async fn sign_in(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        login: &str,
        password: &str,
        client_id: &str,
    ) -> Result<SignIn> {
        let (account, confirmed) = self
            .idp
            .authenticate_with_factors(ctx, tenant_id, login, password)
            .await?;
        let password_only = AuthContext {
            auth_time: Some(now()),
            amr: vec!["pwd".into()],
            acr: None,
        };
        let Some(factor) = self
            .idp
            .second_factor_of(&account, &confirmed, None)
            .await?
        else {
            return Ok(SignIn::Complete(account, password_only));
        };
        let (mut challenge_id, mut sent_to, mut question) = (None, None, None);
        match factor {
            FactorKind::EmailOtp | FactorKind::SmsOtp => {
                let channel = if factor == FactorKind::EmailOtp {
                    Channel::Email
                } else {
                    Channel::Sms
                };
                let payload = json!({ "purpose": "sign_in", "client_id": client_id });
                let ch = self.idp.send_otp(ctx, &account, channel, payload).await?;
                challenge_id = Some(ch.id);
                sent_to = Some(mask(&ch.destination));
            }
            FactorKind::SecurityAnswer => {
                // Any of the account's questions will do; a random one, so that a watcher of
                // one sign-in does not learn the question of the next.
                let answers = self.idp.store.list_answers(account.id).await?;
                let pick = rand::Rng::random_range(&mut rand::rng(), 0..answers.len().max(1));
                let q = answers
                    .get(pick)
                    .map(|a| a.question.clone())
                    .ok_or(Error::Internal("no security answers".into()))?;
                question = Some((q.id, q.question));
            }
            FactorKind::Totp | FactorKind::Pin => {}
        }
        let at = now();
        let claims = json!({
            "iss": self.config.issuer,
            "sub": account.id,
            "tid": account.tenant_id,
            "client_id": client_id,
            "factor": factor,
            "challenge": challenge_id,
            "question": question.as_ref().map(|(id, _)| *id),
            "iat": at.timestamp(),
            "exp": (at + chrono::Duration::seconds(i64::try_from(self.idp.security().otp_ttl_secs).unwrap_or(300))).timestamp(),
        });
        let token = self
            .sign(self.config.default_alg, PENDING_TYP, &claims)
            .await?;
        let question = question.map(|(_, text)| text);
        Ok(SignIn::Pending(PendingSignIn {
            token,
            factor,
            challenge_id,
            sent_to,
            question,
        }))
    }

    /// Step 2: the second factor, for the pending sign-in of `client_id`.
    pub async fn finish_sign_in(
        &self,
        ctx: &Context,
        pending: &str,
        client_id: &str,
        proof: &str,
    ) -> Result<(Account, AuthContext)> {
        let jws = self.signer.verify(pending).await.map_err(|e| match e {
            SignError::Internal(d) => Error::Internal(d),
            _ => Error::ChallengeClosed,
        })?;
        let c = &jws.claims;
        let fresh = c["exp"].as_i64().is_some_and(|exp| exp > now().timestamp());
        if jws.typ.as_deref() != Some(PENDING_TYP)
            || c["iss"] != json!(self.config.issuer)
            || !fresh
            || c["client_id"] != json!(client_id)
        {
            return Err(Error::ChallengeClosed);
        }
        let account_id: Uuid = c["sub"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or(Error::ChallengeClosed)?;
        let factor: FactorKind =
            serde_json::from_value(c["factor"].clone()).map_err(|_| Error::ChallengeClosed)?;
        match factor {
            FactorKind::Totp => self.idp.verify_totp(ctx, account_id, proof).await?,
            FactorKind::Pin => self.idp.verify_pin(ctx, account_id, proof).await?,
            FactorKind::SecurityAnswer => {
                let question = c["question"].as_i64().ok_or(Error::ChallengeClosed)?;
                self.idp
                    .verify_answers(ctx, account_id, &[(question, proof.to_owned())])
                    .await?
            }
            FactorKind::EmailOtp | FactorKind::SmsOtp => {
                let challenge: Uuid = c["challenge"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or(Error::ChallengeClosed)?;
                let (ch, _) = self.idp.verify_otp(ctx, challenge, proof).await?;
                if ch.account_id != account_id {
                    return Err(Error::ChallengeClosed);
                }
            }
        }
        let account = self.idp.account(account_id).await?;
        crate::ops::ensure_active(&account)?;
        let auth_time = c["iat"]
            .as_i64()
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .unwrap_or_else(now);
        let auth = AuthContext {
            auth_time: Some(auth_time),
            amr: vec!["pwd".into(), amr_for(factor).into(), "mfa".into()],
            acr: Some("mfa".into()),
        };
        Ok((account, auth))
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn destinations_are_masked() {
        assert_eq!(mask("vera@example.com"), "v***@example.com");
        assert_eq!(mask("+2348000000001"), "***01");
    }
}
