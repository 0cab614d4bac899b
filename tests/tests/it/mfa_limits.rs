//! Lockout and rate limits as the browser and the clients see them: five wrong passwords lock
//! the account and email an unlock link (a page with a button, never an unlock on GET), and too
//! many attempts per IP (sign-in forms) or per client (/token) answer 429 with `Retry-After`;
//! behind a trusted proxy the per-IP budget is the forwarded client's.

use idp_core::model::AccountStatus;
use idp_e2e::{TestServer, browser};
use reqwest::StatusCode;

use crate::mfa::{Login, password_step, redeem};
use crate::oidc_util::*;

crate::oidc_both_stores!(lockout_and_unlock_link);

crate::oidc_both_stores!(
    tweak = |c: &mut idp_config::Config| c.security.rate_per_ip = 3;
    sign_in_posts_are_limited_per_ip
);

crate::oidc_both_stores!(
    tweak = |c: &mut idp_config::Config| c.security.rate_per_client = 2;
    token_requests_are_limited_per_client
);

crate::oidc_both_stores!(
    tweak = |c: &mut idp_config::Config| {
        c.security.rate_per_ip = 3;
        c.http.trusted_proxies = vec!["127.0.0.1".into()];
    };
    behind_a_trusted_proxy_each_client_address_has_its_budget
);

crate::oidc_both_stores!(
    tweak = |c: &mut idp_config::Config| c.security.rate_per_ip = 3;
    a_forwarded_address_from_an_untrusted_peer_is_ignored
);

pub const LOCKED: &str = "This account is locked.";

async fn status(server: &TestServer, f: &Fixture) -> AccountStatus {
    server
        .running
        .app
        .idp
        .account(f.account_id)
        .await
        .expect("account")
        .status
}

