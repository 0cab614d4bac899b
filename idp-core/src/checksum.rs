//! Payload checksums of app clients: `hex(HMAC-SHA512(key, raw request body))`, compared in
//! constant time.
//!
//! **The key rule.** A client's secret is stored only as its hex SHA-256 digest
//! ([`crate::secrets::digest`]), so the server cannot key an HMAC with the raw secret. The
//! checksum key is therefore that digest: the lower-case hex SHA-256 of the client secret (64
//! ASCII characters, used as the key bytes). The client computes it from its secret
//! (`sha256_hex(secret)`); the server has it at rest. Public clients (no secret) cannot send
//! checksums. (Consequence: whoever reads the client table can forge checksums for that client,
//! as whoever holds the secret can; the digest still does not reveal the secret itself, which
//! other endpoints (OAuth client authentication) require.)

use hmac::{Hmac, Mac};
use sha2::Sha512;

use crate::Idp;
use crate::error::{Error, Result};
use crate::model::AppClient;
use crate::secrets;

type HmacSha512 = Hmac<Sha512>;

fn mac(key: &[u8], message: &[u8]) -> HmacSha512 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha512 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message);
    mac
}

/// HMAC-SHA512 (RFC 2104) of `message` under `key`.
pub fn hmac_sha512(key: &[u8], message: &[u8]) -> [u8; 64] {
    mac(key, message).finalize().into_bytes().into()
}

/// `hex(HMAC-SHA512(key, message))`, lower case.
pub fn hmac_sha512_hex(key: &[u8], message: &[u8]) -> String {
    hex::encode(hmac_sha512(key, message))
}

/// The checksum key of a client with `secret`: the hex SHA-256 of the secret (what the server
/// stores). For client code and tests; the server uses the stored digest.
pub fn checksum_key(secret: &str) -> String {
    secrets::digest(secret)
}

/// The checksum a client with `secret` sends for `body`.
pub fn checksum_for_secret(secret: &str, body: &[u8]) -> String {
    hmac_sha512_hex(checksum_key(secret).as_bytes(), body)
}

/// Whether `given` (hex, either case, surrounding spaces ignored) is the checksum of `body`
/// under `key`, compared in constant time.
pub fn verify(key: &[u8], body: &[u8], given: &str) -> bool {
    let Ok(given) = hex::decode(given.trim()) else {
        return false;
    };
    // `verify_slice` compares in constant time (and refuses a wrong length).
    mac(key, body).verify_slice(&given).is_ok()
}

impl Idp {
    /// The app client `client_id` of `tenant_id`, after checking that `checksum` is its checksum
    /// of `body` (see the module docs for the key). An unknown client, one of another tenant or
    /// a public client is `InvalidClient`; a missing or wrong checksum `InvalidCredentials`.
    pub async fn client_by_checksum(
        &self,
        tenant_id: uuid::Uuid,
        client_id: &str,
        body: &[u8],
        checksum: Option<&str>,
    ) -> Result<AppClient> {
        let client = self.client(client_id.trim()).await?;
        if client.tenant_id != tenant_id {
            return Err(Error::InvalidClient);
        }
        let Some(key) = client.secret_digest.as_deref() else {
            return Err(Error::InvalidClient);
        };
        match checksum {
            Some(c) if verify(key.as_bytes(), body, c) => Ok(client),
            _ => Err(Error::InvalidCredentials),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231, HMAC-SHA-512 test cases 1, 2 and 6.
    #[test]
    fn rfc4231_vectors() {
        assert_eq!(
            hmac_sha512_hex(&[0x0b; 20], b"Hi There"),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
             daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
        );
        assert_eq!(
            hmac_sha512_hex(b"Jefe", b"what do ya want for nothing?"),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        assert_eq!(
            hmac_sha512_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
             6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
        );
    }

    #[test]
    fn verification() {
        let secret = "switch-client-secret-1";
        let body = br#"{"email":"a@b.co"}"#;
        let sum = checksum_for_secret(secret, body);
        let key = checksum_key(secret);
        assert!(verify(key.as_bytes(), body, &sum));
        assert!(verify(key.as_bytes(), body, &sum.to_uppercase()));
        assert!(!verify(key.as_bytes(), b"{}", &sum));
        assert!(!verify(key.as_bytes(), body, &sum[..126]));
        assert!(!verify(key.as_bytes(), body, "not hex"));
        assert!(!verify(b"other key", body, &sum));
        // The key is the digest, not the raw secret.
        assert!(!verify(secret.as_bytes(), body, &sum));
    }
}
