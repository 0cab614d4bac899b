//! Secrets: argon2id for what people choose ([`hasher`]), SHA-256 digests for random,
//! high-entropy values (client secrets, tokens), and random generation.

pub mod hasher;

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Hex SHA-256 of a high-entropy secret. Such secrets cannot be guessed, so a fast digest is
/// enough at rest, and argon2's cost (about 13 ms) would only make every client call slow.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares a presented secret with a stored [`digest`] in constant time.
pub fn digest_matches(secret: &str, stored_digest: &str) -> bool {
    digest(secret)
        .as_bytes()
        .ct_eq(stored_digest.as_bytes())
        .into()
}

/// A random URL-safe token with `bytes` bytes of entropy (hex encoded).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_roundtrip() {
        let d = digest("s3cret");
        assert_eq!(d.len(), 64);
        assert!(digest_matches("s3cret", &d));
        assert!(!digest_matches("s3creT", &d));
        assert!(!digest_matches("s3cret", "short"));
    }

    #[test]
    fn tokens_are_random() {
        let a = random_token(32);
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token(32));
    }
}
