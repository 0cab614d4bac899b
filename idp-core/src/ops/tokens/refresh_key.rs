//! Refresh tokens and the key the store files them under.
//!
//! A refresh token is `<minted ms, 12 hex digits>.<256 random bits, base64url>`, and its key is
//! the same time prefix followed by the SHA-256 digest of the whole token. Keys therefore sort by
//! minting time, so each rotation adds its index entry at the end of the index (a hot page that
//! is written back once per checkpoint) instead of on a random leaf of an index that grows with
//! the number of live grants. The digest still carries all of the key's secrecy: the prefix
//! only tells the holder when the token was minted, which the holder knows anyway.
//!
//! Tokens minted before this format (no prefix) keep the bare digest as their key, so they stay
//! valid until they are rotated or expire.

use super::random_secret;
use crate::model::Timestamp;
use crate::secrets;

/// Hex digits of the minting time in milliseconds: enough until the year 10889.
const PREFIX_LEN: usize = 12;

/// A new refresh token minted at `at`, and its store key.
pub(crate) fn mint(at: Timestamp) -> (String, String) {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let token = format!("{ms:0PREFIX_LEN$x}.{}", random_secret());
    let key = key_of(&token);
    (token, key)
}

/// The store key of a presented refresh token (which may be anything a caller sent).
pub(crate) fn key_of(token: &str) -> String {
    match time_prefix(token) {
        Some(prefix) => format!("{prefix}.{}", secrets::digest(token)),
        None => secrets::digest(token),
    }
}

fn time_prefix(token: &str) -> Option<&str> {
    let (prefix, rest) = token.split_once('.')?;
    let hex = prefix.len() == PREFIX_LEN
        && prefix
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (hex && !rest.is_empty()).then_some(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn keys_sort_by_minting_time_and_carry_the_digest() {
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let (first, first_key) = mint(at);
        let (second, second_key) = mint(at + Duration::milliseconds(1));
        assert_eq!(first_key, key_of(&first));
        assert!(first_key < second_key, "{first_key} !< {second_key}");
        assert!(first_key.ends_with(&secrets::digest(&first)));
        assert!(first.starts_with(&format!("{:012x}.", at.timestamp_millis())));
        assert_ne!(first, second);
        // A wrong secret behind a valid prefix gives another key.
        let forged = format!("{}x", &first[..first.len() - 1]);
        assert_ne!(key_of(&forged), first_key);
    }

    #[test]
    fn tokens_without_a_time_prefix_keep_the_bare_digest() {
        let legacy = random_secret();
        assert_eq!(key_of(&legacy), secrets::digest(&legacy));
        for odd in [
            "",
            ".",
            "0123456789ab.",
            "0123456789AB.x",
            "123.x",
            "zzzzzzzzzzzz.x",
        ] {
            assert_eq!(key_of(odd), secrets::digest(odd), "{odd:?}");
        }
    }
}
