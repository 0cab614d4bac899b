//! The authorization-code grant: checking an authorization request, issuing a code for a
//! signed-in account, and redeeming it exactly once (with PKCE).

use std::borrow::Cow;

use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::grant::Value as GrantValue;
use uuid::Uuid;

use super::{TokenSet, Tokens, grant_scope, random_secret, refresh_key};
use crate::error::{Error, Result};
use crate::model::*;
use crate::ops::ensure_active;
use crate::secrets;
use crate::store::StoreError;

/// The parameters of an authorization request that the core checks.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub response_type: String,
    /// As sent: when the request leaves it out, the token request may too (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// An authorization request that passed every check: ready for a code once the user signs in.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    /// The redirect URI as the request gave it (None when left out).
    pub redirect_uri: Option<String>,
    pub scope: String,
    pub nonce: Option<String>,
    /// PKCE challenge in oxide-auth's stored form.
    pub pkce: Option<String>,
}

/// Public clients must use PKCE with S256; confidential clients may (plain is never allowed).
fn pkce_for(client: &AppClient) -> Pkce {
    if client.is_public() {
        Pkce::required()
    } else {
        Pkce::optional()
    }
}

impl Tokens {
    /// Finds the client and the redirect URI to answer on. An error here must be shown to the
    /// user, never sent to the URI: the URI is not trusted yet. The URI must equal a registered
    /// one exactly; it may be left out only when the client registered exactly one.
    pub async fn authorize_target(
        &self,
        client_id: &str,
        redirect_uri: Option<&str>,
    ) -> Result<(AppClient, String)> {
        let client = self.idp.client(client_id).await?;
        let uri = match redirect_uri {
            Some(u) if client.redirect_uris.iter().any(|r| r == u) => u.to_owned(),
            Some(_) => {
                return Err(Error::invalid(
                    "redirect_uri",
                    "does not match a registered redirect URI",
                ));
            }
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            None => return Err(Error::invalid("redirect_uri", "is required")),
        };
        Ok((client, uri))
    }

