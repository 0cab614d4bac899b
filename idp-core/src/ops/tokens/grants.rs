//! The refresh_token and client_credentials grants.

use super::{TokenSet, Tokens, grant_scope, has_scope, parse_scope, refresh_key};
use crate::error::{Error, Result};
use crate::model::*;
use crate::ops::ensure_active;
use uuid::Uuid;

/// Scopes about a signed-in user: meaningless for a client acting on its own behalf.
const USER_SCOPES: [&str; 6] = [
    "openid",
    "offline_access",
    "profile",
    "email",
    "phone",
    "address",
];

impl Tokens {
    /// Exchanges a refresh token for a new access token and a new refresh token. The old one is
    /// spent; presenting it again revokes the whole family (a stolen copy is caught the moment
    /// either party uses it). `scope` may narrow, never widen, the grant.
    pub async fn refresh(
        &self,
        client: &AppClient,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Result<TokenSet> {
        if !client.grants.contains(&GrantType::RefreshToken) {
            return Err(Error::UnauthorizedClient(
                "client may not use the refresh_token grant".into(),
            ));
        }
        let key = refresh_key::key_of(refresh_token);
        // A narrower scope is checked against the grant before anything is spent. Without one
        // (the usual case) the rotation itself checks the token and its client, in one store
        // call.
        let narrowed = match scope {
            Some(s) if !s.trim().is_empty() => {
                let Some((_, family)) = self.idp.store.refresh_token(&key).await? else {
                    return Err(Error::InvalidGrant("unknown refresh token".into()));
                };
                if family.client_id != client.id {
                    return Err(other_client());
                }
                let asked = parse_scope(s);
                if let Some(bad) = asked.iter().find(|a| !has_scope(&family.scope, a)) {
                    return Err(Error::InvalidScope(format!(
                        "scope `{bad}` was not granted"
                    )));
                }
                Some(asked.join(" "))
            }
            _ => None,
        };
        let at = now();
        let (next_raw, next_key) = refresh_key::mint(at);
        let next = RefreshToken {
            token_digest: next_key,
            // The store files it in the presented token's family, whatever this says.
            family_id: Uuid::nil(),
            created_at: at,
            expires_at: at + self.config.refresh_token_ttl,
            used_at: None,
        };
        let rotated = self
            .idp
            .store
            .rotate_refresh(&key, &client.id, &next, at)
            .await?;
        let (family, account) = match rotated {
            RefreshRotation::Rotated(f, a) => (f, a),
            RefreshRotation::OtherClient => return Err(other_client()),
            RefreshRotation::Reused { .. } => {
                return Err(Error::InvalidGrant(
                    "refresh token already used; the grant is revoked".into(),
                ));
            }
            RefreshRotation::Invalid => {
                return Err(Error::InvalidGrant(
                    "refresh token expired or revoked".into(),
                ));
            }
        };
        // A locked or disabled account keeps nothing it was given.
        let account = match account {
            Some(a) if ensure_active(&a).is_ok() => *a,
            _ => {
                self.idp.store.revoke_family(family.id, at).await?;
                return Err(Error::InvalidGrant("account is not active".into()));
            }
        };
        let family = match narrowed {
            Some(scope) => TokenFamily { scope, ..family },
            None => family,
        };
        let tokens = self
            .user_tokens(client, &account, &family, None, Some(next_raw), at)
            .await?;
        crate::metrics::tokens_refreshed();
        Ok(tokens)
    }

    /// A token for the client itself (no user): confidential clients only, no refresh token.
    pub async fn client_credentials(
        &self,
        client: &AppClient,
        scope: Option<&str>,
    ) -> Result<TokenSet> {
        if client.is_public() || !client.grants.contains(&GrantType::ClientCredentials) {
            return Err(Error::UnauthorizedClient(
                "client may not use the client_credentials grant".into(),
            ));
        }
        let scope = match scope {
            Some(s) if !s.trim().is_empty() => {
                let scope = grant_scope(client, Some(s))?;
                if let Some(bad) = USER_SCOPES.iter().find(|u| has_scope(&scope, u)) {
                    return Err(Error::InvalidScope(format!("scope `{bad}` needs a user")));
                }
                scope
            }
            // Without a request: the client's scopes that make sense without a user.
            _ => client
                .scopes
                .iter()
                .filter(|s| !USER_SCOPES.contains(&s.as_str()))
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
        };
        let at = now();
        let access = self
            .access_token(
                client,
                &client.id,
                &scope,
                &AuthContext::default(),
                None,
                at,
            )
            .await?;
        crate::metrics::tokens_issued("client_credentials");
        Ok(TokenSet {
            access_token: access,
            expires_in: self.config.access_token_ttl.num_seconds(),
            refresh_token: None,
            id_token: None,
            scope,
            account: None,
        })
    }
}

fn other_client() -> Error {
    Error::InvalidGrant("refresh token was issued to another client".into())
}
