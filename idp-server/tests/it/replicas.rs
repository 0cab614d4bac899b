//! Scale-out: two `idp-server serve` *processes* (A and B) on one PostgreSQL schema and one
//! Redis, each with its own port and data dir — nothing in memory is shared, so whatever works
//! here works behind a load balancer. (The in-process replica tests of `idp-e2e` share one
//! address space; these would also catch state kept in a process-wide static.)

use reqwest::StatusCode;
use serde_json::json;

use crate::api::{self, PASSWORD, RS_ID, RS_SECRET, active, client, refresh, send, signin, signup};
use crate::cluster::{Replica, TestRedis};
use crate::support::fresh_postgres_schema;

/// A Redis, a fresh schema and replicas A and B on both, plus a confidential client that may
/// introspect; `None` (skipped) without PostgreSQL or Redis.
async fn pair() -> Option<(TestRedis, String, Replica, Replica)> {
    pair_with(&[]).await
}

/// [`pair`] with more environment for both replicas.
async fn pair_with(extra: &[(&str, &str)]) -> Option<(TestRedis, String, Replica, Replica)> {
    let redis = TestRedis::start().await?;
    let url = fresh_postgres_schema().await?;
    // One after the other: B finds A's migrations and signing keys.
    let a = Replica::start(&url, Some(&redis.url()), extra).await;
    let b = Replica::start(&url, Some(&redis.url()), extra).await;
    a.sandbox
        .run(&[
            "client",
            "create",
            "--id",
            RS_ID,
            "--secret",
            RS_SECRET,
            "--grant",
            "client_credentials",
        ])
        .ok();
    Some((redis, url, a, b))
}

/// Signs up `email` on `on`, and returns the sign-up code from `on`'s outbox with its id.
async fn sign_up_code(on: &Replica, email: &str) -> (String, String) {
    let (status, body) = signup(&client(), &on.base, email).await;
    assert_eq!(status, StatusCode::OK, "signup: {body}");
    let id = body["otp_request_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no otp_request_id: {body}"))
        .to_owned();
    let text = on.last_message_to(email)["body"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let code = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned();
    (id, code)
}

