//! The OAuth2 resource-owner password grant, for surfaces whose legacy clients still use it.

use super::{DirectSignIn, Tokens};
use crate::authz::Context;
use crate::error::{Error, Result};
use crate::model::{AppClient, GrantType};

impl Tokens {
    /// `grant_type=password`: only for clients registered with the `password` grant (and
    /// `refresh_token`, which every grant of a signed-in account starts).
    pub async fn password_grant(
        &self,
        ctx: &Context,
        client: &AppClient,
        login: &str,
        password: &str,
    ) -> Result<DirectSignIn> {
        if !client.grants.contains(&GrantType::Password) {
            return Err(Error::UnauthorizedClient(
                "client may not use the password grant".into(),
            ));
        }
        self.password_sign_in(ctx, client, login, password).await
    }
}
