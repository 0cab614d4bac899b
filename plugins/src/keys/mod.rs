//! Signing keys: generation (ES256 on P-256, RS256 with RSA-2048, EdDSA on Ed25519), the
//! in-memory [`KeyRing`] over the keys kept in the store, and compact JWS signing and checking
//! ([`idp_core::jose::TokenSigner`]).
//!
//! Keys live in the store ([`idp_core::store::Store::insert_key`] and friends), so every replica
//! signs with and publishes the same keys. Each replica caches them parsed once (signing and
//! verification never re-parse a key) and learns about keys another replica made by reloading:
//! on [`KeyRing::reload`] (call it periodically, e.g. with [`KeyRing::spawn_reloader`]) and when
//! a token names a key it does not know (at most once per
//! [`DEFAULT_UNKNOWN_KID_RELOAD_INTERVAL`], so garbage cannot hammer the database).
//!
//! The crypto is aws-lc-rs used directly rather than through `jsonwebtoken`: `jsonwebtoken`
//! re-parses the private key on every signature (for RSA that costs more than the signature),
//! and checking the header ourselves keeps the algorithm rules in one readable place.

mod der;
mod generate;
mod jws;
mod material;
mod ring;
#[cfg(test)]
mod tests;

use idp_core::store::StoreError;

pub use der::rsa_pkcs1_from_pkcs8;
pub use generate::{generate_key, new_kid};
pub use ring::{DEFAULT_UNKNOWN_KID_RELOAD_INTERVAL, KeyRing};

/// Why the key ring could not load, create or rotate keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("key generation failed: {0}")]
    Generate(String),
}
