//! What OAuth / OpenID Connect leaves behind in storage: signing keys, authorization codes,
//! refresh-token families, browser sessions, consents and revoked access tokens. Every random
//! value (code, refresh token, session id) is stored only as its SHA-256 digest.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Account, Timestamp};

/// JWS algorithms idp signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SigningAlg {
    ES256,
    RS256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [Self::ES256, Self::RS256, Self::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!("unknown signing algorithm `{s}` (expected ES256, RS256 or EdDSA)")
            })
    }
}

/// A signing key. The newest key of each algorithm signs; older ones stay published (JWKS) until
/// every token they signed has expired.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    /// PKCS#8 DER of the private key.
    pub private_der: Vec<u8>,
    /// The public key as a JWK (with kid, alg, use).
    pub public_jwk: serde_json::Value,
    pub created_at: Timestamp,
    /// Set when a newer key of the same algorithm took over signing.
    pub superseded_at: Option<Timestamp>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("superseded_at", &self.superseded_at)
            .finish_non_exhaustive()
    }
}

/// How an account proved who it is, carried from sign-in to every token of the grant.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthContext {
    pub auth_time: Option<Timestamp>,
    /// Authentication methods (RFC 8176): `pwd`, `otp`, `mfa`, ...
    pub amr: Vec<String>,
    pub acr: Option<String>,
}

/// An authorization code, stored by digest until redeemed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub code_digest: String,
    pub client_id: String,
    pub tenant_id: Uuid,
    pub account_id: Uuid,
    /// The redirect URI as the authorization request gave it; empty when it was left out.
    pub redirect_uri: String,
    /// Space-separated granted scopes.
    pub scope: String,
    pub nonce: Option<String>,
    /// PKCE challenge in its stored form (method marker included); None without PKCE.
    pub pkce: Option<String>,
    pub auth: AuthContext,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What redeeming a code found.
#[allow(clippy::large_enum_variant)] // short-lived, one per token request
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the code is now spent and tied to `family_id`.
    Redeemed(AuthorizationCode),
    /// Already spent: the family its first use created (revoke it).
    Replayed {
        family_id: Option<Uuid>,
    },
    Unknown,
}

/// One grant's chain of refresh tokens. Revoking it ends every token of the chain (and the
/// access tokens that carry its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFamily {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub client_id: String,
    pub account_id: Uuid,
    pub scope: String,
    pub auth: AuthContext,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// One refresh token of a family, stored by a key made of its minting time and its digest
/// (`ops::tokens::refresh_key`), never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_digest: String,
    pub family_id: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Set when it was exchanged for its successor.
    pub used_at: Option<Timestamp>,
}

/// What checking a bearer access token found in the store.
#[derive(Debug, Clone, PartialEq)]
pub struct BearerState {
    /// The token's `jti` is revoked, or its family is.
    pub revoked: bool,
    /// The token's account, if it names one and the account exists.
    pub account: Option<Account>,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshRotation {
    /// Valid and unused: it is now used and `new` is stored in its place. With the family's
    /// account as it is now (None if deleted), read in the same call: the caller checks its
    /// status and puts its claims in the new tokens.
    Rotated(TokenFamily, Option<Box<Account>>),
    /// Already used: a stolen copy or a replay. The family is now revoked.
    Reused { family_id: Uuid },
    /// Unknown, expired, or of a revoked family. Nothing changed.
    Invalid,
    /// Issued to another client than the one presenting it. Nothing changed (checked before
    /// anything else, so another client can neither spend nor revoke someone's grant).
    OtherClient,
}

/// A signed-in browser session, stored by the digest of its cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_digest: String,
    pub tenant_id: Uuid,
    pub account_id: Uuid,
    pub auth: AuthContext,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}
