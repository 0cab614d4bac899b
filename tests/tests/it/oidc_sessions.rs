//! The browser side of /authorize and /logout: sign-in page, single sign-on through the session
//! cookie, `prompt` and `max_age`, consent for third-party clients, CSRF on the forms, and
//! RP-initiated logout.

use std::time::Duration;

use idp_e2e::{TestServer, browser, cookieless_browser};
use reqwest::StatusCode;

use crate::oidc_util::*;

crate::oidc_both_stores!(
    prompt_none_without_session_is_login_required,
    single_sign_on_and_prompt_login,
    max_age_asks_for_a_fresh_sign_in,
    third_party_client_asks_for_consent,
    wrong_password_shows_the_page_again,
    forms_are_protected_against_csrf,
    pages_escape_what_they_echo,
    rp_initiated_logout,
    unregistered_post_logout_redirect_is_an_error_page,
    logout_without_hint_asks_first,
);

async fn prompt_none_without_session_is_login_required(server: &TestServer) {
    setup(server).await;
    let k = pkce();
    let mut req = AuthRequest::new(RP, RP_REDIRECT);
    req.pkce = Some(&k);
    req.prompt = Some("none");
    // The state comes back exactly, however odd.
    req.state = "a b&c=d/é?#%".into();
    let r = get(&browser(), &req.url(server)).await.redirect();
    r.assert_to_client(server, RP_REDIRECT, &req.state);
    r.assert_error("login_required");
}

