//! Server-rendered pages: sign-in, consent, error, logout confirmation and signed-out. Plain
//! HTML with inline styles: no external assets, usable on a phone, every value escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:1rem;color:#1d2330}\
main{max-width:26rem;margin:2rem auto;background:#fff;border-radius:.5rem;padding:1.5rem;box-shadow:0 1px 3px #0002}\
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .3rem}\
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #bbc;border-radius:.3rem}\
button{margin-top:1rem;padding:.6rem 1rem;font-size:1rem;border:0;border-radius:.3rem;background:#2457c5;color:#fff;cursor:pointer}\
button.secondary{background:#e4e6eb;color:#1d2330;margin-left:.5rem}.error{color:#b00020;background:#fdecee;padding:.6rem;border-radius:.3rem}\
ul{padding-left:1.2rem}";

/// A whole page. Pages are never cached and may not be framed (clickjacking).
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t}</title><style>{STYLE}</style></head><body><main><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title)
    );
    let mut res = (status, Html(html)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
    res
}

/// Hidden inputs carrying the authorization request through a form post.
pub fn hidden(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect()
}

/// Status and message for a form body that could not be read: 413 for an oversized body, 415
/// for another content type, 400 otherwise. The message never echoes the body.
pub fn form_rejection(e: &axum::extract::rejection::FormRejection) -> (StatusCode, String) {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is too large.".into(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected a form body (Content-Type: application/x-www-form-urlencoded).".into(),
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "The form body could not be read.".into(),
        ),
    }
}

pub fn error(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Sign-in error",
        &format!("<p class=\"error\">{}</p>", esc(message)),
    )
}

pub fn login(
    action: &str,
    hidden_fields: &str,
    client_name: &str,
    login_hint: &str,
    message: Option<&str>,
) -> Response {
    let msg = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "<p>to continue to <strong>{client}</strong></p>{msg}\
         <form method=\"post\" action=\"{action}\">{hidden_fields}\
         <input type=\"hidden\" name=\"action\" value=\"login\">\
         <label for=\"username\">Username or email</label>\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{hint}\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>",
        client = esc(client_name),
        action = esc(action),
        hint = esc(login_hint),
    );
    let status = if message.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    page(status, "Sign in", &body)
}

pub fn consent(
    action: &str,
    hidden_fields: &str,
    client_name: &str,
    scopes: &[String],
) -> Response {
    let items: String = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", esc(describe_scope(s))))
        .collect();
    let body = format!(
        "<p><strong>{client}</strong> asks to:</p><ul>{items}</ul>\
         <form method=\"post\" action=\"{action}\">{hidden_fields}\
         <button type=\"submit\" name=\"action\" value=\"consent\">Allow</button>\
         <button type=\"submit\" name=\"action\" value=\"deny\" class=\"secondary\">Deny</button></form>",
        client = esc(client_name),
        action = esc(action),
    );
    page(StatusCode::OK, "Allow access?", &body)
}

pub fn logout_confirm(action: &str, hidden_fields: &str) -> Response {
    let body = format!(
        "<p>Do you want to sign out?</p><form method=\"post\" action=\"{}\">{hidden_fields}\
         <button type=\"submit\">Sign out</button></form>",
        esc(action)
    );
    page(StatusCode::OK, "Sign out", &body)
}

pub fn logged_out() -> Response {
    page(
        StatusCode::OK,
        "Signed out",
        "<p>You have been signed out. You may close this window.</p>",
    )
}

fn describe_scope(scope: &str) -> &str {
    match scope {
        "openid" => "confirm who you are",
        "profile" => "see your name and profile",
        "email" => "see your email address",
        "phone" => "see your phone number",
        "address" => "see your address",
        "offline_access" => "stay signed in when you are away",
        other => other,
    }
}
