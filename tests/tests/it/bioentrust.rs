//! The BioEntrust-style surface (`/bioentrust/...`, specs/bioentrust-user.txt): every endpoint
//! with the documented shapes, the natural failures, and its tokens at the OIDC endpoints.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::Context;
use idp_core::model::{GrantType, MfaPolicy};
use idp_core::ops::{NewClient, Registration, TenantUpdate};
use idp_e2e::{TestServer, http};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use crate::both_stores;

both_stores!(
    walk_every_endpoint,
    refresh_rotation_and_signout,
    password_reset,
    unreadable_requests,
    signup_refusals,
    bearer_failures,
    tokens_work_at_oidc_endpoints,
    signin_with_second_factor,
);

crate::oidc_both_stores!(
    tweak = |c: &mut idp_config::Config| c.security.otp_resend_secs = 1;
    repeated_signup_sends_a_new_code
);

const PREFIX: &str = "/bioentrust";
const PASSWORD: &str = "Bio-Entrust-2024";
const NEW_PASSWORD: &str = "New-Secret-2025";

/// A reply: status, headers and JSON body.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Reply {
    #[track_caller]
    fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string {key}: {self:?}"))
            .to_owned()
    }

    /// `token.access` and `token.refresh`.
    #[track_caller]
    fn tokens(&self) -> (String, String) {
        let t = &self.body["token"];
        match (t["access"].as_str(), t["refresh"].as_str()) {
            (Some(a), Some(r)) => (a.to_owned(), r.to_owned()),
            _ => panic!("no token pair: {self:?}"),
        }
    }

    /// The answer is `status` with exactly `body`.
    #[track_caller]
    fn is(&self, status: StatusCode, body: Value) {
        assert_eq!((self.status, &self.body), (status, &body), "{self:?}");
    }

    /// The answer is `status` with `{"error": message}`.
    #[track_caller]
    fn error(&self, status: StatusCode, message: &str) {
        self.is(status, json!({ "error": message }));
    }
}

async fn reply(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.expect("request");
    let status = res.status();
    let headers = res.headers().clone();
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await.expect("body");
    assert!(
        ct.starts_with("application/json"),
        "{status}: content-type {ct:?}: {text}"
    );
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text}: {e}"));
    Reply {
        status,
        headers,
        body,
    }
}

fn url(server: &TestServer, path: &str) -> String {
    server.url(&format!("{PREFIX}{path}"))
}

async fn post(server: &TestServer, path: &str, body: Value) -> Reply {
    reply(http().post(url(server, path)).json(&body)).await
}

async fn post_bearer(server: &TestServer, path: &str, token: &str, body: Value) -> Reply {
    reply(
        http()
            .post(url(server, path))
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

async fn get(server: &TestServer, path: &str, bearer: Option<&str>) -> Reply {
    let mut req = http().get(url(server, path));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    reply(req).await
}

async fn delete(server: &TestServer, path: &str, bearer: Option<&str>) -> Reply {
    let mut req = http().delete(url(server, path));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    reply(req).await
}

/// Signs up `email` (and `phone`) and checks the documented answer.
async fn signup(server: &TestServer, email: &str, phone: Option<&str>) -> Reply {
    let mut body = json!({
        "first_name": "John",
        "last_name": "Doe",
        "email": email,
        "password": PASSWORD,
    });
    if let Some(p) = phone {
        body["phone"] = json!(p);
    }
    let r = post(server, "/user/signup", body).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["response"], "otp sent", "{r:?}");
    let keys: Vec<&String> = r.body.as_object().expect("object").keys().collect();
    let expected: &[&str] = if phone.is_some() {
        &["otp_request_id", "response", "sms_otp_request_id"]
    } else {
        &["otp_request_id", "response"]
    };
    assert_eq!(keys, expected, "{r:?}");
    r
}

/// Signs up `email` and verifies it: the account is ready to sign in.
async fn signed_up(server: &TestServer, email: &str) {
    let r = signup(server, email, None).await;
    let code = server.last_message_to(email).code();
    let v = post(
        server,
        "/user/verify-email",
        json!({ "otp": code, "otp_request_id": r.str("otp_request_id") }),
    )
    .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");
}

async fn signin(server: &TestServer, email: &str, password: &str) -> Reply {
    post(
        server,
        "/user/signin",
        json!({ "email": email, "password": password }),
    )
    .await
}

/// Signs in and returns the (access, refresh) pair.
async fn tokens(server: &TestServer, email: &str, password: &str) -> (String, String) {
    let r = signin(server, email, password).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["message"], "Logged In", "{r:?}");
    r.tokens()
}

