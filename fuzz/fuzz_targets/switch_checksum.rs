//! The Switch payload checksum (`SWI-CS`): `idp_core::checksum::verify` takes the header value
//! and the raw body as they arrive. Invariants: no panic on any input; the right checksum (in
//! either case, with surrounding spaces) always verifies; a checksum for another body, or for
//! another key, never does.
#![no_main]

use idp_core::checksum::{hmac_sha512_hex, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Split the input into a key, a body and a header value.
    let (key, rest) = data.split_at(
        data.len()
            .min(usize::from(data.first().copied().unwrap_or(0) % 80)),
    );
    let mid = rest.len() / 2;
    let (body, given) = rest.split_at(mid);
    let given = String::from_utf8_lossy(given);

    // Arbitrary header values: only a panic would be a finding, but an arbitrary value that
    // verifies must really be the checksum.
    if verify(key, body, &given) {
        assert_eq!(
            given.trim().to_ascii_lowercase(),
            hmac_sha512_hex(key, body),
            "a value that is not the checksum verified"
        );
    }

    let right = hmac_sha512_hex(key, body);
    assert!(verify(key, body, &right));
    assert!(verify(
        key,
        body,
        &format!("  {}\t", right.to_ascii_uppercase())
    ));
    let mut other_body = body.to_vec();
    other_body.push(0);
    assert!(
        !verify(key, &other_body, &right),
        "checksum verified for another body"
    );
    let mut other_key = key.to_vec();
    other_key.push(b'k');
    assert!(
        !verify(&other_key, body, &right),
        "checksum verified under another key"
    );
    // A truncated checksum (a prefix of the right one) must not pass.
    assert!(!verify(key, body, &right[..right.len() - 2]));
});
