//! Ending a session by its access token, for surfaces whose logout takes the access token
//! rather than the refresh token.

use super::Tokens;
use crate::error::{Error, Result};
use crate::model::now;

impl Tokens {
    /// Ends the session of a live access token of `tenant_id`: its grant (refresh family, and
    /// with it every access token of the family) is revoked in the store, and the token's own
    /// id is recorded as revoked until it expires — so `/introspect` and `/userinfo` refuse it
    /// on every replica at once. A token that is not live (already signed out, expired, forged,
    /// of another tenant) is `InvalidToken`.
    pub async fn sign_out_access_token(
        &self,
        access_token: &str,
        tenant_id: uuid::Uuid,
    ) -> Result<()> {
        let token = self.verify_access_token(access_token.trim()).await?;
        if token.tenant_id != tenant_id || token.account_id.is_none() {
            return Err(Error::InvalidToken);
        }
        let at = now();
        if let Some(family) = token.family_id {
            self.idp.store.revoke_family(family, at).await?;
        }
        let exp = chrono::DateTime::from_timestamp(token.expires_at, 0).unwrap_or(at);
        if exp > at {
            self.idp.store.revoke_access_token(&token.jti, exp).await?;
        }
        Ok(())
    }
}