async fn lockout_and_unlock_link(server: &TestServer) {
    let f = setup(server).await;
    let b = browser();
    for attempt in 1..=5 {
        let login = password_step(server, &b, USERNAME, "Wrong-Password-1").await;
        assert_eq!(login.page.status, StatusCode::UNAUTHORIZED, "{attempt}");
        assert!(
            login.page.body.contains("Wrong username or password."),
            "{attempt}: {:?}",
            login.page
        );
    }
    // The right password now only learns that the account is locked.
    let login = password_step(server, &b, USERNAME, PASSWORD).await;
    assert_eq!(
        login.page.status,
        StatusCode::UNAUTHORIZED,
        "{:?}",
        login.page
    );
    assert!(login.page.body.contains(LOCKED), "{:?}", login.page);
    assert_eq!(status(server, &f).await, AccountStatus::Locked);

    // The unlock link went to the account's address.
    let mail = server.last_message_to(EMAIL);
    assert_eq!(mail.channel, "email", "{mail:?}");
    let link = mail.link();
    assert!(
        link.starts_with(&server.url("/unlock?token=")),
        "{link} does not point at {}",
        server.url("/unlock")
    );

    // Opening it (as a mail scanner would, too) shows a button and changes nothing.
    let opener = browser();
    let page = get(&opener, &link).await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    let form = page.form();
    assert_eq!(form.field("token"), Some(mail.link_token().as_str()));
    assert!(form.field("csrf").is_some(), "{form:?}");
    assert_eq!(status(server, &f).await, AccountStatus::Locked);

    // The form post without its CSRF token: refused, still locked.
    let forged = post_form(
        &opener,
        &server.url("/unlock"),
        &[("token".to_owned(), mail.link_token())],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{forged:?}");
    assert_eq!(status(server, &f).await, AccountStatus::Locked);

    // The button unlocks.
    let done = submit(&opener, &form, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{done:?}");
    assert!(done.body.contains("Your account is unlocked"), "{done:?}");
    assert_eq!(status(server, &f).await, AccountStatus::Active);

    // Used once: the link is no longer valid; neither is a made-up one or none.
    let again = submit(&opener, &form, &[]).await;
    again.assert_error_page(StatusCode::BAD_REQUEST);
    assert!(
        again.body.contains("This link is no longer valid."),
        "{again:?}"
    );
    let made_up = submit(&opener, &form, &[("token", "not-a-token")]).await;
    made_up.assert_error_page(StatusCode::BAD_REQUEST);
    get(&opener, &server.url("/unlock"))
        .await
        .assert_error_page(StatusCode::BAD_REQUEST);

    // Signing in works again (the failures were forgotten).
    let login: Login = password_step(server, &b, USERNAME, PASSWORD).await;
    redeem(server, &login, &login.page).await;
}

async fn sign_in_posts_are_limited_per_ip(server: &TestServer) {
    setup(server).await;
    let b = browser();
    for attempt in 1..=3 {
        let login = password_step(server, &b, USERNAME, "Wrong-Password-1").await;
        assert_eq!(login.page.status, StatusCode::UNAUTHORIZED, "{attempt}");
    }
    // The fourth post in the minute, even with the right password and from another browser.
    let login = password_step(server, &browser(), USERNAME, PASSWORD).await;
    login.page.assert_error_page(StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = login
        .page
        .header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", login.page))
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    // Pages are not limited, only the posts.
    let req = AuthRequest::new(RP, RP_REDIRECT);
    get(&b, &req.url(server)).await.assert_login_page();
}

async fn token_requests_are_limited_per_client(server: &TestServer) {
    setup(server).await;
    let svc = ClientAuth::Basic(SVC, SVC_SECRET);
    let cc = [("grant_type", "client_credentials")];
    for _ in 0..2 {
        token(server, svc, &cc).await.assert_ok();
    }
    let third = token(server, svc, &cc).await;
    third.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = third
        .header(reqwest::header::RETRY_AFTER)
        .unwrap_or_else(|| panic!("no Retry-After: {third:?}"))
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        third.header(reqwest::header::CACHE_CONTROL),
        Some("no-store")
    );
    // Introspection and revocation spend the same budget.
    let r = client_post(
        server,
        "/introspect",
        ClientAuth::Basic(SVC, SVC_SECRET),
        &[("token", "x")],
    )
    .await;
    r.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // The budget is the client's: another client is not limited.
    let other = token(server, RP_AUTH, &cc).await;
    assert_ne!(other.status, StatusCode::TOO_MANY_REQUESTS, "{other:?}");
    // A client that fails to authenticate spends nothing and learns nothing about limits.
    let bad = token(server, ClientAuth::Basic(SVC, "wrong"), &cc).await;
    bad.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

/// A BioEntrust sign-in (an unknown account: 401 while within the budget) from `forwarded_for`.
async fn signin_from(server: &TestServer, forwarded_for: &str) -> StatusCode {
    reqwest::Client::new()
        .post(server.url("/bioentrust/user/signin"))
        .header("x-forwarded-for", forwarded_for)
        .json(&serde_json::json!({ "email": "nobody@example.com", "password": "Wrong-1-pass" }))
        .send()
        .await
        .expect("sign-in request")
        .status()
}

/// The test client is on 127.0.0.1, here a trusted proxy: each forwarded address spends its own
/// per-IP budget, and a forged entry left of the proxy's is not the one believed.
async fn behind_a_trusted_proxy_each_client_address_has_its_budget(server: &TestServer) {
    for attempt in 1..=3 {
        let status = signin_from(server, "203.0.113.1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{attempt}");
    }
    assert_eq!(
        signin_from(server, "203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The same client, pretending to be another one in front of the proxy's entry: still it.
    assert_eq!(
        signin_from(server, "198.51.100.9, 203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy has a budget of its own.
    assert_eq!(
        signin_from(server, "203.0.113.2").await,
        StatusCode::UNAUTHORIZED
    );
}

/// Without trusted proxies the header is the client's own word: every request from this peer
/// spends one budget whatever it claims.
async fn a_forwarded_address_from_an_untrusted_peer_is_ignored(server: &TestServer) {
    for (attempt, claimed) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            signin_from(server, claimed).await,
            StatusCode::UNAUTHORIZED,
            "{attempt}"
        );
    }
    assert_eq!(
        signin_from(server, "203.0.113.4").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
