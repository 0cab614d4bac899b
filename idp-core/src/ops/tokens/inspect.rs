//! Checking tokens: bearer access tokens (for userinfo and every surface's protected calls),
//! introspection (RFC 7662), revocation (RFC 7009) and userinfo.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Tokens, claims::standard_claims, has_scope, refresh_key};
use crate::error::{Error, Result};
use crate::jose::SignError;
use crate::model::*;
use crate::ops::ensure_active;

/// A verified, live access token.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    pub jti: String,
    pub subject: String,
    /// The account, unless the token is a client's own (client_credentials).
    pub account_id: Option<Uuid>,
    pub client_id: String,
    pub tenant_id: Uuid,
    pub scope: String,
    pub family_id: Option<Uuid>,
    pub issued_at: i64,
    pub expires_at: i64,
    /// Every claim, as signed.
    pub claims: Value,
}

impl AccessToken {
    pub fn has_scope(&self, scope: &str) -> bool {
        has_scope(&self.scope, scope)
    }
}

/// RFC 7662 answer. Inactive tokens say nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct Introspection(pub Value);

impl Introspection {
    pub fn inactive() -> Self {
        Self(json!({ "active": false }))
    }

    pub fn is_active(&self) -> bool {
        self.0["active"] == Value::Bool(true)
    }
}

fn str_claim<'a>(claims: &'a Value, name: &str) -> Result<&'a str> {
    claims[name].as_str().ok_or(Error::InvalidToken)
}

impl Tokens {
    /// Verifies signature, type, issuer, expiry and revocation, and that the account behind the
    /// token is still active.
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessToken> {
        self.verify_access_token_for(token).await.map(|(at, _)| at)
    }

    /// [`Tokens::verify_access_token`], also giving the account it read (so callers that need
    /// it do not read it twice).
    async fn verify_access_token_for(&self, token: &str) -> Result<(AccessToken, Option<Account>)> {
        let at = self.parse_access_token(token).await?;
        let now = now().timestamp();
        if at.expires_at <= now {
            return Err(Error::InvalidToken);
        }
        // Revocation and the account's status, read on every use (one store read), so that a
        // revocation or a lock is seen at once by every replica.
        let state = self
            .idp
            .store
            .bearer_state(&at.jti, at.family_id, at.account_id)
            .await?;
        if state.revoked {
            return Err(Error::InvalidToken);
        }
        let account = match at.account_id {
            Some(_) => {
                let account = state.account.ok_or(Error::InvalidToken)?;
                ensure_active(&account).map_err(|_| Error::InvalidToken)?;
                Some(account)
            }
            None => None,
        };
        Ok((at, account))
    }

    /// Signature, type and issuer only (revocation accepts expired tokens).
    async fn parse_access_token(&self, token: &str) -> Result<AccessToken> {
        if let Some(known) = self.verified.get(token) {
            return Ok(AccessToken::clone(&known));
        }
        let at = self.check_access_token(token).await?;
        self.verified.insert(token.to_owned(), Arc::new(at.clone()));
        Ok(at)
    }

