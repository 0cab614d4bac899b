//! Sign-in with a second factor through the OIDC pages: codes by email and SMS (read from the
//! server's file outbox), an authenticator app enrolled at `/account/mfa`, and a PIN. The ID
//! token of a two-step sign-in says so (`amr` has `mfa`, `acr` is `mfa`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::Context;
use idp_core::model::{FactorKind, MfaPolicy};
use idp_core::ops::{Registration, TenantUpdate};
use idp_e2e::{TestServer, browser, cookieless_browser};
use reqwest::StatusCode;
use serde_json::Value;

use crate::oidc_util::*;

crate::oidc_both_stores!(
    email_code_completes_the_sign_in,
    email_code_tries_run_out,
    pending_sign_in_is_bound_to_its_client,
    sms_code_goes_to_the_phone,
    authenticator_app_enrolment_and_sign_in,
    account_mfa_needs_a_session,
    pin_as_second_factor,
    security_answer_as_second_factor,
);

// ---------------------------------------------------------------------------------------------
// Helpers (also used by mfa_limits and mfa_redis)
// ---------------------------------------------------------------------------------------------

/// Sets the default tenant's MFA policy.
pub async fn set_mfa_policy(server: &TestServer, policy: MfaPolicy) {
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("default tenant");
    let mut settings = tenant.settings.clone();
    settings.mfa_policy = policy;
    idp.update_tenant(
        &Context::system(),
        tenant.id,
        TenantUpdate {
            settings: Some(settings),
            ..TenantUpdate::default()
        },
    )
    .await
    .expect("update tenant");
}

/// The second-factor page with `status`, asking with `says`.
#[track_caller]
pub fn assert_mfa_page(page: &Page, status: StatusCode, says: &str) {
    assert_eq!(page.status, status, "not the MFA page: {page:?}");
    assert!(page.location.is_none(), "{page:?}");
    assert!(page.content_type.starts_with("text/html"), "{page:?}");
    assert_eq!(page.header("cache-control"), Some("no-store"), "{page:?}");
    assert!(
        page.body.contains("name=\"code\"") && !page.body.contains("name=\"password\""),
        "no code field: {page:?}"
    );
    let form = page.form();
    assert_eq!(form.field("action"), Some("mfa"), "{page:?}");
    assert!(
        form.field("pending").is_some_and(|p| !p.is_empty()),
        "{page:?}"
    );
    assert!(page.body.contains(says), "expected {says:?}: {page:?}");
}

/// The sign-in page again, with `message` (401).
#[track_caller]
pub fn assert_login_again(page: &Page, message: &str) {
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{page:?}");
    assert!(page.body.contains("name=\"password\""), "{page:?}");
    assert!(
        page.body.contains(message),
        "expected {message:?}: {page:?}"
    );
}

