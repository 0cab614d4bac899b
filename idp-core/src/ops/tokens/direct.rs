//! Tokens for surfaces that sign accounts in themselves (vendor APIs that take a password or a
//! code in a JSON body instead of sending a browser to `/authorize`). The tokens are the same as
//! the OIDC surface issues: an access token tied to a new refresh family of the given app client,
//! the refresh token that starts it, and an ID token when the client's scope has `openid`.
//!
//! - [`Tokens::issue_for`] starts a grant for an account that has just proven who it is;
//! - [`Tokens::password_sign_in`] / [`Tokens::finish_direct_sign_in`]: the two-step sign-in of
//!   [`Tokens::sign_in`] ending in such a grant;
//! - [`Tokens::redeem_code`]: the one step that takes a code and a request id a surface handed
//!   out, whichever flow created it (a contact-verification code or a pending sign-in);
//! - [`Tokens::sign_out`]: ends the grant of a refresh token, for every replica;
//! - [`Tokens::account_bearer`]: an access token of one tenant that names an account.

use uuid::Uuid;

use super::{AccessToken, PendingSignIn, SignIn, TokenSet, Tokens, grant_scope, refresh_key};
use crate::authz::Context;
use crate::error::{Error, Result};
use crate::model::*;
use crate::notify::Channel;
use crate::ops::ensure_active;

/// Where a direct sign-in stands after the password.
#[allow(clippy::large_enum_variant)] // one per sign-in, short-lived
#[derive(Debug, Clone)]
pub enum DirectSignIn {
    /// Signed in: the grant's tokens.
    Tokens(TokenSet),
    /// A second factor is needed: finish with [`Tokens::redeem_code`] (or
    /// [`Tokens::finish_direct_sign_in`]) and the pending token.
    Pending(PendingSignIn),
}

impl Tokens {
    /// Starts a grant of `client` for `account`, which has just authenticated as `auth` says:
    /// a new refresh family with the client's scopes, and its tokens. The client must be of the
    /// account's tenant and allowed the refresh_token grant; the account must be active.
    pub async fn issue_for(
        &self,
        client: &AppClient,
        account: &Account,
        auth: AuthContext,
    ) -> Result<TokenSet> {
        if !client.grants.contains(&GrantType::RefreshToken) {
            return Err(Error::UnauthorizedClient(
                "client may not use the refresh_token grant".into(),
            ));
        }
        if client.tenant_id != account.tenant_id {
            return Err(Error::Forbidden("account belongs to another tenant".into()));
        }
        ensure_active(account)?;
        let scope = grant_scope(client, None)?;
        let at = now();
        let family = TokenFamily {
            // Time-ordered, like the token keys, so new families append to their index.
            id: Uuid::now_v7(),
            tenant_id: account.tenant_id,
            client_id: client.id.clone(),
            account_id: account.id,
            scope,
            auth,
            created_at: at,
            revoked_at: None,
        };
        let (raw, key) = refresh_key::mint(at);
        let first = RefreshToken {
            token_digest: key,
            family_id: family.id,
            created_at: at,
            expires_at: at + self.config.refresh_token_ttl,
            used_at: None,
        };
        self.idp.store.create_family(&family, &first).await?;
        let tokens = self
            .user_tokens(client, account, &family, None, Some(raw), at)
            .await?;
        crate::metrics::tokens_issued("direct");
        Ok(tokens)
    }

    /// Password sign-in of `client`'s tenant ending in a grant of `client`, or in a pending
    /// sign-in when the account needs a second factor (the code is sent already when the factor
    /// is an emailed or texted one).
    pub async fn password_sign_in(
        &self,
        ctx: &Context,
        client: &AppClient,
        login: &str,
        password: &str,
    ) -> Result<DirectSignIn> {
        match self
            .sign_in(ctx, client.tenant_id, login, password, &client.id)
            .await?
        {
            SignIn::Complete(account, auth) => Ok(DirectSignIn::Tokens(
                self.issue_for(client, &account, auth).await?,
            )),
            SignIn::Pending(pending) => Ok(DirectSignIn::Pending(pending)),
        }
    }

    /// The second step of [`Self::password_sign_in`]: the pending token and the code (or PIN).
    pub async fn finish_direct_sign_in(
        &self,
        ctx: &Context,
        client: &AppClient,
        pending: &str,
        proof: &str,
    ) -> Result<TokenSet> {
        let (account, auth) = self.finish_sign_in(ctx, pending, &client.id, proof).await?;
        self.issue_for(client, &account, auth).await
    }

    /// Takes a code with the request id a surface handed out and signs the account in:
    /// - a challenge id of an emailed contact-verification code (sign-up): the address is marked
    ///   verified and the account signed in by that code alone (`amr: ["otp"]`);
    /// - a pending sign-in token (sign-in with a second factor): the sign-in is finished.
    ///
    /// Anything else is `ChallengeClosed`; a wrong code is `InvalidCredentials`.
    pub async fn redeem_code(
        &self,
        ctx: &Context,
        client: &AppClient,
        request_id: &str,
        code: &str,
    ) -> Result<TokenSet> {
        let request_id = request_id.trim();
        if let Ok(challenge_id) = request_id.parse::<Uuid>() {
            let account = self
                .idp
                .verify_contact(ctx, Channel::Email, challenge_id, code)
                .await?;
            let auth = AuthContext {
                auth_time: Some(now()),
                amr: vec!["otp".into()],
                acr: None,
            };
            return self.issue_for(client, &account, auth).await;
        }
        self.finish_direct_sign_in(ctx, client, request_id, code)
            .await
    }

    /// Ends the grant of a refresh token of `client`: its whole family, and with it every access
    /// token it carried, is revoked in the store (so on every replica at once). Signing out again
    /// with the same token succeeds; an unknown token, or another client's, is `InvalidGrant`.
    pub async fn sign_out(&self, client: &AppClient, refresh_token: &str) -> Result<()> {
        let Some((_, family)) = self
            .idp
            .store
            .refresh_token(&refresh_key::key_of(refresh_token.trim()))
            .await?
        else {
            return Err(Error::InvalidGrant("unknown refresh token".into()));
        };
        if family.client_id != client.id {
            return Err(Error::InvalidGrant(
                "refresh token was issued to another client".into(),
            ));
        }
        self.idp.store.revoke_family(family.id, now()).await?;
        crate::metrics::tokens_revoked();
        Ok(())
    }

    /// A live access token of `tenant_id` that names an account (not a client's own token),
    /// with that account. Anything else is `InvalidToken`.
    pub async fn account_bearer(
        &self,
        token: &str,
        tenant_id: Uuid,
    ) -> Result<(AccessToken, Account)> {
        let at = self.verify_access_token(token).await?;
        let Some(account_id) = at.account_id.filter(|_| at.tenant_id == tenant_id) else {
            return Err(Error::InvalidToken);
        };
        let account = self
            .idp
            .account(account_id)
            .await
            .map_err(|_| Error::InvalidToken)?;
        Ok((at, account))
    }
}
