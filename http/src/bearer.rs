//! The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), for every surface.

use axum::http::{HeaderMap, header};

/// The bearer token, if the request carries a non-empty one (scheme matched case-insensitively).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("header"),
        );
        h
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(super::bearer(&with("Bearer abc")), Some("abc"));
        assert_eq!(super::bearer(&with("bearer  abc ")), Some("abc"));
        assert_eq!(super::bearer(&with("Basic abc")), None);
        assert_eq!(super::bearer(&with("Bearer ")), None);
        assert_eq!(super::bearer(&HeaderMap::new()), None);
    }
}
