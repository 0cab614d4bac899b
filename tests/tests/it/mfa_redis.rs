//! Redis as the shared counters of several replicas, and what an outage of it does. Needs
//! `IDP_TEST_REDIS_URL` (skipped with a notice without it, fails under CI) and, for the replica
//! tests, `IDP_TEST_POSTGRES_URL`. Every test starts its own `redis-server`
//! ([`idp_e2e::TestRedis`]), so no test sees another's counters.
//!
//! The replicas share one PostgreSQL schema and one Redis, and one issuer (the default one, as
//! behind a load balancer): pages are posted to each replica's own address.

use idp_core::model::{AccountStatus, MfaPolicy};
use idp_e2e::{TestRedis, TestServer, browser, fresh_postgres_schema, start_on_database};
use reqwest::StatusCode;
use serde_json::Value;

use crate::mfa::{assert_mfa_claims, id_token_claims, password_step, redeem, set_mfa_policy};
use crate::mfa_limits::LOCKED;
use crate::oidc_util::*;

/// A test Redis and two replicas A and B on one fresh schema, both counting in that Redis;
/// `None` (skipped) without Redis or PostgreSQL.
async fn replicas(
    tweak: impl Fn(&mut idp_config::Config),
) -> Option<(TestRedis, TestServer, TestServer)> {
    let redis = TestRedis::start().await?;
    let url = fresh_postgres_schema().await?;
    let config = |c: &mut idp_config::Config| {
        c.redis_url = Some(redis.url());
        tweak(c);
    };
    // One after the other: B finds A's signing keys.
    let a = start_on_database(&url, config).await;
    let b = start_on_database(&url, config).await;
    for s in [&a, &b] {
        let ready: Value = idp_e2e::http()
            .get(s.url("/readyz"))
            .send()
            .await
            .expect("readyz")
            .json()
            .await
            .expect("JSON");
        assert_eq!(ready["status"], "ready", "{ready}");
        assert_eq!(ready["checks"]["limiter"]["kind"], "redis", "{ready}");
    }
    Some((redis, a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_sign_ins_on_two_replicas_lock_at_the_threshold() {
    let Some((_redis, a, b)) = replicas(|_| {}).await else {
        return;
    };
    let f = setup(&a).await;
    let browser = browser();
    for (i, server) in [&a, &b, &a, &b, &a].into_iter().enumerate() {
        let login = password_step(server, &browser, USERNAME, "Wrong-Password-1").await;
        assert_eq!(
            login.page.status,
            StatusCode::UNAUTHORIZED,
            "attempt {}",
            i + 1
        );
        assert!(
            login.page.body.contains("Wrong username or password."),
            "attempt {}: {:?}",
            i + 1,
            login.page
        );
    }
    for server in [&b, &a] {
        let login = password_step(server, &browser, USERNAME, PASSWORD).await;
        assert!(login.page.body.contains(LOCKED), "{:?}", login.page);
    }
    let account = b
        .running
        .app
        .idp
        .account(f.account_id)
        .await
        .expect("account");
    assert_eq!(account.status, AccountStatus::Locked);
    for server in [a, b] {
        server.stop().await.expect("graceful stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_are_shared_by_replicas() {
    let Some((_redis, a, b)) = replicas(|c| c.security.rate_per_ip = 3).await else {
        return;
    };
    setup(&a).await;
    let browser = browser();
    for _ in 0..3 {
        let login = password_step(&a, &browser, USERNAME, "Wrong-Password-1").await;
        assert_eq!(
            login.page.status,
            StatusCode::UNAUTHORIZED,
            "{:?}",
            login.page
        );
    }
    let login = password_step(&b, &browser, USERNAME, PASSWORD).await;
    login.page.assert_error_page(StatusCode::TOO_MANY_REQUESTS);
    assert!(
        login.page.header("retry-after").is_some(),
        "{:?}",
        login.page
    );
    for server in [a, b] {
        server.stop().await.expect("graceful stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn code_page_from_one_replica_completes_on_the_other() {
    let Some((_redis, a, b)) = replicas(|_| {}).await else {
        return;
    };
    setup(&a).await;
    set_mfa_policy(&a, MfaPolicy::EmailOtp).await;
    let browser = browser();
    let login = password_step(&a, &browser, USERNAME, PASSWORD).await;
    assert_eq!(login.page.status, StatusCode::OK, "{:?}", login.page);
    assert!(login.page.body.contains("we sent to"), "{:?}", login.page);
    let code = a.last_message_to(EMAIL).code();
    let fields = login.page.form().with(&[("code", &code)]);
    let done = post_form(&browser, &b.url("/authorize"), &fields).await;
    let tokens = redeem(&b, &login, &done).await;
    assert_mfa_claims(&id_token_claims(&tokens), &["otp"]);
    for server in [a, b] {
        server.stop().await.expect("graceful stop");
    }
}

async fn readyz(server: &TestServer) -> (StatusCode, Value) {
    let res = idp_e2e::http()
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("GET /readyz");
    (res.status(), res.json().await.expect("JSON"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_closed_and_recovers() {
    let Some(mut redis) = TestRedis::start().await else {
        return;
    };
    let url = redis.url();
    let server = idp_e2e::start_oidc_sqlite_with(|c| c.redis_url = Some(url)).await;
    setup(&server).await;
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["checks"]["limiter"]["state"], "ok", "{body}");

    let b = browser();
    let req = AuthRequest::new(RP, RP_REDIRECT);
    let page = get(&b, &req.url(&server)).await;
    page.assert_login_page();
    let fields = page
        .form()
        .with(&[("username", USERNAME), ("password", PASSWORD)]);

    redis.kill();
    let down = post_form(&b, &server.url("/authorize"), &fields).await;
    down.assert_error_page(StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.set_cookie("idp_session").is_none(), "{down:?}");
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_ne!(body["checks"]["limiter"]["state"], "ok", "{body}");
    assert_eq!(body["checks"]["database"]["state"], "ok", "{body}");

    redis.restart().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let back = loop {
        let page = post_form(&b, &server.url("/authorize"), &fields).await;
        if page.status == StatusCode::SEE_OTHER {
            break page;
        }
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{page:?}");
        assert!(
            std::time::Instant::now() < deadline,
            "sign-in still failing 15 s after Redis came back: {page:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    let r = back.redirect();
    r.assert_to_client(&server, RP_REDIRECT, &req.state);
    exchange(&server, RP_AUTH, &r.code(), RP_REDIRECT, None)
        .await
        .assert_ok();
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.stop().await.expect("graceful stop");
}
