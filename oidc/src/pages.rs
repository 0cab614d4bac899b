//! Server-rendered pages: sign-in, second factor, consent, error, logout confirmation,
//! signed-out, unlock and authenticator enrolment. Plain HTML with inline styles and inline SVG:
//! no external assets, usable on a phone, every value escaped.

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
ul{padding-left:1.2rem}.qr svg{display:block;width:12rem;height:12rem;margin:1rem auto}\
code{word-break:break-all;background:#f4f5f7;padding:.2rem .3rem;border-radius:.2rem}";

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
    // No `form-action`: browsers apply it to the redirects that follow a form post too (Chromium
    // blocks the 303 to the client's redirect URI after sign-in, consent and logout), and the
    // pages have no scripts and escape everything they echo, so there is no injected form to stop.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
        ),
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

fn alert(message: Option<&str>) -> String {
    message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default()
}

/// What the second-factor page asks for.
pub enum FactorPrompt<'a> {
    /// A code sent by email or SMS, to this (masked) destination.
    Sent(Option<&'a str>),
    Authenticator,
    Pin,
    /// One of the account's security questions.
    Question(Option<&'a str>),
}

/// The second step of a sign-in: one input `code`. 401 when `message` tells of a failure.
pub fn mfa(
    action: &str,
    hidden_fields: &str,
    client_name: &str,
    prompt: &FactorPrompt<'_>,
    message: Option<&str>,
) -> Response {
    let (ask, label, input) = match prompt {
        FactorPrompt::Sent(to) => (
            match to {
                Some(to) => format!("Enter the 6-digit code we sent to {to}"),
                None => "Enter the 6-digit code we sent you".to_owned(),
            },
            "Code",
            "type=\"text\" inputmode=\"numeric\" pattern=\"[0-9]*\" maxlength=\"6\" autocomplete=\"one-time-code\"",
        ),
        FactorPrompt::Authenticator => (
            "Enter the code from your authenticator app".to_owned(),
            "Code",
            "type=\"text\" inputmode=\"numeric\" pattern=\"[0-9]*\" maxlength=\"6\" autocomplete=\"one-time-code\"",
        ),
        FactorPrompt::Pin => (
            "Enter your PIN".to_owned(),
            "PIN",
            "type=\"password\" inputmode=\"numeric\" autocomplete=\"off\"",
        ),
        FactorPrompt::Question(q) => (
            format!(
                "Answer your security question: {}",
                q.unwrap_or("(question unavailable)")
            ),
            "Answer",
            "type=\"password\" autocomplete=\"off\"",
        ),
    };
    let body = format!(
        "<p>to continue to <strong>{client}</strong></p>{msg}<p>{ask}</p>\
         <form method=\"post\" action=\"{action}\">{hidden_fields}\
         <input type=\"hidden\" name=\"action\" value=\"mfa\">\
         <label for=\"code\">{label}</label>\
         <input {input} id=\"code\" name=\"code\" required autofocus>\
         <button type=\"submit\">Continue</button></form>",
        client = esc(client_name),
        msg = alert(message),
        ask = esc(&ask),
        action = esc(action),
    );
    let status = if message.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    page(status, "Verify it's you", &body)
}

/// 429 with `Retry-After`.
pub fn rate_limited(retry_after_secs: u64) -> Response {
    let mut res = page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        &format!(
            "<p class=\"error\">Too many attempts. Please wait {retry_after_secs} seconds and try again.</p>"
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// 503: the database or the shared counters cannot be reached, or the server is overloaded.
pub fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again later",
        "<p class=\"error\">The service is busy. Please try again in a moment.</p>",
    )
}

/// A plain message page.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let class = if status.is_success() {
        ""
    } else {
        " class=\"error\""
    };
    page(status, title, &format!("<p{class}>{}</p>", esc(text)))
}

/// The landing page of an emailed unlock link: a button, never an unlock on GET (mail scanners
/// fetch links).
pub fn unlock_confirm(action: &str, hidden_fields: &str) -> Response {
    let body = format!(
        "<p>Unlock your account so that you can sign in again.</p>\
         <form method=\"post\" action=\"{}\">{hidden_fields}\
         <button type=\"submit\">Unlock my account</button></form>",
        esc(action)
    );
    page(StatusCode::OK, "Unlock your account", &body)
}

/// Authenticator enrolment: the QR code (inline SVG, trusted markup from the encoder), the
/// secret for manual entry and a form for the first code. 401 when `message` tells of a failure.
pub fn totp_enrol(
    action: &str,
    hidden_fields: &str,
    qr_svg: &str,
    secret: &str,
    message: Option<&str>,
) -> Response {
    let body = format!(
        "{msg}<p>Scan this QR code with your authenticator app, then enter the code it shows.</p>\
         <div class=\"qr\">{qr_svg}</div>\
         <p>Or enter this key by hand: <code id=\"secret\">{secret}</code></p>\
         <form method=\"post\" action=\"{action}\">{hidden_fields}\
         <input type=\"hidden\" name=\"action\" value=\"confirm\">\
         <label for=\"code\">Code</label>\
         <input type=\"text\" inputmode=\"numeric\" pattern=\"[0-9]*\" maxlength=\"6\" autocomplete=\"one-time-code\" id=\"code\" name=\"code\" required autofocus>\
         <button type=\"submit\">Confirm</button></form>",
        msg = alert(message),
        secret = esc(secret),
        action = esc(action),
    );
    let status = if message.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    page(status, "Set up an authenticator app", &body)
}

/// An authenticator is already enrolled: replacing it is a form post, never a GET.
pub fn totp_enrolled_already(action: &str, hidden_fields: &str, message: Option<&str>) -> Response {
    let msg = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "<p>An authenticator app is already set up for your account. To set up a new one \
         (which replaces it), enter a code from the current app.</p>{msg}\
         <form method=\"post\" action=\"{}\">{hidden_fields}\
         <label for=\"code\">Code from your current app</label>\
         <input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required>\
         <button type=\"submit\" name=\"action\" value=\"replace\">Set up a new app</button></form>",
        esc(action)
    );
    let status = if message.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    page(status, "Authenticator app", &body)
}
