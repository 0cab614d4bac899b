//! The signing contract the token operations need. The core builds claims; an implementation
//! (`idp-plugins::keys`, over keys kept in the store) turns them into compact JWS and back.

use async_trait::async_trait;
use serde_json::Value;

use crate::model::SigningAlg;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    /// No usable key for this algorithm.
    #[error("no signing key for {0}")]
    NoKey(SigningAlg),
    /// The token is malformed, unsigned, signed by an unknown key or with the wrong algorithm,
    /// or its signature does not match. Deliberately vague: callers answer "invalid token".
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("signing failed: {0}")]
    Internal(String),
}

/// A JWS whose signature checked out against one of our keys.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedJws {
    pub alg: SigningAlg,
    pub kid: String,
    /// The header's `typ` (e.g. `at+jwt`), if any.
    pub typ: Option<String>,
    pub claims: Value,
}

#[async_trait]
pub trait TokenSigner: Send + Sync + 'static {
    /// Signs `claims` with the current key of `alg`; the header carries `kid` and `typ`.
    async fn sign(&self, alg: SigningAlg, typ: &str, claims: &Value) -> Result<String, SignError>;
    /// Checks a compact JWS made by one of our keys, published or recently superseded. Refuses
    /// `alg: none`, MAC algorithms, unknown `kid`s and an `alg` that differs from the key's
    /// (algorithm confusion). Does not look at claims (exp, iss, aud are the caller's job).
    async fn verify(&self, token: &str) -> Result<VerifiedJws, SignError>;
    /// The JWK Set to publish: every key that signs now or signed a token that may still be live.
    async fn jwks(&self) -> Value;
    /// Algorithms there is a current key for.
    fn algorithms(&self) -> Vec<SigningAlg>;
}
