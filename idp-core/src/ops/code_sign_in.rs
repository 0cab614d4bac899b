//! Sign-in by password and then, always, a one-time code sent by the channel the user picks —
//! for surfaces whose clients can carry back nothing but the account's public number between
//! the two steps (Fintract's `data.id`).
//!
//! Step 1 ([`Tokens::start_code_sign_in`]) checks the password (lockout, status, rate limits as
//! every sign-in) and sends a code whose challenge id is derived from the account and the time
//! of that password check (`last_login_at`, which the check records). Step 2
//! ([`Tokens::finish_code_sign_in`]) takes the account number and the code, derives the same id
//! and checks the code there: expiry, single use and the limit of tries are the code's own
//! ([`Idp::verify_otp`]). Because the id depends on the latest password check, a newer sign-in of
//! the account (on any surface) ends the older pending one, and only one code can be live.

use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Idp;
use super::tokens::{TokenSet, Tokens};
use crate::authz::Context;
use crate::error::{Error, Result};
use crate::model::*;
use crate::notify::Channel;

const PURPOSE: &str = "code_sign_in";

/// A password-checked sign-in waiting for its code.
#[derive(Debug, Clone)]
pub struct CodeSignIn {
    pub account: Account,
    /// Where the code went (unmasked: the account's own address).
    pub sent_to: String,
}

/// The challenge id of the code sent after the password check at `checked_at`.
fn challenge_id(account_id: Uuid, checked_at: Timestamp) -> Uuid {
    let mut h = Sha256::new();
    h.update(b"idp code sign-in\0");
    h.update(account_id.as_bytes());
    h.update(checked_at.timestamp_micros().to_be_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

impl Tokens {
    /// Step 1: the password of `login` in `client`'s tenant, then a code by `channel`.
    pub async fn start_code_sign_in(
        &self,
        ctx: &Context,
        client: &AppClient,
        login: &str,
        password: &str,
        channel: Channel,
    ) -> Result<CodeSignIn> {
        let idp: &Idp = self.idp();
        let account = idp
            .authenticate(ctx, client.tenant_id, login, password)
            .await?;
        let checked_at = account
            .last_login_at
            .ok_or_else(|| Error::Internal("sign-in time not recorded".into()))?;
        let payload = json!({ "purpose": PURPOSE, "client_id": client.id });
        let challenge = match idp
            .send_otp_as(
                ctx,
                &account,
                channel,
                payload,
                challenge_id(account.id, checked_at),
            )
            .await
        {
            // Two sign-ins of one account in the same microsecond: the other one's code stands.
            Err(Error::Conflict(_)) => {
                return Err(Error::RateLimited {
                    retry_after_secs: 1,
                });
            }
            other => other?,
        };
        Ok(CodeSignIn {
            account,
            sent_to: challenge.destination,
        })
    }

    /// Step 2: the code of the pending sign-in of the account numbered `number`, for `client`.
    /// Anything but a live code of this flow and client is `ChallengeClosed`; a wrong code is
    /// `InvalidCredentials` (and counts toward the code's tries and the account's lockout).
    pub async fn finish_code_sign_in(
        &self,
        ctx: &Context,
        client: &AppClient,
        number: i64,
        code: &str,
    ) -> Result<(Account, TokenSet)> {
        let idp: &Idp = self.idp();
        let account = match idp.account_by_number(number).await {
            Ok(a) if a.tenant_id == client.tenant_id => a,
            Ok(_) | Err(Error::NotFound(_)) => return Err(Error::ChallengeClosed),
            Err(e) => return Err(e),
        };
        let checked_at = account.last_login_at.ok_or(Error::ChallengeClosed)?;
        let id = challenge_id(account.id, checked_at);
        let challenge = idp
            .store()
            .challenge(id)
            .await?
            .ok_or(Error::ChallengeClosed)?;
        if challenge.account_id != account.id
            || challenge.payload["purpose"] != json!(PURPOSE)
            || challenge.payload["client_id"] != json!(client.id)
        {
            return Err(Error::ChallengeClosed);
        }
        let (_, account) = idp.verify_otp(ctx, id, code).await?;
        let auth = AuthContext {
            auth_time: Some(checked_at),
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
            acr: Some("mfa".into()),
        };
        let tokens = self.issue_for(client, &account, auth).await?;
        Ok((account, tokens))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_account_and_time() {
        let a = Uuid::new_v4();
        let t = now();
        assert_eq!(challenge_id(a, t), challenge_id(a, t));
        assert_ne!(
            challenge_id(a, t),
            challenge_id(a, t + chrono::Duration::microseconds(1))
        );
        assert_ne!(challenge_id(a, t), challenge_id(Uuid::new_v4(), t));
    }
}
