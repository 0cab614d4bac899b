//! PKCE (oxide-auth's primitive, as the core configures it: S256 only, `plain` refused) and
//! redirect-URI validation (`idp_core::validate::redirect_uri`), on arbitrary strings.
//! Invariants: no panic; `plain` and unknown methods are refused; an S256 challenge accepts its
//! own verifier and no other; a redirect URI that passes is an absolute hierarchical http(s)-style
//! URL without a fragment and is returned unchanged.
#![no_main]

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use oxide_auth::code_grant::extensions::Pkce;
use sha2::{Digest, Sha256};

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut pieces = text.splitn(3, '\n');
    let method = pieces.next().unwrap_or_default();
    let challenge = pieces.next().unwrap_or_default();
    let verifier = pieces.next().unwrap_or_default();

    // Redirect URIs: whatever passes must really be what the rule says.
    for raw in [method, challenge, verifier, text.as_ref()] {
        if let Ok(uri) = idp_core::validate::redirect_uri(raw) {
            assert_eq!(uri, raw);
            let parsed = url::Url::parse(raw).expect("a valid redirect URI parses");
            assert!(parsed.fragment().is_none() && !parsed.cannot_be_a_base());
        }
    }

    for pkce in [Pkce::required(), Pkce::optional()] {
        let res = pkce.challenge(Some(Cow::Borrowed(method)), Some(Cow::Borrowed(challenge)));
        if method != "S256" {
            assert!(res.is_err(), "method {method:?} accepted");
            continue;
        }
        let Ok(Some(stored)) = res else { continue };
        let right = challenge == s256(verifier);
        let verdict = pkce.verify(Some(stored), Some(Cow::Borrowed(verifier)));
        assert_eq!(
            verdict.is_ok(),
            right,
            "verifier {verifier:?} against {challenge:?}"
        );
    }

    // A challenge made from the input as verifier always accepts it, and refuses a changed one.
    let pkce = Pkce::required();
    let stored = pkce
        .challenge(Some(Cow::Borrowed("S256")), Some(Cow::Owned(s256(&text))))
        .expect("S256 challenge")
        .expect("stored challenge");
    assert!(
        pkce.verify(Some(stored.clone()), Some(Cow::Borrowed(text.as_ref())))
            .is_ok()
    );
    let other = format!("{text}x");
    assert!(pkce.verify(Some(stored), Some(Cow::Owned(other))).is_err());
});
