//! App clients: relying-party applications, vendor api-keys and Switch client ids.

use serde_json::json;
use uuid::Uuid;

use super::Idp;
use super::audit::AuditEntry;
use crate::authz::{Context, entitlements};
use crate::error::{Error, Result};
use crate::model::{AppClient, AuditAction, AuditCategory, GrantType, SigningAlg, now};
use crate::secrets;
use crate::validate;

/// A client to register. Without a secret it is a public client (PKCE only).
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub id: String,
    pub name: Option<String>,
    pub secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grants: Vec<GrantType>,
    pub scopes: Vec<String>,
    /// A third-party client: users are asked to consent before it gets their data.
    pub third_party: bool,
    /// ID-token signing algorithm this client asks for (default: the server's).
    pub id_token_alg: Option<SigningAlg>,
}

/// Client secrets are at least this long: they are stored as a fast digest, which is only safe
/// for values nobody can guess.
pub const MIN_CLIENT_SECRET_LEN: usize = 16;

impl Idp {
    pub async fn create_client(
        &self,
        ctx: &Context,
        tenant_id: Uuid,
        new: NewClient,
    ) -> Result<AppClient> {
        ctx.principal
            .require(entitlements::MANAGE_TENANT, tenant_id)?;
        let id = validate::name("client id", &new.id)?;
        if let Some(s) = &new.secret
            && !(MIN_CLIENT_SECRET_LEN..=512).contains(&s.len())
        {
            return Err(Error::invalid(
                "secret",
                format!("must be {MIN_CLIENT_SECRET_LEN} to 512 characters"),
            ));
        }
        let redirect_uris = new
            .redirect_uris
            .iter()
            .map(|u| validate::redirect_uri(u))
            .collect::<Result<Vec<_>>>()?;
        let mut grants = if new.grants.is_empty() {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        } else {
            new.grants
        };
        grants.sort();
        grants.dedup();
        if new.secret.is_none() && grants.contains(&GrantType::ClientCredentials) {
            return Err(Error::invalid(
                "grant",
                "client_credentials needs a client secret",
            ));
        }
        if grants.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            return Err(Error::invalid(
                "redirect_uri",
                "authorization_code needs at least one redirect URI",
            ));
        }
        let scopes = if new.scopes.is_empty() {
            ["openid", "profile", "email", "phone", "offline_access"]
                .map(String::from)
                .to_vec()
        } else {
            new.scopes
        };
        let client = AppClient {
            id,
            tenant_id,
            name: new
                .name
                .as_deref()
                .map(|n| validate::text("name", n, 200))
                .transpose()?,
            secret_digest: new.secret.as_deref().map(secrets::digest),
            redirect_uris,
            grants,
            scopes,
            consent_required: new.third_party,
            id_token_alg: new.id_token_alg,
            created_at: now(),
        };
        let res = self.store.create_client(&client).await.map_err(Error::from);
        let entry = AuditEntry::new(
            tenant_id,
            None,
            AuditCategory::Admin,
            AuditAction::Create,
            "client.create",
            format!("app client {} created", client.id),
        )
        .params(json!({ "grants": client.grants, "public": client.is_public() }));
        self.audit(ctx, entry, &res).await;
        res.map(|()| client)
    }

    /// Authenticates an app client. A confidential client must present its secret (compared in
    /// constant time); a public client must present none.
    pub async fn authenticate_client(&self, id: &str, secret: Option<&str>) -> Result<AppClient> {
        let client = self.client(id).await?;
        let ok = match (&client.secret_digest, secret) {
            (Some(digest), Some(given)) => secrets::digest_matches(given, digest),
            (None, None) => true,
            _ => false,
        };
        if ok {
            Ok(client)
        } else {
            Err(Error::InvalidClient)
        }
    }

    /// A client by id, without authentication (for api-key style identification).
    pub async fn client(&self, id: &str) -> Result<AppClient> {
        if let Some(known) = self.clients.get(id) {
            return Ok(known);
        }
        let client = self
            .store
            .client_by_id(id)
            .await?
            .ok_or(Error::InvalidClient)?;
        self.clients.put(client.id.clone(), &client);
        Ok(client)
    }
}