/// A 6-digit code that is not `code`.
pub fn not(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

/// The claims of the token response's ID token (signature checked elsewhere).
#[track_caller]
pub fn id_token_claims(r: &Reply) -> Value {
    let id_token = r.str("id_token");
    let payload = id_token.split('.').nth(1).expect("JWS payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// `amr` contains each of `methods`, and `acr` is `mfa`.
#[track_caller]
pub fn assert_mfa_claims(claims: &Value, methods: &[&str]) {
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .unwrap_or_else(|| panic!("no amr: {claims}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for m in methods.iter().chain(&["pwd", "mfa"]) {
        assert!(amr.contains(m), "amr lacks {m}: {claims}");
    }
    assert_eq!(claims["acr"], "mfa", "{claims}");
}

/// An authorization request of RP (PKCE) on its way: the state and verifier, and the page the
/// password step led to.
pub struct Login {
    pub state: String,
    pub verifier: String,
    pub page: Page,
}

/// Opens RP's authorization request in `b` (at `server`'s address) and submits the sign-in
/// form there with `username` and `password`.
pub async fn password_step(
    server: &TestServer,
    b: &reqwest::Client,
    username: &str,
    password: &str,
) -> Login {
    let k = pkce();
    let req = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    let page = get(b, &req.url(server)).await;
    page.assert_login_page();
    let fields = page
        .form()
        .with(&[("username", username), ("password", password)]);
    // Posted to this server, whatever the form's action (replicas share another issuer).
    let page = post_form(b, &server.url("/authorize"), &fields).await;
    Login {
        state: req.state.clone(),
        verifier: k.verifier.clone(),
        page,
    }
}

/// Submits the second-factor `page` (its own form) with `code` to `server`.
pub async fn code_step(server: &TestServer, b: &reqwest::Client, page: &Page, code: &str) -> Page {
    let fields = page.form().with(&[("code", code)]);
    post_form(b, &server.url("/authorize"), &fields).await
}

/// The redirect back to RP after the last step: its code redeemed at `server`.
pub async fn redeem(server: &TestServer, login: &Login, last: &Page) -> Reply {
    let r = last.redirect();
    assert_eq!(r.target, RP_REDIRECT, "{r:?}");
    assert_eq!(r.param("state"), Some(login.state.as_str()), "{r:?}");
    let reply = exchange(
        server,
        RP_AUTH,
        &r.code(),
        RP_REDIRECT,
        Some(&login.verifier),
    )
    .await;
    reply.assert_ok();
    reply
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

async fn email_code_completes_the_sign_in(server: &TestServer) {
    setup(server).await;
    set_mfa_policy(server, MfaPolicy::EmailOtp).await;
    let b = browser();
    let login = password_step(server, &b, USERNAME, PASSWORD).await;
    assert_mfa_page(
        &login.page,
        StatusCode::OK,
        "Enter the 6-digit code we sent to a***@example.com",
    );
    // No session yet: the password alone signs nobody in.
    assert!(
        login.page.set_cookie("idp_session").is_none(),
        "{:?}",
        login.page
    );
    let sent = server.last_message_to(EMAIL);
    assert_eq!(sent.channel, "email", "{sent:?}");
    let code = sent.code();

    // A wrong code: the page again, 401, with the same pending sign-in.
    let wrong = code_step(server, &b, &login.page, not(&code)).await;
    assert_mfa_page(
        &wrong,
        StatusCode::UNAUTHORIZED,
        "Enter the 6-digit code we sent to a***@example.com",
    );
    assert!(wrong.body.contains("That code is not right"), "{wrong:?}");
    assert_eq!(
        wrong.form().field("pending"),
        login.page.form().field("pending")
    );

    // The right one: the code flow goes on.
    let done = code_step(server, &b, &wrong, &code).await;
    assert!(done.set_cookie("idp_session").is_some(), "{done:?}");
    let tokens = redeem(server, &login, &done).await;
    assert_mfa_claims(&id_token_claims(&tokens), &["otp"]);

    // The session remembers how it was started: single sign-on keeps acr=mfa.
    let k = pkce();
    let again = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    let r = get(&b, &again.url(server)).await.redirect();
    r.assert_to_client(server, RP_REDIRECT, &again.state);
    let tokens = exchange(server, RP_AUTH, &r.code(), RP_REDIRECT, Some(&k.verifier)).await;
    tokens.assert_ok();
    assert_mfa_claims(&id_token_claims(&tokens), &["otp"]);

    // The code was spent: replaying the last form starts over.
    let replay = code_step(server, &b, &wrong, &code).await;
    assert_login_again(&replay, "The code has expired");

    // Discovery advertises the acr value.
    let meta: Value = idp_e2e::http()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("JSON");
    assert_eq!(meta["acr_values_supported"], serde_json::json!(["mfa"]));
}

async fn email_code_tries_run_out(server: &TestServer) {
    setup(server).await;
    set_mfa_policy(server, MfaPolicy::EmailOtp).await;
    let b = browser();
    let login = password_step(server, &b, USERNAME, PASSWORD).await;
    assert_mfa_page(&login.page, StatusCode::OK, "we sent to");
    let code = server.last_message_to(EMAIL).code();
    let mut page = login.page;
    for attempt in 1..=5 {
        page = code_step(server, &b, &page, not(&code)).await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "try {attempt}: {page:?}"
        );
        assert!(
            page.body.contains("name=\"code\""),
            "try {attempt}: {page:?}"
        );
    }
    // The sixth try, even with the right code: the challenge is closed.
    let sixth = code_step(server, &b, &page, &code).await;
    assert_login_again(
        &sixth,
        "The code has expired or was tried too often. Please sign in again.",
    );
    assert!(sixth.set_cookie("idp_session").is_none(), "{sixth:?}");
}

async fn pending_sign_in_is_bound_to_its_client(server: &TestServer) {
    setup(server).await;
    set_mfa_policy(server, MfaPolicy::EmailOtp).await;
    let b = browser();
    let login = password_step(server, &b, USERNAME, PASSWORD).await;
    assert_mfa_page(&login.page, StatusCode::OK, "we sent to");
    let code = server.last_message_to(EMAIL).code();
    // The same page posted as another client (same redirect URI): refused before the code is
    // looked at.
    let fields = login
        .page
        .form()
        .with(&[("client_id", OTHER), ("code", &code)]);
    let other = post_form(&b, &server.url("/authorize"), &fields).await;
    assert_login_again(&other, "The code has expired");
    // A forged pending token: the same.
    let forged = login
        .page
        .form()
        .with(&[("pending", "eyJhbGciOiJub25lIn0.e30."), ("code", &code)]);
    let forged = post_form(&b, &server.url("/authorize"), &forged).await;
    assert_login_again(&forged, "The code has expired");
    // The genuine one still works.
    let done = code_step(server, &b, &login.page, &code).await;
    redeem(server, &login, &done).await;
}

async fn sms_code_goes_to_the_phone(server: &TestServer) {
    setup(server).await;
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    let phone = "+2348000000001";
    idp.register(
        &Context::system(),
        tenant.id,
        Registration {
            username: "bob".into(),
            phone: Some(phone.into()),
            password: Some(PASSWORD.into()),
            phone_verified: true,
            ..Registration::default()
        },
    )
    .await
    .expect("register bob");
    set_mfa_policy(server, MfaPolicy::SmsOtp).await;
    let b = browser();
    let login = password_step(server, &b, "bob", PASSWORD).await;
    assert_mfa_page(
        &login.page,
        StatusCode::OK,
        "Enter the 6-digit code we sent to ***01",
    );
    let sent = server.last_message_to(phone);
    assert_eq!(sent.channel, "sms", "{sent:?}");
    let done = code_step(server, &b, &login.page, &sent.code()).await;
    let tokens = redeem(server, &login, &done).await;
    assert_mfa_claims(&id_token_claims(&tokens), &["otp"]);
}

/// The current code of an authenticator app with `secret`, `steps_ahead` periods from now.
/// The current TOTP time step (30 s).
fn step_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        / 30
}

/// The code of time step `step`.
fn code_at_step(secret: &str, step: u64) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("base32 secret"))
        .build()
        .expect("TOTP");
    totp.generate(step * 30).to_string()
}

/// The code of the time step `steps` away from now (negative: past steps).
fn totp_code(secret: &str, steps: i64) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("base32 secret"))
        .build()
        .expect("TOTP");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    totp.generate(now.saturating_add_signed(30 * steps))
        .to_string()
}