/// `/user/protected` with `access`: 200 or the documented 401.
async fn protected_ok(server: &TestServer, access: &str) -> bool {
    let r = get(server, "/user/protected", Some(access)).await;
    if r.status == StatusCode::OK {
        r.is(StatusCode::OK, json!({ "new_data": "Protected data" }));
        true
    } else {
        r.is(
            StatusCode::UNAUTHORIZED,
            json!({ "status": "error", "message": "Unauthorized" }),
        );
        false
    }
}

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWS payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// A 6-digit code that is not `code`.
fn other_code(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

// ---------------------------------------------------------------------------------------------

async fn walk_every_endpoint(server: &TestServer) {
    let email = "john.doe@example.com";
    let phone = "+2348000000001";

    // home
    get(server, "/user/home", None).await.is(
        StatusCode::OK,
        json!({ "new_data": "Welcome to BioEntrust Auth server" }),
    );

    // signup: an email code and (with a phone) an SMS code
    let r = signup(server, email, Some(phone)).await;
    assert_eq!(
        r.headers.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let mail = server.last_message_to(email);
    assert_eq!(mail.channel, "email");
    let sms = server.last_message_to(phone);
    assert_eq!(sms.channel, "sms");
    let (email_code, sms_code) = (mail.code(), sms.code());
    assert!(!r.body.to_string().contains(&email_code), "{r:?}");

    // verify_email (heading spelling): a wrong code, then the right one, then the same again
    let verify = |otp: &str, id: String| json!({ "otp": otp, "otp_request_id": id });
    post(
        server,
        "/user/verify_email",
        verify(other_code(&email_code), r.str("otp_request_id")),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Signup Failed");
    let v = post(
        server,
        "/user/verify-email",
        verify(&email_code, r.str("otp_request_id")),
    )
    .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");
    assert_eq!(v.body["message"], "Logged In", "{v:?}");
    let (access, _) = v.tokens();
    assert!(protected_ok(server, &access).await);
    post(
        server,
        "/user/verify-email",
        verify(&email_code, r.str("otp_request_id")),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Signup Failed");
    // The SMS code's id is no email verification.
    post(
        server,
        "/user/verify-email",
        verify(&sms_code, r.str("sms_otp_request_id")),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Signup Failed");

    // verify-sms (and verify_sms): app_id is accepted and not used
    let sms_id = r.str("sms_otp_request_id");
    post(
        server,
        "/user/verify-sms",
        json!({ "app_id": 9876, "otp": other_code(&sms_code), "otp_request_id": sms_id }),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Verification failed");
    post(
        server,
        "/user/verify_sms",
        json!({ "app_id": "09876", "otp": sms_code, "otp_request_id": sms_id }),
    )
    .await
    .is(
        StatusCode::OK,
        json!({ "message": "Phone number verified" }),
    );
    post(
        server,
        "/user/verify-sms",
        json!({ "otp": sms_code, "otp_request_id": sms_id }),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Verification failed");

    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("default tenant");
    let account = idp
        .find_account(tenant.id, idp_core::model::AccountKey::Email(email.into()))
        .await
        .expect("lookup")
        .expect("account");
    assert!(
        account.email_verified && account.phone_verified,
        "{account:?}"
    );
    assert_eq!(account.profile.first_name.as_deref(), Some("John"));
    assert_eq!(account.profile.last_name.as_deref(), Some("Doe"));

    // signin: wrong password, unknown email, then right
    signin(server, email, "Wrong-Password-1")
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid login credentials");
    signin(server, "nobody@example.com", PASSWORD)
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid login credentials");
    let r = signin(server, email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        r.body.as_object().map(|o| o.keys().collect::<Vec<_>>()),
        Some(vec![&"message".to_string(), &"token".to_string()]),
        "{r:?}"
    );
    let (access, refresh) = r.tokens();
    let claims = jwt_claims(&access);
    assert_eq!(claims["sub"], account.id.to_string(), "{claims}");
    assert_eq!(claims["client_id"], "bioentrust", "{claims}");

    // protected
    assert!(protected_ok(server, &access).await);

    // refresh: a new access token and the refresh token that replaces the one sent
    let r = get(server, "/user/refresh", Some(&refresh)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let (access2, refresh2) = r.tokens();
    assert_ne!(refresh2, refresh);
    assert!(protected_ok(server, &access2).await);

    // signout
    delete(server, "/user/signout", Some(&refresh2)).await.is(
        StatusCode::OK,
        json!({ "message": "Signed out successfully" }),
    );
    get(server, "/user/refresh", Some(&refresh2))
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token");
    assert!(!protected_ok(server, &access2).await);

    // forgot-password and reset-password (both paths)
    post(
        server,
        "/user/forgot-password",
        json!({ "email": email, "password": "1234567890" }),
    )
    .await
    .is(
        StatusCode::OK,
        json!({ "message": "Password reset link sent" }),
    );
    let token = server.last_message_to(email).link_token();
    post_bearer(
        server,
        "/user/reset-password",
        &token,
        json!({ "email": email, "password": NEW_PASSWORD }),
    )
    .await
    .is(
        StatusCode::OK,
        json!({ "message": "Password reset successfully" }),
    );
    let (access, _) = tokens(server, email, NEW_PASSWORD).await;
    post_bearer(
        server,
        "/auth/reset-password",
        &access,
        json!({ "email": email, "password": "Third-Secret-2026" }),
    )
    .await
    .is(
        StatusCode::OK,
        json!({ "message": "Password reset successfully" }),
    );
    tokens(server, email, "Third-Secret-2026").await;
}

async fn refresh_rotation_and_signout(server: &TestServer) {
    let email = "rotate@example.com";
    signed_up(server, email).await;

    // A spent refresh token is reuse: the whole grant ends, its newest tokens included.
    let (_, r1) = tokens(server, email, PASSWORD).await;
    let (a2, r2) = get(server, "/user/refresh", Some(&r1)).await.tokens();
    get(server, "/user/refresh", Some(&r1))
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token");
    get(server, "/user/refresh", Some(&r2))
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token");
    assert!(!protected_ok(server, &a2).await);

    // Signout ends one grant only; signing out again is fine; its refresh token is dead.
    let (a3, r3) = tokens(server, email, PASSWORD).await;
    let (a4, r4) = tokens(server, email, PASSWORD).await;
    for _ in 0..2 {
        delete(server, "/user/signout", Some(&r3)).await.is(
            StatusCode::OK,
            json!({ "message": "Signed out successfully" }),
        );
    }
    get(server, "/user/refresh", Some(&r3))
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token");
    assert!(!protected_ok(server, &a3).await);
    assert!(protected_ok(server, &a4).await);
    let (_, r5) = get(server, "/user/refresh", Some(&r4)).await.tokens();

    // Signing out with the older (spent) token of a grant ends the grant too.
    delete(server, "/user/signout", Some(&r4)).await.is(
        StatusCode::OK,
        json!({ "message": "Signed out successfully" }),
    );
    get(server, "/user/refresh", Some(&r5))
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token");

    // Unknown tokens, access tokens and missing bearers.
    delete(server, "/user/signout", Some("not-a-refresh-token"))
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token");
    let (a6, _) = tokens(server, email, PASSWORD).await;
    get(server, "/user/refresh", Some(&a6))
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token");
    let r = delete(server, "/user/signout", None).await;
    r.error(StatusCode::UNAUTHORIZED, "Refresh token required as Bearer");
    assert!(r.headers.contains_key(WWW_AUTHENTICATE), "{r:?}");
    get(server, "/user/refresh", None)
        .await
        .error(StatusCode::UNAUTHORIZED, "Refresh token required as Bearer");
}

async fn password_reset(server: &TestServer) {
    let email = "forgetful@example.com";
    signed_up(server, email).await;
    let before = server.outbox().len();

    // Unknown and known addresses get the same answer; only the known one gets mail.
    let sent = json!({ "message": "Password reset link sent" });
    post(
        server,
        "/user/forgot-password",
        json!({ "email": "stranger@example.com", "password": "1234567890" }),
    )
    .await
    .is(StatusCode::OK, sent.clone());
    assert_eq!(server.outbox().len(), before, "mail for an unknown address");
    post(
        server,
        "/user/forgot-password",
        json!({ "email": email, "password": "1234567890" }),
    )
    .await
    .is(StatusCode::OK, sent.clone());
    let outbox = server.outbox();
    assert_eq!(outbox.len(), before + 1, "{outbox:?}");
    let mail = server.last_message_to(email);
    let link = mail.link();
    assert!(
        link.contains("/bioentrust/user/reset-password?token="),
        "{link}"
    );
    let token = mail.link_token();
    // The forgot-password call changed nothing.
    tokens(server, email, PASSWORD).await;

    // A password against the policy leaves the token usable; a wrong email is refused too.
    post_bearer(
        server,
        "/user/reset-password",
        &token,
        json!({ "email": email, "password": "short" }),
    )
    .await
    .error(
        StatusCode::BAD_REQUEST,
        "Password should be more than 7 characters",
    );
    let r = post_bearer(
        server,
        "/user/reset-password",
        &token,
        json!({ "email": email, "password": "alllowercase" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert!(r.str("error").starts_with("Password must contain"), "{r:?}");
    post_bearer(
        server,
        "/user/reset-password",
        &token,
        json!({ "email": "someone.else@example.com", "password": NEW_PASSWORD }),
    )
    .await
    .error(
        StatusCode::BAD_REQUEST,
        "Invalid email: does not match the account",
    );

    // The grants made with the old password end with it.
    let (old_access, old_refresh) = tokens(server, email, PASSWORD).await;
    post_bearer(
        server,
        "/user/reset-password",
        &token,
        json!({ "email": email, "password": NEW_PASSWORD }),
    )
    .await
    .is(
        StatusCode::OK,
        json!({ "message": "Password reset successfully" }),
    );
    assert!(!protected_ok(server, &old_access).await);
    get(server, "/user/refresh", Some(&old_refresh))
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token");
    signin(server, email, PASSWORD)
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid login credentials");
    tokens(server, email, NEW_PASSWORD).await;

    // A used token, a forged one, and none at all.
    post_bearer(
        server,
        "/auth/reset-password",
        &token,
        json!({ "email": email, "password": "Another-Pass-9" }),
    )
    .await
    .error(StatusCode::BAD_REQUEST, "Invalid token or password");
    let (id, _) = token.split_once('.').expect("id.secret");
    post_bearer(
        server,
        "/user/reset-password",
        &format!("{id}.forged"),
        json!({ "password": "Another-Pass-9" }),
    )
    .await
    .error(StatusCode::BAD_REQUEST, "Invalid token or password");
    post(
        server,
        "/user/reset-password",
        json!({ "email": email, "password": "Another-Pass-9" }),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Bearer token required");
    tokens(server, email, NEW_PASSWORD).await;

    // With an access token: the account's own password; a signed-out grant's token is refused.
    let (access, refresh) = tokens(server, email, NEW_PASSWORD).await;
    delete(server, "/user/signout", Some(&refresh)).await;
    post_bearer(
        server,
        "/auth/reset-password",
        &access,
        json!({ "email": email, "password": "Another-Pass-9" }),
    )
    .await
    .error(StatusCode::BAD_REQUEST, "Invalid token or password");
    tokens(server, email, NEW_PASSWORD).await;
}

async fn unreadable_requests(server: &TestServer) {
    let signup_url = url(server, "/user/signup");
    // Malformed JSON
    let r = reply(
        http()
            .post(&signup_url)
            .header(CONTENT_TYPE, "application/json")
            .body("{\"email\": \"x@example.com\", "),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert!(r.str("error").starts_with("malformed JSON"), "{r:?}");
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(1), "{r:?}");
    // Wrong content type
    let r = reply(
        http()
            .post(url(server, "/user/signin"))
            .header(CONTENT_TYPE, "text/plain")
            .body("{\"email\":\"a@example.com\",\"password\":\"whatever1\"}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{r:?}");
    assert!(r.str("error").contains("application/json"), "{r:?}");
    // Missing field, wrong type
    let r = post(server, "/user/signin", json!({ "email": "a@example.com" })).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert!(r.str("error").contains("password"), "{r:?}");
    let r = post(
        server,
        "/user/verify-email",
        json!({ "otp": ["1"], "otp_request_id": "x" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    // The document's `"app_id": 09876` is not JSON.
    let r = reply(
        http()
            .post(url(server, "/user/verify-sms"))
            .header(CONTENT_TYPE, "application/json")
            .body(r#"{"app_id": 09876, "otp": "123456", "otp_request_id": "x"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    // Request ids the server never handed out
    post(
        server,
        "/user/verify-sms",
        json!({ "otp": "123456", "otp_request_id": "not-an-id" }),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Verification failed");
    post(
        server,
        "/user/verify-email",
        json!({ "otp": 123456, "otp_request_id": uuid::Uuid::new_v4() }),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Signup Failed");
    post(
        server,
        "/user/verify-email",
        json!({ "otp": "123456", "otp_request_id": "a.b.c" }),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Signup Failed");
    // Unknown routes and methods under the prefix answer JSON too.
    let r = reply(http().get(url(server, "/user/nothing"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    let r = reply(http().get(url(server, "/user/signup"))).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{r:?}");
}

async fn signup_refusals(server: &TestServer) {
    let base = |email: &str, password: &str| json!({ "first_name": "Jane", "last_name": "Roe", "email": email, "password": password });
    post(server, "/user/signup", base("jane@example.com", "seven77"))
        .await
        .error(
            StatusCode::BAD_REQUEST,
            "Password should be more than 7 characters",
        );
    // The document's sample password is below the default tenant policy.
    let r = post(
        server,
        "/user/signup",
        base("jane@example.com", "password123"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert!(r.str("error").starts_with("Password must contain"), "{r:?}");
    let r = post(server, "/user/signup", base("not-an-email", PASSWORD)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert!(r.str("error").starts_with("Invalid email"), "{r:?}");
    assert!(server.outbox().is_empty(), "{:?}", server.outbox());

    signup(server, "jane@example.com", Some("+2348000000002")).await;
    post(server, "/user/signup", base("JANE@example.com", PASSWORD))
        .await
        .error(StatusCode::CONFLICT, "Email address already in use");
    let mut other = base("other@example.com", PASSWORD);
    other["phone"] = json!("+234 800 000 0002");
    post(server, "/user/signup", other)
        .await
        .error(StatusCode::CONFLICT, "Phone number already in use");
    // An unverified account still signs in with its password.
    tokens(server, "jane@example.com", PASSWORD).await;
}

async fn bearer_failures(server: &TestServer) {
    let email = "bearer@example.com";
    signed_up(server, email).await;
    let (access, refresh) = tokens(server, email, PASSWORD).await;

    let r = get(server, "/user/protected", None).await;
    r.is(
        StatusCode::UNAUTHORIZED,
        json!({ "status": "error", "message": "Unauthorized" }),
    );
    assert!(r.headers.contains_key(WWW_AUTHENTICATE), "{r:?}");
    for bad in ["garbage", "a.b.c", refresh.as_str()] {
        assert!(!protected_ok(server, bad).await, "{bad}");
    }
    let r = reply(
        http()
            .get(url(server, "/user/protected"))
            .header("authorization", format!("Basic {access}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert!(protected_ok(server, &access).await);

    // A client's own token (client_credentials) names no account.
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    let svc = idp
        .create_client(
            &Context::system(),
            tenant.id,
            NewClient {
                id: "svc".into(),
                secret: Some("svc-secret-0123456789".into()),
                grants: vec![GrantType::ClientCredentials],
                scopes: vec!["api".into()],
                ..NewClient::default()
            },
        )
        .await
        .expect("client");
    let own = server
        .running
        .app
        .tokens
        .client_credentials(&svc, None)
        .await
        .expect("client token");
    assert!(!protected_ok(server, &own.access_token).await);

    // A locked account's tokens stop working.
    let account = idp
        .find_account(tenant.id, idp_core::model::AccountKey::Email(email.into()))
        .await
        .expect("lookup")
        .expect("account");
    idp.lock(&Context::system(), account.id)
        .await
        .expect("lock");
    assert!(!protected_ok(server, &access).await);
    get(server, "/user/refresh", Some(&refresh))
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token");
    signin(server, email, PASSWORD)
        .await
        .error(StatusCode::UNAUTHORIZED, "Account is locked");
}

async fn tokens_work_at_oidc_endpoints(server: &TestServer) {
    let email = "oidc.user@example.com";
    signed_up(server, email).await;
    let (access, refresh) = tokens(server, email, PASSWORD).await;

    let r = reply(http().get(server.url("/userinfo")).bearer_auth(&access)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["email"], email, "{r:?}");
    assert_eq!(r.body["email_verified"], true, "{r:?}");
    assert_eq!(r.body["given_name"], "John", "{r:?}");
    let sub = r.str("sub");

    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    idp.create_client(
        &Context::system(),
        tenant.id,
        NewClient {
            id: "resource-server".into(),
            secret: Some("resource-server-secret-0123".into()),
            grants: vec![GrantType::ClientCredentials],
            scopes: vec!["api".into()],
            ..NewClient::default()
        },
    )
    .await
    .expect("client");
    let introspect = |token: String| {
        reply(
            http()
                .post(server.url("/introspect"))
                .basic_auth("resource-server", Some("resource-server-secret-0123"))
                .form(&[("token", token)]),
        )
    };
    let r = introspect(access.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["active"], true, "{r:?}");
    assert_eq!(r.body["client_id"], "bioentrust", "{r:?}");
    assert_eq!(r.body["sub"], sub, "{r:?}");
    let r = introspect(refresh.clone()).await;
    assert_eq!(r.body["active"], true, "{r:?}");
    assert_eq!(r.body["token_type"], "refresh_token", "{r:?}");

    delete(server, "/user/signout", Some(&refresh)).await.is(
        StatusCode::OK,
        json!({ "message": "Signed out successfully" }),
    );
    for token in [access.clone(), refresh] {
        let r = introspect(token).await;
        assert_eq!(r.body, json!({ "active": false }), "{r:?}");
    }
    let r = reply(http().get(server.url("/userinfo")).bearer_auth(&access)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
}

async fn signin_with_second_factor(server: &TestServer) {
    let email = "mfa.user@example.com";
    // Registered without sign-up codes: codes to one address are at most one per 30 s.
    registered(server, email).await;
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    let mut settings = tenant.settings.clone();
    settings.mfa_policy = MfaPolicy::EmailOtp;
    idp.update_tenant(
        &Context::system(),
        tenant.id,
        TenantUpdate {
            settings: Some(settings),
            ..TenantUpdate::default()
        },
    )
    .await
    .expect("policy");

    // The password step sends a code and answers like signup; verify-email finishes the sign-in.
    let r = signin(server, email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["response"], "otp sent", "{r:?}");
    assert_eq!(r.body["factor"], "email_otp", "{r:?}");
    assert!(r.body.get("token").is_none(), "{r:?}");
    let request_id = r.str("otp_request_id");
    let code = server.last_message_to(email).code();
    post(
        server,
        "/user/verify-email",
        json!({ "otp": other_code(&code), "otp_request_id": request_id }),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Signup Failed");
    let v = post(
        server,
        "/user/verify-email",
        json!({ "otp": code, "otp_request_id": request_id }),
    )
    .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");
    let (access, _) = v.tokens();
    let claims = jwt_claims(&access);
    assert_eq!(claims["acr"], "mfa", "{claims}");
    assert!(protected_ok(server, &access).await);
    // The code is spent.
    post(
        server,
        "/user/verify-email",
        json!({ "otp": code, "otp_request_id": request_id }),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "Signup Failed");
    // Wrong password: no code is sent.
    let before = server.outbox().len();
    signin(server, email, "Wrong-Password-1")
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid login credentials");
    assert_eq!(server.outbox().len(), before);
}

// ---------------------------------------------------------------------------------------------
// Configuration: an expiring refresh token, another prefix, a disabled surface.
// ---------------------------------------------------------------------------------------------

/// Registers a ready account through the core (no codes spent).
async fn registered(server: &TestServer, email: &str) {
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    idp.register(
        &Context::system(),
        tenant.id,
        Registration {
            username: email.into(),
            email: Some(email.into()),
            password: Some(PASSWORD.into()),
            ..Registration::default()
        },
    )
    .await
    .expect("register");
}

async fn expired_refresh_token(server: &TestServer) {
    registered(server, "short.lived@example.com").await;
    let (_, refresh) = tokens(server, "short.lived@example.com", PASSWORD).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    get(server, "/user/refresh", Some(&refresh))
        .await
        .error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token");
}

mod expired_refresh_token {
    fn tweak(c: &mut idp_config::Config) {
        c.tokens.refresh_token_ttl_secs = 1;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let server = idp_e2e::start_sqlite_with(tweak).await;
        super::expired_refresh_token(&server).await;
        server.stop().await.expect("graceful stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(server) = idp_e2e::start_postgres_with(tweak).await {
            super::expired_refresh_token(&server).await;
            server.stop().await.expect("graceful stop");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_at_the_root_with_an_empty_prefix() {
    let server = idp_e2e::start_sqlite_with(|c| c.adapters.bioentrust.prefix = String::new()).await;
    let r = reply(http().get(server.url("/user/home"))).await;
    r.is(
        StatusCode::OK,
        json!({ "new_data": "Welcome to BioEntrust Auth server" }),
    );
    registered(&server, "root@example.com").await;
    let r = reply(
        http()
            .post(server.url("/user/signin"))
            .json(&json!({ "email": "root@example.com", "password": PASSWORD })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let (access, _) = r.tokens();
    // The OIDC surface is still there beside it.
    let r = reply(http().get(server.url("/userinfo")).bearer_auth(&access)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = reply(http().get(server.url("/bioentrust/user/home"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    server.stop().await.expect("graceful stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_surface_is_not_served() {
    let server = idp_e2e::start_sqlite_with(|c| c.adapters.bioentrust.enabled = false).await;
    let r = reply(http().get(server.url("/bioentrust/user/home"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    let clients = server
        .running
        .app
        .idp
        .client("bioentrust")
        .await
        .map(|c| c.id);
    assert!(clients.is_err(), "{clients:?}");
    server.stop().await.expect("graceful stop");
}

/// A sign-up whose answer was lost (the account was written, then sending the code failed, or
/// the connection dropped) can be repeated: the same email, phone and password before the
/// address is verified send new codes instead of "already in use". Anything else is the
/// conflict, and a wrong password there counts no failure against the account.
async fn repeated_signup_sends_a_new_code(server: &TestServer) {
    let email = "retry@example.com";
    let phone = "+2348000000099";
    let first = signup(server, email, Some(phone)).await;
    let first_code = server.last_message_to(email).code();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // the resend interval
    let again = signup(server, email, Some(phone)).await;
    assert_ne!(again.str("otp_request_id"), first.str("otp_request_id"));
    let new_code = server.last_message_to(email).code();

    let body = |password: &str, phone: Option<&str>| {
        let mut b = json!({ "first_name": "John", "last_name": "Doe", "email": email, "password": password });
        if let Some(p) = phone {
            b["phone"] = json!(p);
        }
        b
    };
    // With both the address and the phone taken, either may be named (the stores check their
    // unique indexes in different orders).
    let conflict = |r: Reply| {
        assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
        let named = r.str("error");
        assert!(
            [
                "Email address already in use",
                "Phone number already in use"
            ]
            .contains(&named.as_str()),
            "{r:?}"
        );
    };
    for (password, phone) in [
        ("Another-Pass-2024", Some(phone)),
        (PASSWORD, None),
        (PASSWORD, Some("+2348000000098")),
    ] {
        conflict(post(server, "/user/signup", body(password, phone)).await);
    }
    for _ in 0..6 {
        conflict(post(server, "/user/signup", body("Wrong-Pass-2024", Some(phone))).await);
    }
    // No failure was counted: the password still signs in (lockout is after 5 failures).
    tokens(server, email, PASSWORD).await;

    // The new code verifies the address (the replaced one does not); then a repeat is a conflict.
    let v = post(
        server,
        "/user/verify-email",
        json!({ "otp": new_code, "otp_request_id": again.str("otp_request_id") }),
    )
    .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");
    let stale = post(
        server,
        "/user/verify-email",
        json!({ "otp": first_code, "otp_request_id": first.str("otp_request_id") }),
    )
    .await;
    assert_ne!(stale.status, StatusCode::OK, "{stale:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    conflict(post(server, "/user/signup", body(PASSWORD, Some(phone))).await);
}