    async fn check_access_token(&self, token: &str) -> Result<AccessToken> {
        let jws = self.signer.verify(token).await.map_err(|e| match e {
            SignError::Internal(detail) => Error::Internal(detail),
            _ => Error::InvalidToken,
        })?;
        let typ_ok = jws.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(Error::InvalidToken);
        }
        let c = &jws.claims;
        if str_claim(c, "iss")? != self.config.issuer {
            return Err(Error::InvalidToken);
        }
        // RFC 9068 §4: the audience must name this server. A token signed for another audience
        // (another resource server sharing the keys) is not ours to honour.
        let ours = |a: &Value| a.as_str() == Some(self.config.issuer.as_str());
        let aud_ok = match &c["aud"] {
            Value::Array(all) => all.iter().any(ours),
            one => ours(one),
        };
        if !aud_ok {
            return Err(Error::InvalidToken);
        }
        let subject = str_claim(c, "sub")?.to_owned();
        let client_id = str_claim(c, "client_id")?.to_owned();
        let account_id = if subject == client_id {
            None
        } else {
            Some(subject.parse().map_err(|_| Error::InvalidToken)?)
        };
        Ok(AccessToken {
            jti: str_claim(c, "jti")?.to_owned(),
            subject,
            account_id,
            client_id,
            tenant_id: str_claim(c, "tid")?
                .parse()
                .map_err(|_| Error::InvalidToken)?,
            scope: c["scope"].as_str().unwrap_or_default().to_owned(),
            family_id: c["fid"]
                .as_str()
                .map(|f| f.parse().map_err(|_| Error::InvalidToken))
                .transpose()?,
            issued_at: c["iat"].as_i64().ok_or(Error::InvalidToken)?,
            expires_at: c["exp"].as_i64().ok_or(Error::InvalidToken)?,
            claims: jws.claims,
        })
    }

    /// RFC 7662 for the calling client: active access or refresh tokens of the client's tenant.
    pub async fn introspect(&self, client: &AppClient, token: &str) -> Result<Introspection> {
        if let Ok((at, account)) = self.verify_access_token_for(token).await {
            if at.tenant_id != client.tenant_id {
                return Ok(Introspection::inactive());
            }
            let mut out = Map::new();
            out.insert("active".into(), json!(true));
            out.insert("token_type".into(), json!("Bearer"));
            for k in [
                "scope",
                "client_id",
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "jti",
                "auth_time",
                "acr",
                "amr",
            ] {
                if let Some(v) = at.claims.get(k) {
                    out.insert(k.into(), v.clone());
                }
            }
            if let Some(account) = account {
                out.insert("username".into(), json!(account.username));
            }
            return Ok(Introspection(Value::Object(out)));
        }
        let Some((rt, family)) = self
            .idp
            .store
            .refresh_token(&refresh_key::key_of(token))
            .await?
        else {
            return Ok(Introspection::inactive());
        };
        let at = now();
        let live = rt.used_at.is_none()
            && rt.expires_at > at
            && family.revoked_at.is_none()
            && family.tenant_id == client.tenant_id;
        let account_ok = match self.idp.account(family.account_id).await {
            Ok(a) => ensure_active(&a).is_ok(),
            Err(_) => false,
        };
        if !live || !account_ok {
            return Ok(Introspection::inactive());
        }
        Ok(Introspection(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": family.scope,
            "client_id": family.client_id,
            "sub": family.account_id,
            "iss": self.config.issuer,
            "exp": rt.expires_at.timestamp(),
            "iat": rt.created_at.timestamp(),
        })))
    }

    /// RFC 7009. Revoking a refresh token revokes its family (and with it the family's access
    /// tokens); revoking an access token records its id until it expires. Tokens that are
    /// unknown or belong to another client are ignored, as the RFC asks.
    pub async fn revoke(&self, client: &AppClient, token: &str) -> Result<()> {
        let at = now();
        if let Some((_, family)) = self
            .idp
            .store
            .refresh_token(&refresh_key::key_of(token))
            .await?
        {
            if family.client_id == client.id {
                self.idp.store.revoke_family(family.id, at).await?;
                crate::metrics::tokens_revoked();
            }
            return Ok(());
        }
        match self.parse_access_token(token).await {
            Ok(t) if t.client_id == client.id => {
                let exp = chrono::DateTime::from_timestamp(t.expires_at, 0).unwrap_or(at);
                if exp > at {
                    self.idp.store.revoke_access_token(&t.jti, exp).await?;
                    crate::metrics::tokens_revoked();
                }
                Ok(())
            }
            Ok(_) | Err(Error::InvalidToken) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Claims about the token's account, as its scopes allow (OpenID Connect userinfo).
    pub async fn userinfo(&self, token: &str) -> Result<Value> {
        let (at, account) = self.verify_access_token_for(token).await?;
        let Some(account) = account else {
            return Err(Error::InvalidToken);
        };
        if !at.has_scope("openid") {
            return Err(Error::InvalidScope(
                "the token lacks the openid scope".into(),
            ));
        }
        Ok(Value::Object(standard_claims(&account, &at.scope)))
    }
}