async fn single_sign_on_and_prompt_login(server: &TestServer) {
    setup(server).await;
    let b = browser();
    let k = pkce();
    let mut req = AuthRequest::new(RP, RP_REDIRECT);
    req.pkce = Some(&k);

    // First visit: the sign-in page.
    let page = get(&b, &req.url(server)).await;
    page.assert_login_page();
    let r = sign_in(&b, &page, PASSWORD).await.redirect();
    r.assert_to_client(server, RP_REDIRECT, &req.state);
    exchange(server, RP_AUTH, &r.code(), RP_REDIRECT, Some(&k.verifier))
        .await
        .assert_ok();

    // Second visit with the same cookies: a code at once.
    let again = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    let page = get(&b, &again.url(server)).await;
    let r = page.redirect();
    r.assert_to_client(server, RP_REDIRECT, &again.state);
    exchange(server, RP_AUTH, &r.code(), RP_REDIRECT, Some(&k.verifier))
        .await
        .assert_ok();

    // Another client in the same browser: signed in there too.
    let k2 = pkce();
    let spa = AuthRequest {
        pkce: Some(&k2),
        ..AuthRequest::new(SPA, SPA_REDIRECT)
    };
    let r = get(&b, &spa.url(server)).await.redirect();
    r.assert_to_client(server, SPA_REDIRECT, &spa.state);
    exchange(
        server,
        SPA_AUTH,
        &r.code(),
        SPA_REDIRECT,
        Some(&k2.verifier),
    )
    .await
    .assert_ok();

    // prompt=none now succeeds silently.
    let silent = AuthRequest {
        pkce: Some(&k),
        prompt: Some("none"),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    let r = get(&b, &silent.url(server)).await.redirect();
    r.assert_to_client(server, RP_REDIRECT, &silent.state);
    r.code();

    // prompt=login shows the page again, and signing in there gives a code.
    let login = AuthRequest {
        pkce: Some(&k),
        prompt: Some("login"),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    let page = get(&b, &login.url(server)).await;
    page.assert_login_page();
    let r = sign_in(&b, &page, PASSWORD).await.redirect();
    r.assert_to_client(server, RP_REDIRECT, &login.state);
    r.code();

    // Another browser has no session.
    get(&browser(), &again.url(server))
        .await
        .assert_login_page();
}

async fn max_age_asks_for_a_fresh_sign_in(server: &TestServer) {
    setup(server).await;
    let b = browser();
    let k = pkce();
    let req = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    req.code(server, &b).await;
    // Generous max_age: the session is recent enough.
    let url = format!("{}&max_age=3600", req.url(server));
    get(&b, &url).await.redirect().code();
    // max_age=0 once a second has passed: sign in again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let url = format!("{}&max_age=0", req.url(server));
    let page = get(&b, &url).await;
    page.assert_login_page();
    let r = sign_in(&b, &page, PASSWORD).await.redirect();
    r.assert_to_client(server, RP_REDIRECT, &req.state);
    r.code();
}

async fn third_party_client_asks_for_consent(server: &TestServer) {
    setup(server).await;
    let b = browser();
    let third = ClientAuth::Basic(THIRD, THIRD_SECRET);
    let req = || AuthRequest::new(THIRD, THIRD_REDIRECT);

    // Signing in leads to the consent page, naming the client.
    let first = req();
    let page = get(&b, &first.url(server)).await;
    let consent = sign_in(&b, &page, PASSWORD).await;
    consent.assert_consent_page();
    assert!(consent.body.contains("Third Party Inc."), "{consent:?}");

    // Signed in but not consented: prompt=none cannot ask.
    let silent = AuthRequest {
        prompt: Some("none"),
        ..req()
    };
    let r = get(&b, &silent.url(server)).await.redirect();
    r.assert_to_client(server, THIRD_REDIRECT, &silent.state);
    r.assert_error("consent_required");

    // Deny: access_denied, back at the client.
    let denied = submit(&b, &consent.form(), &[("action", "deny")]).await;
    let r = denied.redirect();
    r.assert_to_client(server, THIRD_REDIRECT, &first.state);
    r.assert_error("access_denied");

    // Again (still signed in: straight to the consent page), and allow this time.
    let second = req();
    let page = get(&b, &second.url(server)).await;
    page.assert_consent_page();
    let r = submit(&b, &page.form(), &[("action", "consent")])
        .await
        .redirect();
    r.assert_to_client(server, THIRD_REDIRECT, &second.state);
    exchange(server, third, &r.code(), THIRD_REDIRECT, None)
        .await
        .assert_ok();

    // The consent is remembered.
    let third_time = req();
    let r = get(&b, &third_time.url(server)).await.redirect();
    r.assert_to_client(server, THIRD_REDIRECT, &third_time.state);
    r.code();

    // prompt=consent asks again.
    let ask = AuthRequest {
        prompt: Some("consent"),
        ..req()
    };
    get(&b, &ask.url(server)).await.assert_consent_page();

    // A scope beyond what was consented to asks again.
    let wider = AuthRequest {
        scope: "openid profile email phone",
        ..req()
    };
    let page = get(&b, &wider.url(server)).await;
    page.assert_consent_page();
    assert!(page.body.contains("phone number"), "{page:?}");

    // A first-party client never asks.
    let k = pkce();
    let rp = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    get(&b, &rp.url(server)).await.redirect().code();
}

async fn wrong_password_shows_the_page_again(server: &TestServer) {
    setup(server).await;
    let b = browser();
    let k = pkce();
    let req = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    let page = get(&b, &req.url(server)).await;
    let failed = sign_in(&b, &page, "Wrong-Password-1").await;
    failed.assert_error_page(StatusCode::UNAUTHORIZED);
    assert!(
        failed.body.contains("Wrong username or password"),
        "{failed:?}"
    );
    // The page offers the form again, the request still in it.
    let form = failed.form();
    assert_eq!(form.field("state"), Some(req.state.as_str()));
    assert_eq!(form.field("client_id"), Some(RP));

    // An unknown user reads exactly the same.
    let unknown = submit(&b, &form, &[("username", "nobody"), ("password", PASSWORD)]).await;
    unknown.assert_error_page(StatusCode::UNAUTHORIZED);
    assert!(
        unknown.body.contains("Wrong username or password"),
        "{unknown:?}"
    );

    // No session came of it.
    let silent = AuthRequest {
        pkce: Some(&k),
        prompt: Some("none"),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    get(&b, &silent.url(server))
        .await
        .redirect()
        .assert_error("login_required");

    // The right password on the re-shown page works.
    let r = submit(&b, &form, &[("username", USERNAME), ("password", PASSWORD)])
        .await
        .redirect();
    r.assert_to_client(server, RP_REDIRECT, &req.state);
    exchange(server, RP_AUTH, &r.code(), RP_REDIRECT, Some(&k.verifier))
        .await
        .assert_ok();
}

async fn forms_are_protected_against_csrf(server: &TestServer) {
    setup(server).await;
    let b = browser();
    let k = pkce();
    let req = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    let page = get(&b, &req.url(server)).await;
    page.assert_login_page();
    let form = page.form();
    let csrf = form.field("csrf").expect("csrf field").to_owned();
    assert!(csrf.len() >= 32, "weak csrf token {csrf:?}");
    let cookie = page.set_cookie("idp_csrf").expect("idp_csrf cookie set");
    assert!(cookie.starts_with(&format!("idp_csrf={csrf};")), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing: {cookie}");
    }
    let creds = [("username", USERNAME), ("password", PASSWORD)];

    // From somewhere without the cookie (a cross-site post).
    let p = submit(&cookieless_browser(), &form, &creds).await;
    p.assert_error_page(StatusCode::FORBIDDEN);
    // With the cookie but a wrong token.
    let p = submit(&b, &form, &[creds[0], creds[1], ("csrf", "forged-value")]).await;
    p.assert_error_page(StatusCode::FORBIDDEN);
    let p = submit(&b, &form, &[creds[0], creds[1], ("csrf", "")]).await;
    p.assert_error_page(StatusCode::FORBIDDEN);
    // With the cookie and no token at all.
    let mut fields = form.with(&creds);
    fields.retain(|(k, _)| k != "csrf");
    let p = post_form(&b, &form.action, &fields).await;
    p.assert_error_page(StatusCode::FORBIDDEN);

    // None of that signed anyone in; the genuine post does.
    let signed_in = submit(&b, &form, &creds).await;
    let cookie = signed_in
        .set_cookie("idp_session")
        .expect("idp_session cookie set");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing: {cookie}");
    }
    let r = signed_in.redirect();
    r.assert_to_client(server, RP_REDIRECT, &req.state);
    r.code();
}

async fn pages_escape_what_they_echo(server: &TestServer) {
    setup(server).await;
    let b = browser();
    let k = pkce();
    let evil = "\"><script>alert(1)</script><x y=\"";
    let req = AuthRequest {
        pkce: Some(&k),
        state: evil.into(),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    let url = format!(
        "{}&login_hint={}",
        req.url(server),
        url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
    );
    let page = get(&b, &url).await;
    page.assert_login_page();
    assert!(!page.body.contains("<script>"), "{page:?}");
    // The values survive the round trip through the form intact.
    let form = page.form();
    assert_eq!(form.field("state"), Some(evil));
    assert_eq!(form.field("login_hint"), Some(evil));
    let failed = sign_in(&b, &page, "Wrong-Password-1").await;
    assert!(!failed.body.contains("<script>"), "{failed:?}");
    let r = sign_in(&b, &page, PASSWORD).await.redirect();
    r.assert_to_client(server, RP_REDIRECT, evil);
}

/// Signs in through RP in `b` and returns the ID token.
async fn sign_in_for_id_token(server: &TestServer, b: &reqwest::Client) -> String {
    let k = pkce();
    let req = AuthRequest {
        pkce: Some(&k),
        nonce: Some("n-logout"),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    let code = req.code(server, b).await;
    let t = exchange(server, RP_AUTH, &code, RP_REDIRECT, Some(&k.verifier)).await;
    t.assert_ok();
    t.str("id_token")
}

/// An RP authorization request with prompt=none in `b`: the redirect.
async fn silent(server: &TestServer, b: &reqwest::Client) -> Redirect {
    let k = pkce();
    let req = AuthRequest {
        pkce: Some(&k),
        prompt: Some("none"),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    let r = get(b, &req.url(server)).await.redirect();
    r.assert_to_client(server, RP_REDIRECT, &req.state);
    r
}

fn logout_url(server: &TestServer, params: &[(&str, &str)]) -> String {
    url::Url::parse_with_params(&server.url("/logout"), params)
        .expect("logout URL")
        .to_string()
}

async fn rp_initiated_logout(server: &TestServer) {
    setup(server).await;
    let b = browser();
    let id_token = sign_in_for_id_token(server, &b).await;
    silent(server, &b).await.code();

    let page = get(
        &b,
        &logout_url(
            server,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", RP_LOGGED_OUT),
                ("state", "bye-123"),
            ],
        ),
    )
    .await;
    let r = page.redirect();
    assert_eq!(r.target, RP_LOGGED_OUT, "{r:?}");
    assert_eq!(r.param("state"), Some("bye-123"), "{r:?}");

    silent(server, &b).await.assert_error("login_required");
    // The sign-in page is back.
    let k = pkce();
    let req = AuthRequest {
        pkce: Some(&k),
        ..AuthRequest::new(RP, RP_REDIRECT)
    };
    get(&b, &req.url(server)).await.assert_login_page();
}

async fn unregistered_post_logout_redirect_is_an_error_page(server: &TestServer) {
    setup(server).await;
    let b = browser();
    let id_token = sign_in_for_id_token(server, &b).await;
    for params in [
        vec![
            ("id_token_hint", id_token.as_str()),
            (
                "post_logout_redirect_uri",
                "https://evil.example/logged-out",
            ),
            ("state", "s"),
        ],
        vec![
            ("client_id", RP),
            (
                "post_logout_redirect_uri",
                "https://evil.example/logged-out",
            ),
        ],
        // Registered for RP, but nothing says which client is asking.
        vec![("post_logout_redirect_uri", RP_LOGGED_OUT)],
        // Registered for RP, not for the client named.
        vec![
            ("client_id", SPA),
            ("post_logout_redirect_uri", RP_LOGGED_OUT),
        ],
        // A hint that is not an ID token of ours.
        vec![
            ("id_token_hint", "eyJhbGciOiJub25lIn0.e30."),
            ("post_logout_redirect_uri", RP_LOGGED_OUT),
        ],
    ] {
        let page = get(&b, &logout_url(server, &params)).await;
        page.assert_error_page(StatusCode::BAD_REQUEST);
    }
    // Still signed in.
    silent(server, &b).await.code();
}

async fn logout_without_hint_asks_first(server: &TestServer) {
    setup(server).await;
    let b = browser();
    sign_in_for_id_token(server, &b).await;

    let page = get(&b, &server.url("/logout")).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    let form = page.form();
    assert!(form.field("csrf").is_some(), "{page:?}");
    // Showing the page ended nothing.
    silent(server, &b).await.code();

    // A forged confirmation is refused.
    let p = submit(&b, &form, &[("csrf", "forged-value")]).await;
    p.assert_error_page(StatusCode::FORBIDDEN);
    silent(server, &b).await.code();

    let done = submit(&b, &form, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{done:?}");
    assert!(done.location.is_none(), "{done:?}");
    silent(server, &b).await.assert_error("login_required");
}
