//! Races through the public HTTP surfaces: many requests released at the same moment against one
//! refresh token, one email or username, one role assignment, one one-time code. Each test
//! checks that exactly the promised number of requests win, that the losers get a clear 4xx in
//! their surface's envelope (never a 5xx), and what the state is afterwards.

use idp_core::Context;
use idp_core::model::AccountKey;
use idp_core::ops::Registration;
use idp_e2e::{Answer, TestServer, all_at_once, http};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::oidc_util::{
    RP_AUTH, assert_inactive, assert_invalid_token, introspect, refresh, rp_tokens, setup, userinfo,
};

/// Rate limits out of the way: the races are about the store, not the limiter.
pub fn unthrottled(config: &mut idp_config::Config) {
    config.security.rate_per_ip = 1_000_000;
    config.security.rate_per_account = 1_000_000;
    config.security.rate_per_client = 1_000_000;
}

crate::oidc_both_stores!(
    tweak = super::unthrottled;
    hundred_refreshes_of_one_token,
    refreshes_race_on_an_adapter_too,
    one_email_one_account_per_surface,
    concurrent_role_assignment_and_removal,
    one_code_one_sign_in,
    parallel_wrong_codes_get_exactly_the_allowed_tries,
);

/// 100 refreshes of one refresh token at once: one rotation wins; every other request is a
/// reuse of a spent token (or meets the family already revoked), so the family is revoked and
/// the winner's new tokens die with it (README: "Presenting a spent one revokes its whole
/// family").
async fn hundred_refreshes_of_one_token(server: &TestServer) {
    setup(server).await;
    let first = rp_tokens(server).await;
    let original_access = first.str("access_token");
    let token = first.str("refresh_token");
    let replies = all_at_once(100, |_| {
        let (server_url, token) = (server.base_url.clone(), token.clone());
        async move { refresh_at(&server_url, &token).await }
    })
    .await;
    let winners: Vec<&Answer> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins: {replies:?}");
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
        assert_eq!(r.json["error"], "invalid_grant", "{r:?}");
    }
    let winner = winners[0];
    let new_access = winner.json["access_token"].as_str().expect("access_token");
    let new_refresh = winner.json["refresh_token"]
        .as_str()
        .expect("refresh_token");
    assert_ne!(new_refresh, token);
    // The losers were reuses: the whole family is revoked, the winner's new tokens included.
    assert_inactive(&introspect(server, new_access).await);
    assert_inactive(&introspect(server, new_refresh).await);
    assert_inactive(&introspect(server, &original_access).await);
    assert_invalid_token(&userinfo(server, new_access).await);
    refresh(server, RP_AUTH, new_refresh)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