async fn authenticator_app_enrolment_and_sign_in(server: &TestServer) {
    setup(server).await;
    // Signed in with the password alone (no policy, nothing enrolled).
    let b = browser();
    let login = password_step(server, &b, USERNAME, PASSWORD).await;
    let tokens = redeem(server, &login, &login.page).await;
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]), "{claims}");
    assert!(claims.get("acr").is_none_or(Value::is_null), "{claims}");

    // The enrolment page: a QR code as inline SVG, the secret, a form.
    let page = get(&b, &server.url("/account/mfa")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert!(page.body.contains("<svg"), "no QR code: {page:?}");
    assert!(!page.body.contains("<img"), "{page:?}");
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let form = page.form();
    let secret = form.field("secret").expect("secret field").to_owned();
    assert!(
        page.body
            .contains(&format!("<code id=\"secret\">{secret}</code>")),
        "the secret is shown for manual entry: {page:?}"
    );
    assert!(
        form.field("uri")
            .is_some_and(|u| u.starts_with("otpauth://totp/")),
        "{form:?}"
    );

    // Without the CSRF token: refused.
    let no_csrf = post_form(
        &b,
        &server.url("/account/mfa"),
        &[("code".to_owned(), totp_code(&secret, 0))],
    )
    .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN, "{no_csrf:?}");

    // A wrong code: the same enrolment again, 401.
    let right_now = totp_code(&secret, 0);
    let wrong = post_form(
        &b,
        &server.url("/account/mfa"),
        &form.with(&[("code", not(&right_now))]),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
    assert!(wrong.body.contains("That code is not right"), "{wrong:?}");
    assert_eq!(wrong.form().field("secret"), Some(secret.as_str()));

    // The right code confirms it.
    let confirm_step = step_now();
    let done = post_form(
        &b,
        &server.url("/account/mfa"),
        &wrong
            .form()
            .with(&[("code", &code_at_step(&secret, confirm_step))]),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{done:?}");
    assert!(done.body.contains("Authenticator enrolled"), "{done:?}");

    // Visiting the page again does not reset the enrolled app: it only offers a form.
    let again = get(&b, &server.url("/account/mfa")).await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert!(again.body.contains("already set up"), "{again:?}");
    assert!(!again.body.contains("<svg"), "{again:?}");

    // A fresh sign-in now asks for the app's code (the next period's: the current one was
    // spent on the confirmation), and takes it once.
    let b2 = browser();
    let login = password_step(server, &b2, USERNAME, PASSWORD).await;
    assert_mfa_page(
        &login.page,
        StatusCode::OK,
        "Enter the code from your authenticator app",
    );
    let signin_step = step_now() + 1;
    let code = code_at_step(&secret, signin_step);
    let done = code_step(server, &b2, &login.page, &code).await;
    let tokens = redeem(server, &login, &done).await;
    assert_mfa_claims(&id_token_claims(&tokens), &["otp"]);

    // The same code in another sign-in: refused (each period's code is good once).
    let b3 = browser();
    let login = password_step(server, &b3, USERNAME, PASSWORD).await;
    assert_mfa_page(&login.page, StatusCode::OK, "authenticator app");
    let replay = code_step(server, &b3, &login.page, &code).await;
    assert_mfa_page(
        &replay,
        StatusCode::UNAUTHORIZED,
        "Enter the code from your authenticator app",
    );

    // Replacing the app takes a code from the current one: a wrong code is refused...
    let refused = submit(
        &b,
        &again.form(),
        &[("action", "replace"), ("code", "000000")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{refused:?}");
    // ...a current one gives a new secret to scan.
    // (A step within the accepted ±1 of now that was not spent above.)
    let now = step_now();
    let unused = [now - 1, now, now + 1]
        .into_iter()
        .find(|s| *s != confirm_step && *s != signin_step);
    let current = code_at_step(&secret, unused.expect("an unspent step"));
    let replaced = submit(
        &b,
        &again.form(),
        &[("action", "replace"), ("code", &current)],
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{replaced:?}");
    assert!(replaced.body.contains("<svg"), "{replaced:?}");
    let new_secret = replaced.form().field("secret").expect("secret").to_owned();
    assert_ne!(new_secret, secret);
}

async fn account_mfa_needs_a_session(server: &TestServer) {
    setup(server).await;
    let anon = cookieless_browser();
    let page = get(&anon, &server.url("/account/mfa")).await;
    page.assert_error_page(StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("Sign in"), "{page:?}");
    assert!(!page.body.contains("<a "), "link-free: {page:?}");
    let post = post_form(
        &anon,
        &server.url("/account/mfa"),
        &[("code".to_owned(), "123456".to_owned())],
    )
    .await;
    post.assert_error_page(StatusCode::UNAUTHORIZED);
    // A made-up session cookie is no session either.
    let res = idp_e2e::http()
        .get(server.url("/account/mfa"))
        .header("cookie", "idp_session=bogus")
        .send()
        .await
        .expect("GET /account/mfa");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn pin_as_second_factor(server: &TestServer) {
    let f = setup(server).await;
    let idp = &server.running.app.idp;
    let ctx = Context::system();
    idp.set_pin(&ctx, f.account_id, None, "4821")
        .await
        .expect("set PIN");
    idp.choose_factor(&ctx, f.account_id, Some(FactorKind::Pin))
        .await
        .expect("choose PIN");
    let b = browser();
    let login = password_step(server, &b, USERNAME, PASSWORD).await;
    assert_mfa_page(&login.page, StatusCode::OK, "Enter your PIN");
    assert!(
        login
            .page
            .body
            .contains("type=\"password\" inputmode=\"numeric\""),
        "the PIN is masked: {:?}",
        login.page
    );
    let wrong = code_step(server, &b, &login.page, "1234").await;
    assert_mfa_page(&wrong, StatusCode::UNAUTHORIZED, "Enter your PIN");
    let done = code_step(server, &b, &wrong, "4821").await;
    let tokens = redeem(server, &login, &done).await;
    assert_mfa_claims(&id_token_claims(&tokens), &["pin"]);
}

async fn security_answer_as_second_factor(server: &TestServer) {
    let f = setup(server).await;
    let idp = &server.running.app.idp;
    let ctx = Context::system();
    let tenant = idp.tenant("default").await.expect("tenant");
    let q = idp
        .create_question(&ctx, tenant.id, "Name of your first school?")
        .await
        .expect("question");
    idp.set_answer(&ctx, f.account_id, q.id, "Hillside")
        .await
        .expect("answer");
    idp.choose_factor(&ctx, f.account_id, Some(FactorKind::SecurityAnswer))
        .await
        .expect("choose");
    let b = browser();
    let login = password_step(server, &b, USERNAME, PASSWORD).await;
    assert_mfa_page(&login.page, StatusCode::OK, "Name of your first school?");
    let wrong = code_step(server, &b, &login.page, "Riverside").await;
    assert_mfa_page(
        &wrong,
        StatusCode::UNAUTHORIZED,
        "Name of your first school?",
    );
    // Answers compare without regard to case and spacing.
    let done = code_step(server, &b, &wrong, "  hillside ").await;
    let tokens = redeem(server, &login, &done).await;
    assert_mfa_claims(&id_token_claims(&tokens), &["kba"]);
}
