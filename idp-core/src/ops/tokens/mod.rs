//! Tokens: authorization codes, access tokens (JWT, RFC 9068), refresh tokens (opaque, rotated,
//! with reuse detection per family), ID tokens, introspection, revocation and browser sessions.
//! The wire format of each surface (OIDC, vendor adapters) is the surface's business; the rules
//! are here, so that a token issued through one surface is the same token everywhere.

mod claims;
mod codes;
mod direct;
mod grants;
mod inspect;
mod login;
mod password_grant;
mod refresh_key;
mod session_end;
mod sessions;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};
use uuid::Uuid;

pub use claims::standard_claims;
pub use codes::{AuthorizeRequest, IssuedCode};
pub use direct::DirectSignIn;
pub use inspect::{AccessToken, Introspection};
pub use login::{PendingSignIn, SignIn};
pub use sessions::new_secret;

use super::Idp;
use crate::error::{Error, Result};
use crate::jose::{SignError, TokenSigner};
use crate::model::{Account, AppClient, AuthContext, SigningAlg, Timestamp, TokenFamily};

/// Lifetimes and identity of what the token service issues.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// `iss` of every token, and the audience of access tokens.
    pub issuer: String,
    pub access_token_ttl: Duration,
    pub id_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub code_ttl: Duration,
    pub session_ttl: Duration,
    /// Algorithm for access tokens, and for ID tokens unless the client asks for another.
    pub default_alg: SigningAlg,
}

impl TokenConfig {
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            access_token_ttl: Duration::minutes(15),
            id_token_ttl: Duration::hours(1),
            refresh_token_ttl: Duration::days(30),
            code_ttl: Duration::seconds(60),
            session_ttl: Duration::hours(12),
            default_alg: SigningAlg::ES256,
        }
    }

    /// The longest a signed token lives: how long a superseded key must stay published.
    pub fn max_signed_lifetime(&self) -> Duration {
        self.access_token_ttl.max(self.id_token_ttl)
    }
}

/// What a token request returns.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSet {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    /// Space-separated granted scopes.
    pub scope: String,
    /// The account the tokens were issued to, as read (and found active) at issuance; None for
    /// a client's own token. For surfaces whose answer describes the user, so they need not
    /// look it up again.
    pub account: Option<Box<Account>>,
}

/// How many verified access tokens [`Tokens`] remembers (a few MB at most).
const VERIFIED_CACHE_ENTRIES: usize = 4096;

/// The token service: the core plus a signer and lifetimes. Cheap to clone.
#[derive(Clone)]
pub struct Tokens {
    idp: Idp,
    signer: Arc<dyn TokenSigner>,
    config: Arc<TokenConfig>,
    /// Access tokens whose signature already checked out, by their exact text. Checking an
    /// ES256 signature costs more than everything else an introspection or userinfo call does;
    /// a resource server presents the same token many times. Only what the signature proves is
    /// remembered: expiry, revocation and the account's status are checked on every use, so
    /// every replica still sees a revocation at once.
    verified: Arc<quick_cache::sync::Cache<String, Arc<AccessToken>>>,
}

impl Tokens {
    pub fn new(idp: Idp, signer: Arc<dyn TokenSigner>, config: TokenConfig) -> Self {
        Self {
            idp,
            signer,
            config: Arc::new(config),
            verified: Arc::new(quick_cache::sync::Cache::new(VERIFIED_CACHE_ENTRIES)),
        }
    }

    pub fn idp(&self) -> &Idp {
        &self.idp
    }

    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    pub fn signer(&self) -> &Arc<dyn TokenSigner> {
        &self.signer
    }

    /// Signs an RFC 9068 access token. `sub` is the account, or the client itself for
    /// client_credentials; `family` ties it to a refresh family so that revoking the family
    /// ends it too.
    async fn access_token(
        &self,
        client: &AppClient,
        subject: &str,
        scope: &str,
        auth: &AuthContext,
        family: Option<Uuid>,
        at: Timestamp,
    ) -> Result<String> {
        let exp = at + self.config.access_token_ttl;
        let mut claims = json!({
            "iss": self.config.issuer,
            "sub": subject,
            "aud": self.config.issuer,
            "client_id": client.id,
            "scope": scope,
            "tid": client.tenant_id,
            "iat": at.timestamp(),
            "exp": exp.timestamp(),
            "jti": Uuid::new_v4().to_string(),
        });
        add_auth_claims(&mut claims, auth);
        if let Some(f) = family {
            claims["fid"] = json!(f);
        }
        self.sign(self.config.default_alg, "at+jwt", &claims).await
    }