/// The same race through BioEntrust's `GET /user/refresh`: one new pair, the rest refused in
/// the surface's words, and the family revoked by the reuses.
async fn refreshes_race_on_an_adapter_too(server: &TestServer) {
    setup(server).await;
    let email = "bio.refresh@example.com";
    let r = post_json(
        server.base_url.clone(),
        "/bioentrust/user/signup".into(),
        json!({ "first_name": "Bio", "last_name": "Racer", "email": email, "password": "Bio-Entrust-2024" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let request_id = r.json["otp_request_id"].as_str().expect("otp_request_id");
    let code = server.last_message_to(email).code();
    let r = post_json(
        server.base_url.clone(),
        "/bioentrust/user/verify-email".into(),
        json!({ "otp": code, "otp_request_id": request_id }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let token = r.json["token"]["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let refresh = |token: String| {
        let req = http()
            .get(server.url("/bioentrust/user/refresh"))
            .bearer_auth(token);
        Answer::of(req)
    };
    let replies = all_at_once(50, |_| refresh(token.clone())).await;
    one_winner(
        "bioentrust refresh",
        &replies,
        StatusCode::OK,
        StatusCode::UNAUTHORIZED,
    );
    let spent = json!({ "error": "Invalid or expired refresh token" });
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(r.json, spent, "{r:?}");
    }
    let winner = replies
        .iter()
        .find(|r| r.status == StatusCode::OK)
        .expect("winner");
    let next = winner.json["token"]["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let access = winner.json["token"]["access"]
        .as_str()
        .expect("access")
        .to_owned();
    let r = refresh(next.clone()).await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::UNAUTHORIZED, &spent),
        "{r:?}"
    );
    assert_inactive(&introspect(server, &access).await);
    assert_inactive(&introspect(server, &next).await);
}

/// The refresh grant as RP, on a fresh connection.
async fn refresh_at(base_url: &str, token: &str) -> Answer {
    Answer::of(
        http()
            .post(format!("{base_url}/token"))
            .basic_auth(crate::oidc_util::RP, Some(crate::oidc_util::RP_SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)]),
    )
    .await
}

/// A POST of `body` as JSON to `base_url` + `path`.
async fn post_json(base_url: String, path: String, body: Value) -> Answer {
    Answer::of(http().post(format!("{base_url}{path}")).json(&body)).await
}

/// Exactly one answer is `winner`; every other one is `loser` (never a 5xx).
#[track_caller]
fn one_winner(what: &str, replies: &[Answer], winner: StatusCode, loser: StatusCode) {
    let won = replies.iter().filter(|r| r.status == winner).count();
    assert_eq!(won, 1, "{what}: exactly one {winner}: {replies:?}");
    for r in replies.iter().filter(|r| r.status != winner) {
        assert_eq!(r.status, loser, "{what}: {r:?}");
    }
}

/// Concurrent sign-ups of one email (and of one username) on Fintract and BioEntrust:
/// one account each time, the rest refused in the surface's own words.
async fn one_email_one_account_per_surface(server: &TestServer) {
    const N: usize = 20;
    let base = server.base_url.clone();
    // Fintract: one email, twenty usernames; then one username, twenty emails.
    let fintract = |username: String, email: String, phone: String| {
        post_json(
            base.clone(),
            "/fintract/auth/register/".into(),
            json!({
                "username": username, "email": email, "name": "Racer",
                "user_type": "developer", "phone": phone, "gender": "male",
                "password": "johnDoe@#2024", "password2": "johnDoe@#2024",
            }),
        )
    };
    let replies = all_at_once(N, |i| {
        fintract(
            format!("racer{i}"),
            "same@example.com".into(),
            format!("+23480100000{i:02}"),
        )
    })
    .await;
    one_winner(
        "fintract email",
        &replies,
        StatusCode::CREATED,
        StatusCode::BAD_REQUEST,
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(
            r.json,
            json!({ "detail": "A user with this email already exists." }),
            "{r:?}"
        );
    }
    let replies = all_at_once(N, |i| {
        fintract(
            "samename".into(),
            format!("u{i}@example.com"),
            format!("+23480200000{i:02}"),
        )
    })
    .await;
    one_winner(
        "fintract username",
        &replies,
        StatusCode::CREATED,
        StatusCode::BAD_REQUEST,
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_eq!(
            r.json,
            json!({ "detail": "A user with this username already exists." }),
            "{r:?}"
        );
    }

    // BioEntrust: one email (its username too), twenty sign-ups by twenty people (different
    // passwords: a repeat with the same password is a retry that sends a new code, see
    // `bioentrust::repeated_signup_sends_a_new_code`).
    let replies = all_at_once(N, |i| {
        post_json(
            base.clone(),
            "/bioentrust/user/signup".into(),
            json!({
                "first_name": "Bio", "last_name": "Racer",
                "email": "bio.same@example.com", "password": format!("Bio-Entrust-2024-{i}"),
            }),
        )
    })
    .await;
    one_winner(
        "bioentrust email",
        &replies,
        StatusCode::OK,
        StatusCode::CONFLICT,
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(
            r.json,
            json!({ "error": "Email address already in use" }),
            "{r:?}"
        );
    }

    // The core agrees: one account per contested value.
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("default tenant");
    for login in ["same@example.com", "samename", "bio.same@example.com"] {
        let found = idp
            .find_account(tenant.id, AccountKey::Login(login.into()))
            .await
            .expect("lookup");
        assert!(found.is_some(), "{login} was registered");
    }
}

/// One tenant for the Fintiv calls: an admin with every entitlement (signed in), a consumer
/// `racer` (role CONSUMER), a role SHOPPER to race over and an api-key.
pub struct FintivTenant {
    pub name: String,
    pub key: String,
    pub admin_token: String,
    pub consumer_id: String,
}

pub const FINTIV_PASSWORD: &str = "Test1234!";

pub async fn fintiv_tenant(server: &TestServer, name: &str) -> FintivTenant {
    let idp = &server.running.app.idp;
    let sys = Context::system();
    let (t, key) = crate::fintiv::program(server, name).await;
    idp.create_role(&sys, t.id, "SHOPPER", None, &[])
        .await
        .expect("shopper role");
    let admin = format!("{}admin", name.to_lowercase());
    for (username, roles) in [
        (admin.as_str(), vec!["ADMIN".to_owned()]),
        ("racer", vec![]),
    ] {
        idp.register(
            &sys,
            t.id,
            Registration {
                username: username.into(),
                password: Some(FINTIV_PASSWORD.into()),
                roles,
                ..Registration::default()
            },
        )
        .await
        .expect("account");
    }
    let consumer = idp
        .find_account(t.id, AccountKey::Username("racer".into()))
        .await
        .expect("lookup")
        .expect("consumer");
    let r = Answer::of(
        http()
            .post(server.url("/fintiv/auth/oauth/token"))
            .header("api-key", &key)
            .form(&[
                ("grant_type", "password"),
                ("username", admin.as_str()),
                ("password", FINTIV_PASSWORD),
            ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    FintivTenant {
        name: name.into(),
        key,
        admin_token: r.json["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        consumer_id: consumer.id.to_string(),
    }
}

/// The role endpoint of Fintiv, as the tenant's admin.
fn role_call(
    server: &TestServer,
    t: &FintivTenant,
    method: reqwest::Method,
) -> impl std::future::Future<Output = Answer> + Send + 'static {
    let req = http()
        .request(method, server.url("/fintiv/auth/admin/client/person/role"))
        .header("api-key", &t.key)
        .header("tenantName", &t.name)
        .bearer_auth(&t.admin_token)
        .json(&json!({ "roleName": "SHOPPER", "uuid": t.consumer_id }));
    Answer::of(req)
}

/// How many times the consumer holds SHOPPER, as the API lists it.
async fn shopper_count(server: &TestServer, t: &FintivTenant) -> usize {
    let r = role_call(server, t, reqwest::Method::GET).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // The list is filtered by the roleName of the request.
    r.json["responseData"].as_array().expect("role list").len()
}

#[track_caller]
fn fintiv_status(r: &Answer, allowed: &[(StatusCode, &str)]) {
    let code = r.json["contextResponse"]["statusCode"]
        .as_str()
        .unwrap_or_default();
    assert!(
        allowed.iter().any(|(s, c)| *s == r.status && *c == code),
        "expected one of {allowed:?}: {r:?}"
    );
}

/// Assigning and removing one role many times at once: the assignment exists once or not at
/// all, every answer is SUCCESS or NOT_FOUND (removing what is already gone), never a 5xx.
async fn concurrent_role_assignment_and_removal(server: &TestServer) {
    let t = fintiv_tenant(server, "RACE").await;
    let ok = (StatusCode::OK, "SUCCESS");
    let gone = (StatusCode::NOT_FOUND, "NOT_FOUND");

    // Twenty assignments at once: all succeed (assigning is idempotent), one assignment.
    let replies = all_at_once(20, |_| role_call(server, &t, reqwest::Method::POST)).await;
    for r in &replies {
        fintiv_status(r, &[ok]);
    }
    assert_eq!(shopper_count(server, &t).await, 1);

    // Twenty removals at once: exactly one removes it, the others find nothing to remove.
    let replies = all_at_once(20, |_| role_call(server, &t, reqwest::Method::DELETE)).await;
    for r in &replies {
        fintiv_status(r, &[ok, gone]);
    }
    let removed = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(removed, 1, "{replies:?}");
    assert_eq!(shopper_count(server, &t).await, 0);

    // Both at once, interleaved: whatever the order, held at most once, and the API, the core
    // and the next removal agree on the outcome.
    let replies = all_at_once(40, |i| {
        let method = if i % 2 == 0 {
            reqwest::Method::POST
        } else {
            reqwest::Method::DELETE
        };
        role_call(server, &t, method)
    })
    .await;
    for r in &replies {
        fintiv_status(r, &[ok, gone]);
    }
    let held = shopper_count(server, &t).await;
    assert!(held <= 1, "held {held} times");
    let idp = &server.running.app.idp;
    let id = t.consumer_id.parse().expect("uuid");
    let core_held = idp
        .account_roles(&Context::system(), id)
        .await
        .expect("roles")
        .iter()
        .filter(|a| a.role.name == "SHOPPER")
        .count();
    assert_eq!(core_held, held);
    let last = role_call(server, &t, reqwest::Method::DELETE).await;
    if held == 1 {
        fintiv_status(&last, &[ok]);
    } else {
        fintiv_status(&last, &[gone]);
    }
    assert_eq!(shopper_count(server, &t).await, 0);
}

const FINTRACT_PASSWORD: &str = "johnDoe@#2024";

/// Registers a Fintract developer and starts a sign-in with an emailed code: (challenge id,
/// code).
async fn fintract_challenge(server: &TestServer, n: u32) -> (i64, String) {
    let email = format!("otp.racer{n}@example.com");
    let r = post_json(
        server.base_url.clone(),
        "/fintract/auth/register/".into(),
        json!({
            "username": format!("otpracer{n}"), "email": email, "name": "Racer",
            "user_type": "developer", "phone": format!("+2348030000{n:03}"), "gender": "male",
            "password": FINTRACT_PASSWORD, "password2": FINTRACT_PASSWORD,
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let r = post_json(
        server.base_url.clone(),
        "/fintract/auth/login/".into(),
        json!({ "email": email, "otpType": "Email", "password": FINTRACT_PASSWORD }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let id = r.json["data"]["id"].as_i64().expect("data.id");
    (id, server.last_message_to(&email).code())
}

fn verify_code(
    server: &TestServer,
    id: i64,
    code: &str,
) -> impl Future<Output = Answer> + Send + 'static {
    post_json(
        server.base_url.clone(),
        format!("/fintract/auth/login/{id}/"),
        json!({ "otp": code }),
    )
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

const CLOSED: &str = "OTP expired, already used or never requested; log in again";

/// Twenty submissions of the right code at once: one sign-in, the rest told the code is spent.
async fn one_code_one_sign_in(server: &TestServer) {
    let (id, code) = fintract_challenge(server, 1).await;
    let replies = all_at_once(20, |_| verify_code(server, id, &code)).await;
    one_winner(
        "right code",
        &replies,
        StatusCode::OK,
        StatusCode::UNAUTHORIZED,
    );
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(r.json, json!({ "detail": CLOSED }), "{r:?}");
    }
    let winner = replies
        .iter()
        .find(|r| r.status == StatusCode::OK)
        .expect("winner");
    assert!(winner.json["tokens"]["access"].is_string(), "{winner:?}");
}

/// The code allows five tries (`otp_max_attempts`). Four wrong guesses in parallel leave the
/// fifth try, which the right code wins; five wrong guesses in parallel use them all up, and
/// twenty in parallel do not get more than five checked.
async fn parallel_wrong_codes_get_exactly_the_allowed_tries(server: &TestServer) {
    let tries = server.running.app.config.security.otp_max_attempts as usize;
    assert_eq!(tries, 5, "the test assumes the default");

    let (id, code) = fintract_challenge(server, 2).await;
    let replies = all_at_once(tries - 1, |_| verify_code(server, id, wrong(&code))).await;
    for r in &replies {
        assert_eq!(r.json, json!({ "detail": "Invalid OTP" }), "{r:?}");
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    }
    let r = verify_code(server, id, &code).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the last try is still there: {r:?}"
    );

    let (id, code) = fintract_challenge(server, 3).await;
    let replies = all_at_once(tries, |_| verify_code(server, id, wrong(&code))).await;
    for r in &replies {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    }
    let r = verify_code(server, id, &code).await;
    assert_eq!(
        (r.status, &r.json),
        (StatusCode::UNAUTHORIZED, &json!({ "detail": CLOSED })),
        "no sixth try: {r:?}"
    );

    // A burst far over the limit: no more than five wrong codes are checked, and the right
    // code afterwards finds the tries used up.
    let (id, code) = fintract_challenge(server, 4).await;
    let mut replies = all_at_once(20, |_| verify_code(server, id, wrong(&code))).await;
    let right = verify_code(server, id, &code).await;
    assert_eq!(right.json, json!({ "detail": CLOSED }), "{right:?}");
    replies.push(right);
    let checked = replies
        .iter()
        .filter(|r| r.json == json!({ "detail": "Invalid OTP" }))
        .count();
    assert!(
        checked <= tries,
        "{checked} wrong codes were checked: {replies:?}"
    );
    for r in &replies {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    }
}