    /// Checks the rest of the request; errors here go back to the client's redirect URI.
    pub fn check_authorize(
        &self,
        client: &AppClient,
        req: &AuthorizeRequest,
    ) -> Result<IssuedCode> {
        if req.response_type != "code" {
            return Err(Error::invalid("response_type", "only `code` is supported"));
        }
        if !client.grants.contains(&GrantType::AuthorizationCode) {
            return Err(Error::UnauthorizedClient(
                "client may not use the authorization code grant".into(),
            ));
        }
        let scope = grant_scope(client, req.scope.as_deref())?;
        if let Some(n) = &req.nonce
            && (n.len() > 512 || n.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                "nonce",
                "must be at most 512 printable characters",
            ));
        }
        let pkce = pkce_for(client)
            .challenge(
                req.code_challenge_method.as_deref().map(Cow::Borrowed),
                req.code_challenge.as_deref().map(Cow::Borrowed),
            )
            .map_err(|()| {
                Error::invalid(
                    "code_challenge",
                    if client.is_public() {
                        "PKCE with code_challenge_method=S256 is required"
                    } else {
                        "only code_challenge_method=S256 is supported"
                    },
                )
            })?
            .and_then(|v| v.into_private_value().ok().flatten());
        Ok(IssuedCode {
            redirect_uri: req.redirect_uri.clone(),
            scope,
            nonce: req.nonce.clone(),
            pkce,
        })
    }

    /// Issues a single-use code for a signed-in account.
    pub async fn issue_code(
        &self,
        client: &AppClient,
        issued: &IssuedCode,
        account_id: Uuid,
        auth: &AuthContext,
    ) -> Result<String> {
        let code = random_secret();
        let at = now();
        let record = AuthorizationCode {
            code_digest: secrets::digest(&code),
            client_id: client.id.clone(),
            tenant_id: client.tenant_id,
            account_id,
            redirect_uri: issued.redirect_uri.clone().unwrap_or_default(),
            scope: issued.scope.clone(),
            nonce: issued.nonce.clone(),
            pkce: issued.pkce.clone(),
            auth: auth.clone(),
            created_at: at,
            expires_at: at + self.config.code_ttl,
        };
        self.idp.store.insert_code(&record).await?;
        Ok(code)
    }

    /// Redeems a code for tokens. A code works once: a second use fails and revokes what the
    /// first use issued (RFC 6749 §4.1.2).
    pub async fn exchange_code(
        &self,
        client: &AppClient,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenSet> {
        if !client.grants.contains(&GrantType::AuthorizationCode) {
            return Err(Error::UnauthorizedClient(
                "client may not use the authorization code grant".into(),
            ));
        }
        let at = now();
        let (refresh, first_key) = refresh_key::mint(at);
        let first = RefreshToken {
            token_digest: first_key,
            // Time-ordered, like the token keys, so new families append to their index.
            family_id: Uuid::now_v7(),
            created_at: at,
            expires_at: at + self.config.refresh_token_ttl,
            used_at: None,
        };
        let code = match self
            .idp
            .store
            .redeem_code(&secrets::digest(code), &first, at)
            .await
        {
            Ok(CodeRedemption::Redeemed(c)) => c,
            Ok(CodeRedemption::Replayed { family_id }) => {
                if let Some(f) = family_id {
                    self.idp.store.revoke_family(f, at).await?;
                }
                return Err(Error::InvalidGrant(
                    "authorization code already used; tokens issued with it are revoked".into(),
                ));
            }
            Ok(CodeRedemption::Unknown) => {
                return Err(Error::InvalidGrant("unknown authorization code".into()));
            }
            // The account (or client) went away between authorization and redemption.
            Err(StoreError::MissingReference(what)) => {
                return Err(Error::InvalidGrant(format!("{what} no longer exists")));
            }
            Err(e) => return Err(e.into()),
        };
        // The code is spent and its family exists: any failure below must revoke the family.
        let family = TokenFamily {
            id: first.family_id,
            tenant_id: code.tenant_id,
            client_id: code.client_id.clone(),
            account_id: code.account_id,
            scope: code.scope.clone(),
            auth: code.auth.clone(),
            created_at: at,
            revoked_at: None,
        };
        let account = match self
            .check_redeemed(client, &code, redirect_uri, verifier, at)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                self.idp.store.revoke_family(family.id, at).await?;
                return Err(e);
            }
        };
        let refresh = client
            .grants
            .contains(&GrantType::RefreshToken)
            .then_some(refresh);
        let tokens = self
            .user_tokens(
                client,
                &account,
                &family,
                code.nonce.as_deref(),
                refresh,
                at,
            )
            .await?;
        crate::metrics::tokens_issued("authorization_code");
        Ok(tokens)
    }

    /// Everything a redeemed code must satisfy before tokens are issued for it.
    async fn check_redeemed(
        &self,
        client: &AppClient,
        code: &AuthorizationCode,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        at: Timestamp,
    ) -> Result<Account> {
        if code.client_id != client.id {
            return Err(Error::InvalidGrant(
                "authorization code was issued to another client".into(),
            ));
        }
        if code.expires_at <= at {
            return Err(Error::InvalidGrant("authorization code expired".into()));
        }
        // Required, and identical, when the authorization request had it (RFC 6749 §4.1.3);
        // otherwise optional, and then one of the client's own.
        let redirect_ok = match (code.redirect_uri.as_str(), redirect_uri) {
            ("", None) => true,
            ("", Some(given)) => client.redirect_uris.iter().any(|r| r == given),
            (stored, given) => given == Some(stored),
        };
        if !redirect_ok {
            return Err(Error::InvalidGrant(
                "redirect_uri does not match the authorization request".into(),
            ));
        }
        let stored = code.pkce.clone().map(|p| GrantValue::private(Some(p)));
        pkce_for(client)
            .verify(stored, verifier.map(Cow::Borrowed))
            .map_err(|()| Error::InvalidGrant("PKCE verification failed".into()))?;
        let account = self
            .idp
            .account(code.account_id)
            .await
            .map_err(|_| Error::InvalidGrant("account no longer exists".into()))?;
        ensure_active(&account).map_err(|e| Error::InvalidGrant(e.to_string()))?;
        Ok(account)
    }
}
