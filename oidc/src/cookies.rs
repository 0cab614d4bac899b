//! The two cookies of the sign-in pages: the session and the CSRF token. Both HttpOnly,
//! SameSite=Lax, and Secure whenever the issuer is https.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};

pub const SESSION: &str = "idp_session";
pub const CSRF: &str = "idp_csrf";

/// The value of cookie `name`, if the request carries it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// `Set-Cookie` for a value living `max_age` seconds (0 deletes the cookie).
pub fn set(headers: &mut HeaderMap, name: &str, value: &str, max_age: i64, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    // Values are base64url, so the header always builds.
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(SET_COOKIE, v);
    }
}

/// The browser's CSRF token, or a new one, set (for an hour) on `out`.
pub fn csrf_token(headers: &HeaderMap, out: &mut HeaderMap, secure: bool) -> String {
    get(headers, CSRF).unwrap_or_else(|| {
        let c = idp_core::ops::tokens::new_secret();
        set(out, CSRF, &c, 3600, secure);
        c
    })
}

/// True when a form's `sent` token equals the browser's CSRF cookie (compared in constant time).
pub fn csrf_matches(headers: &HeaderMap, sent: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    let known = get(headers, CSRF).unwrap_or_default();
    let sent = sent.unwrap_or_default();
    !known.is_empty() && bool::from(known.as_bytes().ct_eq(sent.as_bytes()))
}
