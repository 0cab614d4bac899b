//! Browser sessions of the sign-in pages, and consents for third-party clients.

use uuid::Uuid;

use super::{Tokens, parse_scope, random_secret};
use crate::error::Result;
use crate::model::*;
use crate::ops::ensure_active;
use crate::secrets;

impl Tokens {
    /// Starts a session for an account that just signed in; returns the cookie value.
    pub async fn start_session(
        &self,
        account: &Account,
        auth: &AuthContext,
    ) -> Result<(String, Session)> {
        let raw = random_secret();
        let at = now();
        let session = Session {
            id_digest: secrets::digest(&raw),
            tenant_id: account.tenant_id,
            account_id: account.id,
            auth: auth.clone(),
            created_at: at,
            expires_at: at + self.config.session_ttl,
        };
        self.idp.store.create_session(&session).await?;
        Ok((raw, session))
    }

    /// The live session behind a cookie value, with its account; None when the session is
    /// unknown or expired or its account may no longer act.
    pub async fn session(&self, raw: &str) -> Result<Option<(Session, Account)>> {
        let Some(session) = self.idp.store.session(&secrets::digest(raw)).await? else {
            return Ok(None);
        };
        if session.expires_at <= now() {
            return Ok(None);
        }
        match self.idp.store.account_by_id(session.account_id).await? {
            Some(a) if ensure_active(&a).is_ok() => Ok(Some((session, a))),
            _ => Ok(None),
        }
    }

    pub async fn end_session(&self, raw: &str) -> Result<()> {
        self.idp.store.delete_session(&secrets::digest(raw)).await?;
        Ok(())
    }

    /// True when the client must ask the account's consent for `scope` first.
    pub async fn needs_consent(
        &self,
        client: &AppClient,
        account_id: Uuid,
        scope: &str,
    ) -> Result<bool> {
        if !client.consent_required {
            return Ok(false);
        }
        let granted = self
            .idp
            .store
            .consented_scopes(account_id, &client.id)
            .await?;
        Ok(parse_scope(scope).iter().any(|s| !granted.contains(s)))
    }

    pub async fn grant_consent(
        &self,
        client: &AppClient,
        account_id: Uuid,
        scope: &str,
    ) -> Result<()> {
        self.idp
            .store
            .grant_consent(account_id, &client.id, &parse_scope(scope), now())
            .await?;
        Ok(())
    }
}

/// A fresh random value for cookies and form tokens (CSRF).
pub fn new_secret() -> String {
    random_secret()
}