    /// The tokens of a user grant: an access token tied to `family`, an ID token when the
    /// family's scope has `openid`, and the given refresh token.
    async fn user_tokens(
        &self,
        client: &AppClient,
        account: &Account,
        family: &TokenFamily,
        nonce: Option<&str>,
        refresh_token: Option<String>,
        at: Timestamp,
    ) -> Result<TokenSet> {
        let subject = account.id.to_string();
        let access = self
            .access_token(
                client,
                &subject,
                &family.scope,
                &family.auth,
                Some(family.id),
                at,
            )
            .await?;
        let id_token = if has_scope(&family.scope, "openid") {
            Some(
                self.id_token(client, account.id, nonce, &family.auth, &access, at)
                    .await?,
            )
        } else {
            None
        };
        Ok(TokenSet {
            access_token: access,
            expires_in: self.config.access_token_ttl.num_seconds(),
            refresh_token,
            id_token,
            scope: family.scope.clone(),
            account: Some(Box::new(account.clone())),
        })
    }

    /// Signs an OpenID Connect ID token for `access_token`, with the client's algorithm.
    async fn id_token(
        &self,
        client: &AppClient,
        account_id: Uuid,
        nonce: Option<&str>,
        auth: &AuthContext,
        access_token: &str,
        at: Timestamp,
    ) -> Result<String> {
        let alg = self.id_token_alg(client);
        let mut claims = json!({
            "iss": self.config.issuer,
            "sub": account_id,
            "aud": client.id,
            "azp": client.id,
            "iat": at.timestamp(),
            "exp": (at + self.config.id_token_ttl).timestamp(),
            "at_hash": left_half_hash(alg, access_token),
        });
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        add_auth_claims(&mut claims, auth);
        self.sign(alg, "JWT", &claims).await
    }

    fn id_token_alg(&self, client: &AppClient) -> SigningAlg {
        client.id_token_alg.unwrap_or(self.config.default_alg)
    }

    async fn sign(&self, alg: SigningAlg, typ: &str, claims: &Value) -> Result<String> {
        self.signer
            .sign(alg, typ, claims)
            .await
            .map_err(|e| match e {
                SignError::NoKey(alg) => Error::Internal(format!("no signing key for {alg}")),
                other => Error::Internal(other.to_string()),
            })
    }
}

/// `auth_time`, `amr` and `acr`, where known.
fn add_auth_claims(claims: &mut Value, auth: &AuthContext) {
    if let Some(t) = auth.auth_time {
        claims["auth_time"] = json!(t.timestamp());
    }
    if !auth.amr.is_empty() {
        claims["amr"] = json!(auth.amr);
    }
    if let Some(acr) = &auth.acr {
        claims["acr"] = json!(acr);
    }
}

/// OIDC `at_hash` / `c_hash`: base64url of the left half of the hash that matches the signing
/// algorithm (SHA-256 for ES256/RS256, SHA-512 for Ed25519).
pub fn left_half_hash(alg: SigningAlg, value: &str) -> String {
    let digest: Vec<u8> = match alg {
        SigningAlg::ES256 | SigningAlg::RS256 => Sha256::digest(value.as_bytes()).to_vec(),
        SigningAlg::EdDSA => Sha512::digest(value.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// A random token for the wire (256 bits, base64url).
pub(crate) fn random_secret() -> String {
    let mut buf = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Scopes as a set: split, deduplicated, in request order.
pub fn parse_scope(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split_ascii_whitespace() {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

/// The granted scope: the requested scopes (or the client's own when none are asked for), each
/// of which the client must be allowed.
fn grant_scope(client: &AppClient, requested: Option<&str>) -> Result<String> {
    let requested = match requested {
        Some(r) if !r.trim().is_empty() => parse_scope(r),
        _ => client.scopes.clone(),
    };
    if let Some(bad) = requested.iter().find(|s| !client.scopes.contains(s)) {
        return Err(Error::InvalidScope(format!(
            "scope `{bad}` is not allowed for this client"
        )));
    }
    Ok(requested.join(" "))
}

fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split_ascii_whitespace().any(|s| s == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_example() {
        // OpenID Connect Core, appendix A.3: access token and its at_hash (RS256).
        let at = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(
            left_half_hash(SigningAlg::RS256, at),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn scopes() {
        assert_eq!(
            parse_scope(" openid  email openid "),
            vec!["openid", "email"]
        );
        assert!(has_scope("openid email", "email"));
        assert!(!has_scope("openid emails", "email"));
    }
}
