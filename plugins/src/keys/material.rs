//! A key parsed once: the private half that signs, the public half that verifies (pre-parsed
//! too), and the public numbers for the JWK.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::model::SigningAlg;
use serde_json::{Value, json};

/// Smallest RSA modulus accepted from the store, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

enum PrivateKey {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

/// Public key members of the JWK, base64url.
enum PublicMembers {
    Ec { x: String, y: String },
    Rsa { n: String, e: String },
    Okp { x: String },
}

pub(crate) struct KeyMaterial {
    private: PrivateKey,
    public: ParsedPublicKey,
    members: PublicMembers,
}

impl KeyMaterial {
    /// Parses a PKCS#8 private key of `alg`. The error says why (for logs).
    pub(crate) fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<Self, String> {
        let reject = |e: aws_lc_rs::error::KeyRejected| format!("{alg} private key rejected: {e}");
        let unparsable = |e: aws_lc_rs::error::KeyRejected| format!("{alg} public key: {e}");
        match alg {
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(reject)?;
                let point = pair.public_key().as_ref();
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                if point.len() != 65 || point[0] != 4 {
                    return Err("ES256 public key is not an uncompressed P-256 point".into());
                }
                let members = PublicMembers::Ec {
                    x: URL_SAFE_NO_PAD.encode(&point[1..33]),
                    y: URL_SAFE_NO_PAD.encode(&point[33..]),
                };
                let public =
                    ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(unparsable)?;
                Ok(Self {
                    private: PrivateKey::Es256(pair),
                    public,
                    members,
                })
            }
            SigningAlg::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(reject)?;
                if pair.public_modulus_len() < MIN_RSA_MODULUS_BYTES {
                    return Err("RS256 key shorter than 2048 bits".into());
                }
                let key = pair.public_key();
                let members = PublicMembers::Rsa {
                    n: URL_SAFE_NO_PAD.encode(key.modulus().big_endian_without_leading_zero()),
                    e: URL_SAFE_NO_PAD.encode(key.exponent().big_endian_without_leading_zero()),
                };
                let public = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.as_ref())
                    .map_err(unparsable)?;
                Ok(Self {
                    private: PrivateKey::Rs256(pair),
                    public,
                    members,
                })
            }
            SigningAlg::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(reject)?;
                let point = pair.public_key().as_ref();
                let members = PublicMembers::Okp {
                    x: URL_SAFE_NO_PAD.encode(point),
                };
                let public = ParsedPublicKey::new(&ED25519, point).map_err(unparsable)?;
                Ok(Self {
                    private: PrivateKey::EdDsa(pair),
                    public,
                    members,
                })
            }
        }
    }

    /// The JWS signature of `message` (ES256: the 64-byte r || s of RFC 7518).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match &self.private {
            PrivateKey::Es256(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ES256 signing failed".into()),
            PrivateKey::Rs256(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| "RS256 signing failed".to_string())?;
                Ok(signature)
            }
            PrivateKey::EdDsa(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    /// True if `signature` is this key's signature of `message`, with this key's algorithm.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.public.verify_sig(message, signature).is_ok()
    }

    /// The public JWK (RFC 7517/7518/8037) with `kid`, `alg` and `use: sig`.
    pub(crate) fn jwk(&self, alg: SigningAlg, kid: &str) -> Value {
        let mut jwk = match &self.members {
            PublicMembers::Ec { x, y } => json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
            PublicMembers::Rsa { n, e } => json!({"kty": "RSA", "n": n, "e": e}),
            PublicMembers::Okp { x } => json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
        };
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg.as_str());
        jwk["use"] = json!("sig");
        jwk
    }
}