/// The `token=` of the newest link `on` sent to `to`.
fn link_token(on: &Replica, to: &str) -> String {
    let msg = on.last_message_to(to);
    let body = msg["body"].as_str().unwrap_or_default();
    let start = body
        .find("token=")
        .unwrap_or_else(|| panic!("no link in {msg}"))
        + "token=".len();
    body[start..]
        .split(|c: char| c.is_whitespace() || c == '&')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_codes_and_revocation_cross_replicas() {
    let Some((_redis, _url, a, b)) = pair().await else {
        return;
    };
    let c = client();
    let email = "cross@example.com";

    // A code sent by A is redeemed on B.
    let (id, code) = sign_up_code(&a, email).await;
    let (status, body) = send(
        c.post(b.url("/bioentrust/user/verify-email"))
            .json(&json!({ "otp_request_id": id, "otp": code })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "verify-email on B: {body}");
    let (access0, _) = api::tokens(&body);
    assert!(active(&c, &a.base, &access0).await);

    // Issued on A, revoked (signed out) on B: inactive on A at once.
    let (status, body) = signin(&c, &a.base, email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (access1, refresh1) = api::tokens(&body);
    assert!(
        active(&c, &b.base, &access1).await,
        "B does not know A's token"
    );
    let (status, body) = send(
        c.delete(b.url("/bioentrust/user/signout"))
            .bearer_auth(&refresh1),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "signout on B: {body}");
    assert!(
        !active(&c, &a.base, &access1).await,
        "revoked on B, active on A"
    );
    assert!(!active(&c, &b.base, &access1).await);
    let (status, _) = send(
        c.get(a.url("/bioentrust/user/protected"))
            .bearer_auth(&access1),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The other grant of the account is untouched.
    assert!(active(&c, &a.base, &access0).await);

    // Rotated on A, the spent token replayed on B: the family dies on both.
    let (status, body) = signin(&c, &b.base, email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, refresh2) = api::tokens(&body);
    let (status, body) = refresh(&c, &a.base, &refresh2).await;
    assert_eq!(status, StatusCode::OK, "refresh on A: {body}");
    let (access3, refresh3) = api::tokens(&body);
    assert!(active(&c, &b.base, &access3).await);
    let (status, body) = refresh(&c, &b.base, &refresh2).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replay on B: {body}");
    for replica in [&a, &b] {
        let (status, body) = refresh(&c, &replica.base, &refresh3).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{}: the family's newest token still refreshes after the replay: {body}",
            replica.base
        );
        assert!(
            !active(&c, &replica.base, &access3).await,
            "{}: the family's access token is still active",
            replica.base
        );
    }
    assert!(active(&c, &b.base, &access0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_and_links_cross_replicas() {
    let Some((_redis, _url, a, b)) = pair().await else {
        return;
    };
    let c = client();
    let email = "links@example.com";
    let (status, body) = signup(&c, &a.base, email).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Five failures split over A and B lock the account (default policy: 5).
    for (i, r) in [&a, &b, &a, &b, &a].into_iter().enumerate() {
        let (status, body) = signin(&c, &r.base, email, "Wrong-Horse-1!").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {}: {body}",
            i + 1
        );
        assert_eq!(
            body["error"],
            "Invalid login credentials",
            "attempt {}",
            i + 1
        );
    }
    for r in [&b, &a] {
        let (status, body) = signin(&c, &r.base, email, PASSWORD).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "Account is locked", "{}: {body}", r.base);
    }

    // The unlock link A emailed: confirmation page (and CSRF cookie) from A, unlock on B.
    let token = link_token(&a, email);
    let page = c
        // The token is `<uuid>.<hex>`: nothing to escape.
        .get(a.url(&format!("/unlock?token={token}")))
        .send()
        .await
        .expect("GET /unlock");
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("idp_csrf="))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no idp_csrf cookie: {:?}", page.headers()))
        .to_owned();
    let res = c
        .post(b.url("/unlock"))
        .header("cookie", format!("idp_csrf={csrf}"))
        .form(&[("token", token.as_str()), ("csrf", csrf.as_str())])
        .send()
        .await
        .expect("POST /unlock");
    let status = res.status();
    let html = res.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::OK, "unlock on B: {html}");
    assert!(html.contains("Your account is unlocked"), "{html}");
    let (status, body) = signin(&c, &a.base, email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "sign-in after unlock: {body}");

    // A reset link sent by B is spent on A; the new password works on B.
    let (status, body) = send(
        c.post(b.url("/bioentrust/user/forgot-password"))
            .json(&json!({ "email": email })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let reset = link_token(&b, email);
    let new_password = "N3w-Horse-Battery!";
    let (status, body) = send(
        c.post(a.url("/bioentrust/user/reset-password"))
            .bearer_auth(&reset)
            .json(&json!({ "password": new_password })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "reset on A: {body}");
    let (status, body) = send(
        c.post(b.url("/bioentrust/user/reset-password"))
            .bearer_auth(&reset)
            .json(&json!({ "password": "An0ther-Horse!!" })),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "reset link used twice: {body}"
    );
    let (status, body) = signin(&c, &b.base, email, new_password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = signin(&c, &b.base, email, PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A per-IP limit of 4 a minute is one budget for both replicas: the fifth call is refused
/// with 429 whichever replica it reaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_one_budget_for_both_replicas() {
    let Some((_redis, _url, a, b)) = pair_with(&[("IDP_SECURITY__RATE_PER_IP", "4")]).await else {
        return;
    };
    let c = client();
    let email = "budget@example.com";
    let (status, body) = signup(&c, &a.base, email).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for r in [&b, &a, &b] {
        let (status, body) = signin(&c, &r.base, email, "Wrong-Horse-1!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}: {body}", r.base);
    }
    for r in [&a, &b] {
        let res = c
            .post(r.url("/bioentrust/user/signin"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("signin");
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{}", r.base);
        assert!(res.headers().contains_key("retry-after"), "{}", r.base);
    }
}

/// The `kid` in a JWT's header.
fn kid(jwt: &str) -> String {
    use base64::Engine as _;
    let header = jwt.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap_or_else(|e| panic!("JWT header {header:?}: {e}"));
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JWT header JSON");
    v["kid"].as_str().expect("kid").to_owned()
}

/// `keys rotate` while A and B serve; A restarted (a rolling deploy) signs with the new key,
/// and B — which has not reloaded yet — verifies those tokens at once (unknown kid → reload).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotated_while_both_serve() {
    let Some((redis, url, a, b)) = pair().await else {
        return;
    };
    let c = client();
    let email = "keys@example.com";
    let (status, body) = signup(&c, &a.base, email).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = signin(&c, &a.base, email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (old_access, _) = api::tokens(&body);
    let old_kid = kid(&old_access);

    a.sandbox.run(&["keys", "rotate"]).ok();
    drop(a);
    let a2 = Replica::start(&url, Some(&redis.url()), &[]).await;
    let (status, body) = signin(&c, &a2.base, email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (new_access, new_refresh) = api::tokens(&body);
    let new_kid = kid(&new_access);
    assert_ne!(
        new_kid, old_kid,
        "the restarted replica signs with the old key"
    );

    let (status, body) = send(
        c.get(b.url("/bioentrust/user/protected"))
            .bearer_auth(&new_access),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "B refuses the new key's token: {body}"
    );
    assert!(active(&c, &b.base, &new_access).await);
    let jwks: serde_json::Value = c
        .get(b.url("/jwks"))
        .send()
        .await
        .expect("GET /jwks")
        .json()
        .await
        .expect("JWKS JSON");
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(kids.contains(&new_kid.as_str()), "{jwks}");
    assert!(
        kids.contains(&old_kid.as_str()),
        "old key unpublished too early: {jwks}"
    );

    // Tokens of the old key keep working on both; B's refresh of A2's grant works too.
    for r in [&a2, &b] {
        assert!(active(&c, &r.base, &old_access).await, "{}", r.base);
    }
    let (status, body) = refresh(&c, &b.base, &new_refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (from_b, _) = api::tokens(&body);
    assert!(active(&c, &a2.base, &from_b).await);
}

/// On PostgreSQL without Redis the counters are per process: the server says so at start, and
/// says nothing when Redis is configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warns_when_replicas_would_not_share_counters() {
    let Some(redis) = TestRedis::start().await else {
        return;
    };
    let Some(url) = fresh_postgres_schema().await else {
        return;
    };
    let warning = "IDP_REDIS_URL is not set";
    let alone = Replica::start(&url, None, &[]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !alone.server.output().contains(warning) {
        assert!(
            std::time::Instant::now() < deadline,
            "no warning about per-process counters\n{}",
            alone.server.output()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let shared = Replica::start(&url, Some(&redis.url()), &[]).await;
    let out = shared.server.output();
    assert!(out.contains("idp-server listening"), "{out}");
    assert!(!out.contains(warning), "{out}");
}
