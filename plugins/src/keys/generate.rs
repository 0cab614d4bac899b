//! New keys: PKCS#8 DER private key, public JWK, random kid.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::model::{SigningAlg, SigningKey, Timestamp};

use super::KeyError;
use super::material::KeyMaterial;

/// A random key id: 16 bytes, base64url (22 characters).
pub fn new_kid() -> Result<String, KeyError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| KeyError::Generate("random generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Generates a key of `alg` (P-256, RSA-2048 or Ed25519), not yet superseded. CPU-heavy for
/// RS256 (tens to hundreds of milliseconds): call it off the async executor.
pub fn generate_key(alg: SigningAlg, created_at: Timestamp) -> Result<SigningKey, KeyError> {
    let failed = |what: &str| KeyError::Generate(format!("{alg}: {what}"));
    let rng = SystemRandom::new();
    let private_der: Vec<u8> = match alg {
        SigningAlg::ES256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| failed("key generation"))?
            .as_ref()
            .to_vec(),
        SigningAlg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| failed("key generation"))?
            .as_der()
            .map_err(|_| failed("PKCS#8 encoding"))?
            .as_ref()
            .to_vec(),
        SigningAlg::EdDSA => Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map_err(|_| failed("key generation"))?
            .as_ref()
            .to_vec(),
    };
    // Parse what was produced, exactly as a reload will: a key that cannot be loaded back is
    // never stored.
    let material = KeyMaterial::from_pkcs8(alg, &private_der).map_err(KeyError::Generate)?;
    let kid = new_kid()?;
    let public_jwk = material.jwk(alg, &kid);
    Ok(SigningKey {
        kid,
        alg,
        private_der,
        public_jwk,
        created_at,
        superseded_at: None,
    })
}
