//! The Switch-style surface (`/switch/...`, specs/switch-user.txt): every endpoint with correct
//! checksums, the checksum and client refusals, the BVN and password rules, lockout and unlock,
//! two-factor sign-in, password reset (with a security answer), and logout at `/introspect`.

use aws_lc_rs::{digest, hmac};
use idp_core::Context;
use idp_core::model::FactorKind;
use idp_core::ops::NewClient;
use idp_e2e::{TestServer, http};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::both_stores;

both_stores!(
    switch_walk_every_endpoint,
    switch_checksum_refusals,
    switch_register_rules,
    switch_lockout_then_unlock,
    switch_forgot_password_reveals_nothing,
    switch_two_factor_login,
    switch_google_auth_login,
    switch_reset_with_security_question,
);

const PREFIX: &str = "/switch";
const CID: &str = "switch-mobile-app";
const SECRET: &str = "switch-mobile-app-secret-0123";
const PASSWORD: &str = "Switch#Pass1";
const NEW_PASSWORD: &str = "Switch#Pass2";
const BVN: &str = "22123456789";

struct Reply {
    status: StatusCode,
    body: Value,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Reply {
    #[track_caller]
    fn ok(&self, message: &str) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert_eq!(self.body["message"], message, "{self:?}");
        &self.body["data"]
    }

    #[track_caller]
    fn refused(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{self:?}");
        assert!(self.body.get("data").is_none(), "{self:?}");
        self.body["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {self:?}"))
            .to_owned()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The documented checksum: hex HMAC-SHA512 of the raw body, keyed with the hex SHA-256 of the
/// client secret (computed here with aws-lc-rs, independently of idp-core).
fn checksum(secret: &str, body: &[u8]) -> String {
    let key = hex(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref());
    let key = hmac::Key::new(hmac::HMAC_SHA512, key.as_bytes());
    hex(hmac::sign(&key, body).as_ref())
}

async fn reply(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.expect("request");
    let status = res.status();
    let ct = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await.expect("body");
    assert!(
        ct.starts_with("application/json"),
        "{status} {ct:?}: {text}"
    );
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text}: {e}"));
    Reply { status, body }
}

fn url(server: &TestServer, path: &str) -> String {
    server.url(&format!("{PREFIX}{path}"))
}

/// A POST with the raw `body`, and the given headers (`None`: left out).
async fn post_raw(
    server: &TestServer,
    path: &str,
    body: &str,
    cid: Option<&str>,
    cs: Option<&str>,
    bearer: Option<&str>,
) -> Reply {
    let mut req = http()
        .post(url(server, path))
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    if let Some(cid) = cid {
        req = req.header("SWI-CID", cid);
    }
    if let Some(cs) = cs {
        req = req.header("SWI-CS", cs);
    }
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    reply(req).await
}

/// A POST as the registered client, with a correct checksum.
async fn post(server: &TestServer, path: &str, body: Value) -> Reply {
    let raw = body.to_string();
    let cs = checksum(SECRET, raw.as_bytes());
    post_raw(server, path, &raw, Some(CID), Some(&cs), None).await
}

async fn post_bearer(server: &TestServer, path: &str, token: &str) -> Reply {
    let raw = "{}";
    let cs = checksum(SECRET, raw.as_bytes());
    post_raw(server, path, raw, Some(CID), Some(&cs), Some(token)).await
}

async fn referrer(server: &TestServer, id: &str, cid: Option<&str>) -> Reply {
    let mut req = http().get(url(server, &format!("/user/referrer/{id}")));
    if let Some(cid) = cid {
        req = req.header("SWI-CID", cid);
    }
    reply(req).await
}

/// Registers the calling app client (once per server).
async fn client(server: &TestServer) {
    let idp = &server.running.app.idp;
    if idp.client(CID).await.is_ok() {
        return;
    }
    let tenant = idp.tenant("default").await.expect("tenant");
    idp.create_client(
        &Context::system(),
        tenant.id,
        NewClient {
            id: CID.into(),
            secret: Some(SECRET.into()),
            grants: vec![idp_core::model::GrantType::ClientCredentials],
            ..NewClient::default()
        },
    )
    .await
    .expect("client");
}

fn registration(email: &str) -> Value {
    json!({
        "email": email,
        "password": PASSWORD,
        "first_name": "Somebody",
        "last_name": "Anybody",
        "date_of_birth": "1996-10-06",
        "phone": 2348097635343u64,
        "gender": "male",
        "bvn": BVN,
        "sales_agent_referral_code": "AGENT-7",
    })
}

/// Registers `email` and answers the `data` of the reply.
async fn registered(server: &TestServer, email: &str) -> Value {
    client(server).await;
    let mut body = registration(email);
    // Phones are unique: derive one from the address.
    let n: u64 = email.bytes().map(u64::from).sum();
    body["phone"] = json!(format!("+234809{n:07}"));
    post(server, "/user/register", body)
        .await
        .ok("User created successfully")
        .clone()
}

async fn login(server: &TestServer, email: &str, password: &str) -> Reply {
    post(
        server,
        "/user/login",
        json!({ "email": email, "password": password }),
    )
    .await
}

/// `/introspect` as the Switch app client (client_secret_basic): `active`.
async fn active(server: &TestServer, token: &str) -> bool {
    let r = reply(
        http()
            .post(server.url("/introspect"))
            .basic_auth(CID, Some(SECRET))
            .form(&[("token", token)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    r.body["active"].as_bool().expect("active")
}

async fn switch_walk_every_endpoint(server: &TestServer) {
    // register
    let data = registered(server, "someone@example.com").await;
    let user = &data["user"];
    let token = data["auth_token"].as_str().expect("auth_token").to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWS: {token}");
    assert!(active(server, &token).await);
    let switch_id = user["switch_id"].as_i64().expect("switch_id");
    assert!(switch_id >= 100_000, "{user}");
    for (k, v) in [
        ("email", json!("someone@example.com")),
        ("first_name", json!("Somebody")),
        ("last_name", json!("Anybody")),
        ("date_of_birth", json!("1996-10-06")),
        ("gender", json!("male")),
        ("country", json!("NG")),
        ("bvn", json!("22xxxxxx789")),
        ("is_verified", json!(false)),
        ("phone_verified", json!(false)),
        ("two_factor_authentication_enabled", json!(false)),
        ("two_factor_authentication_type", json!("none")),
        ("pin_set", json!(false)),
        ("google_auth_set_up", json!(false)),
        ("security_question_set", json!(false)),
        ("disabled", json!(false)),
        ("blacklisted", json!(false)),
        ("fraud_status", json!("whitelisted")),
        ("is_diaspora", json!(false)),
        ("last_sign_in", Value::Null),
    ] {
        assert_eq!(user[k], v, "{k}: {user}");
    }
    let idp = &server.running.app.idp;
    let account = idp.account_by_number(switch_id).await.expect("account");
    assert_eq!(
        account.profile.attributes["sales_agent_referral_code"],
        "AGENT-7"
    );

    // A referred user; the referrer is stored, and readable by names and id only.
    client(server).await;
    let mut body = registration("referred@example.com");
    body["phone"] = json!("+2348000000077");
    body["referrer"] = json!(switch_id.to_string());
    body["bvn"] = json!("22000000001");
    let r = post(server, "/user/register", body).await;
    let referred = r.ok("User created successfully")["user"]["switch_id"]
        .as_i64()
        .unwrap();
    let account = idp.account_by_number(referred).await.expect("account");
    assert_eq!(account.profile.attributes["referrer"], json!(switch_id));
    let r = referrer(server, &switch_id.to_string(), Some(CID)).await;
    assert_eq!(
        r.ok("Referrer retrieved successfully"),
        &json!({ "first_name": "Somebody", "last_name": "Anybody", "switch_id": switch_id.to_string() })
    );
    referrer(server, "999999999", Some(CID))
        .await
        .refused(StatusCode::NOT_FOUND);
    referrer(server, "abc", Some(CID))
        .await
        .refused(StatusCode::NOT_FOUND);

    // login
    let r = login(server, "someone@example.com", PASSWORD).await;
    let data = r.ok("User login successful");
    let token2 = data["auth_token"].as_str().unwrap().to_owned();
    assert!(data["user"]["last_sign_in"].is_string(), "{data}");
    assert_eq!(data["user"]["switch_id"], json!(switch_id));
    let msg = login(server, "someone@example.com", "Wrong#Pass1")
        .await
        .refused(StatusCode::UNAUTHORIZED);
    assert_eq!(msg, "Invalid email or password");

    // validate_user_bvn: the sandbox holder of 22123456789 is Test User6789, born 1990-01-01.
    let bvn = |bvn: &str, first: &str, last: &str| json!({ "bvn": bvn, "first_name": first, "last_name": last, "date_of_birth": "1990-01-01" });
    post(
        server,
        "/user/validate_user_bvn",
        bvn(BVN, "test", "USER6789"),
    )
    .await
    .ok("BVN validated successfully");
    post(server, "/user/validate_user_bvn", bvn(BVN, "Test", "Other"))
        .await
        .refused(StatusCode::BAD_REQUEST);
    post(
        server,
        "/user/validate_user_bvn",
        bvn("12345678901", "Test", "User8901"),
    )
    .await
    .refused(StatusCode::BAD_REQUEST);
    post(
        server,
        "/user/validate_user_bvn",
        bvn("22abc", "Test", "User"),
    )
    .await
    .refused(StatusCode::BAD_REQUEST);

    // send_email_confirmation_mail, then the emailed token.
    let r = post(
        server,
        "/user/send_email_confirmation_mail",
        json!({ "email": "someone@example.com" }),
    )
    .await;
    r.ok("Confirmation email sent");
    let link = server.last_message_to("someone@example.com");
    assert!(
        link.link().contains("/switch/user/confirm_email"),
        "{link:?}"
    );
    post(
        server,
        "/user/confirm_email",
        json!({ "token": link.link_token() }),
    )
    .await
    .ok("Email confirmed successfully");
    let r = login(server, "someone@example.com", PASSWORD).await;
    assert_eq!(r.ok("User login successful")["user"]["is_verified"], true);

    // forgot_password + reset_password
    post(
        server,
        "/user/forgot_password",
        json!({ "email": "someone@example.com" }),
    )
    .await
    .ok("If this email exists, a password reset email will be sent to it");
    let reset = server.last_message_to("someone@example.com");
    assert!(
        reset.link().contains("/switch/user/reset_password"),
        "{reset:?}"
    );
    let reset_token = reset.link_token();
    let msg = post(
        server,
        "/user/reset_password",
        json!({ "reset_password_token": reset_token, "password": NEW_PASSWORD, "password_confirmation": "Other#Pass9" }),
    )
    .await
    .refused(StatusCode::BAD_REQUEST);
    assert!(msg.contains("password_confirmation"), "{msg}");
    post(
        server,
        "/user/reset_password",
        json!({ "reset_password_token": reset_token, "password": "weak", "password_confirmation": "weak" }),
    )
    .await
    .refused(StatusCode::BAD_REQUEST);
    post(
        server,
        "/user/reset_password",
        json!({ "reset_password_token": reset_token, "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD }),
    )
    .await
    .ok("Password changed successfully");
    // Single use; and a new password ends every session.
    post(
        server,
        "/user/reset_password",
        json!({ "reset_password_token": reset_token, "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD }),
    )
    .await
    .refused(StatusCode::BAD_REQUEST);
    assert!(!active(server, &token2).await);
    login(server, "someone@example.com", PASSWORD)
        .await
        .refused(StatusCode::UNAUTHORIZED);
    let r = login(server, "someone@example.com", NEW_PASSWORD).await;
    let session = r.ok("User login successful")["auth_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // logout: inactive at /introspect, and at /userinfo; a second logout is refused.
    assert!(active(server, &session).await);
    post_bearer(server, "/user/logout", &session)
        .await
        .ok("User session invalidated");
    assert!(!active(server, &session).await);
    let r = http()
        .get(server.url("/userinfo"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    post_bearer(server, "/user/logout", &session)
        .await
        .refused(StatusCode::UNAUTHORIZED);
    let raw = "{}";
    let cs = checksum(SECRET, raw.as_bytes());
    post_raw(server, "/user/logout", raw, Some(CID), Some(&cs), None)
        .await
        .refused(StatusCode::UNAUTHORIZED);

    // unlock_account and resend_unlock_email have their own test; the calls answer here too.
    post(
        server,
        "/user/resend_unlock_email",
        json!({ "email": "someone@example.com" }),
    )
    .await
    .ok("If this email exists and there's a lock, unlock instructions will be sent to it");
    post(
        server,
        "/user/unlock_account",
        json!({ "unlock_token": "not-a-token" }),
    )
    .await
    .refused(StatusCode::BAD_REQUEST);
}

async fn switch_checksum_refusals(server: &TestServer) {
    registered(server, "checked@example.com").await;
    let body = json!({ "email": "checked@example.com", "password": PASSWORD }).to_string();
    let good = checksum(SECRET, body.as_bytes());
    let login = |cid: Option<&'static str>, cs: Option<String>| {
        let body = body.clone();
        async move { post_raw(server, "/user/login", &body, cid, cs.as_deref(), None).await }
    };
    // The right call works.
    login(Some(CID), Some(good.clone()))
        .await
        .ok("User login successful");
    login(Some(CID), Some(good.to_uppercase()))
        .await
        .ok("User login successful");
    // Missing client, unknown client, missing / wrong checksum.
    assert_eq!(
        login(None, Some(good.clone()))
            .await
            .refused(StatusCode::UNAUTHORIZED),
        "SWI-CID header is required"
    );
    assert_eq!(
        login(Some("nobody"), Some(good.clone()))
            .await
            .refused(StatusCode::UNAUTHORIZED),
        "Unknown client"
    );
    assert_eq!(
        login(Some(CID), None)
            .await
            .refused(StatusCode::UNAUTHORIZED),
        "Invalid or missing checksum"
    );
    for bad in [
        checksum("another-secret-0123456", body.as_bytes()),
        checksum(SECRET, b"{}"),
        good[..100].to_owned(),
        "zz".repeat(64),
        // Keyed with the raw secret instead of its digest.
        {
            let key = hmac::Key::new(hmac::HMAC_SHA512, SECRET.as_bytes());
            hex(hmac::sign(&key, body.as_bytes()).as_ref())
        },
    ] {
        login(Some(CID), Some(bad))
            .await
            .refused(StatusCode::UNAUTHORIZED);
    }
    // The body is checked as sent: a changed body fails with the old checksum.
    let other = json!({ "email": "checked@example.com", "password": "Wrong#Pass1" }).to_string();
    post_raw(server, "/user/login", &other, Some(CID), Some(&good), None)
        .await
        .refused(StatusCode::UNAUTHORIZED);
    // A refused checksum counts no failed login: the account still signs in after many.
    for _ in 0..6 {
        post_raw(server, "/user/login", &other, Some(CID), Some(&good), None)
            .await
            .refused(StatusCode::UNAUTHORIZED);
    }
    login(Some(CID), Some(good.clone()))
        .await
        .ok("User login successful");
    // Every endpoint is guarded, even before its body is read.
    for path in [
        "/user/register",
        "/user/forgot_password",
        "/user/reset_password",
        "/user/unlock_account",
        "/user/resend_unlock_email",
        "/user/logout",
        "/user/validate_user_bvn",
        "/user/send_email_confirmation_mail",
    ] {
        post_raw(server, path, "not json", Some(CID), Some("00"), None)
            .await
            .refused(StatusCode::UNAUTHORIZED);
        post_raw(server, path, "{}", None, None, None)
            .await
            .refused(StatusCode::UNAUTHORIZED);
    }
    // The GET takes the client id alone.
    referrer(server, "100000", None)
        .await
        .refused(StatusCode::UNAUTHORIZED);
    referrer(server, "100000", Some("nobody"))
        .await
        .refused(StatusCode::UNAUTHORIZED);
    // A public client has no key: refused.
    referrer(server, "100000", Some("switch"))
        .await
        .refused(StatusCode::UNAUTHORIZED);
    // An unreadable body with a right checksum is the surface's own 400.
    let cs = checksum(SECRET, b"not json");
    post_raw(
        server,
        "/user/login",
        "not json",
        Some(CID),
        Some(&cs),
        None,
    )
    .await
    .refused(StatusCode::BAD_REQUEST);
    // The checksum layer reads the raw body itself, within the server's body limit (64 KiB by
    // default): a larger body, right checksum or not, is a 413 in the surface's envelope.
    let big = json!({ "email": "checked@example.com", "password": "x".repeat(70 * 1024) });
    let big = big.to_string();
    let cs = checksum(SECRET, big.as_bytes());
    assert_eq!(
        post_raw(server, "/user/login", &big, Some(CID), Some(&cs), None)
            .await
            .refused(StatusCode::PAYLOAD_TOO_LARGE),
        "Request body too large"
    );
}

async fn switch_register_rules(server: &TestServer) {
    client(server).await;
    let attempt = |change: Value| {
        let mut body = registration("rules@example.com");
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        async move { post(server, "/user/register", body).await }
    };
    // Weak passwords: each class missing.
    for weak in [
        "switch#pass1",
        "SWITCH#PASS1",
        "Switch#Passw",
        "SwitchPass12",
        "S#1a",
    ] {
        let msg = attempt(json!({ "password": weak }))
            .await
            .refused(StatusCode::BAD_REQUEST);
        assert!(msg.starts_with("password"), "{weak}: {msg}");
    }
    // BVN: required for Nigerians (the default country), 11 digits, known to the register.
    for (change, why) in [
        (json!({ "bvn": null }), "required"),
        (json!({ "bvn": "", "country": "Nigeria" }), "required"),
        (json!({ "bvn": "2212345678" }), "11 digits"),
        (json!({ "bvn": "22abcdefghi" }), "11 digits"),
        (json!({ "bvn": "12345678901" }), "not found"),
    ] {
        let msg = attempt(change.clone())
            .await
            .refused(StatusCode::BAD_REQUEST);
        assert!(
            msg.starts_with("bvn") && msg.contains(why),
            "{change}: {msg}"
        );
    }
    // A referrer must be a user.
    attempt(json!({ "referrer": "100000000" }))
        .await
        .refused(StatusCode::BAD_REQUEST);
    attempt(json!({ "date_of_birth": "06/10/1996" }))
        .await
        .refused(StatusCode::BAD_REQUEST);
    // Not Nigerian: no BVN needed.
    let r = attempt(json!({ "bvn": null, "country": "GH" })).await;
    let user = &r.ok("User created successfully")["user"];
    assert_eq!(user["country"], "GH");
    assert_eq!(user["is_diaspora"], true);
    assert_eq!(user["bvn"], Value::Null);
    // The address is taken now.
    attempt(json!({ "bvn": null, "country": "GH", "phone": "+2348011111111" }))
        .await
        .refused(StatusCode::CONFLICT);
    // A number as BVN is the same BVN.
    let mut body = registration("numeric@example.com");
    body["bvn"] = json!(22987654321u64);
    body["phone"] = json!("+2348022222222");
    let r = post(server, "/user/register", body).await;
    assert_eq!(
        r.ok("User created successfully")["user"]["bvn"],
        "22xxxxxx321"
    );
}

async fn switch_lockout_then_unlock(server: &TestServer) {
    let email = "locked@example.com";
    registered(server, email).await;
    let before = server.outbox().len();
    for _ in 0..5 {
        login(server, email, "Wrong#Pass1")
            .await
            .refused(StatusCode::UNAUTHORIZED);
    }
    let msg = login(server, email, PASSWORD)
        .await
        .refused(StatusCode::UNAUTHORIZED);
    assert!(msg.contains("locked"), "{msg}");
    let mail = server.last_message_to(email);
    assert!(server.outbox().len() > before);
    let token = mail.link_token();

    // resend_unlock_email: the same answer for a locked, an unknown address; a new link to the
    // locked one only.
    let known = post(
        server,
        "/user/resend_unlock_email",
        json!({ "email": email }),
    )
    .await;
    let n = server.outbox().len();
    let unknown = post(
        server,
        "/user/resend_unlock_email",
        json!({ "email": "nobody-here@example.com" }),
    )
    .await;
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    assert_eq!(
        server.outbox().len(),
        n,
        "nothing sent to an unknown address"
    );
    let resent = server.last_message_to(email);
    assert_ne!(resent.link_token(), token, "a new unlock link was sent");

    post(
        server,
        "/user/unlock_account",
        json!({ "unlock_token": "x.y" }),
    )
    .await
    .refused(StatusCode::BAD_REQUEST);
    post(
        server,
        "/user/unlock_account",
        json!({ "unlock_token": resent.link_token() }),
    )
    .await
    .ok("Account unlocked successfully");
    login(server, email, PASSWORD)
        .await
        .ok("User login successful");
    // Used once.
    post(
        server,
        "/user/unlock_account",
        json!({ "unlock_token": resent.link_token() }),
    )
    .await
    .refused(StatusCode::BAD_REQUEST);
}

async fn switch_forgot_password_reveals_nothing(server: &TestServer) {
    registered(server, "known@example.com").await;
    let before = server.outbox();
    let known = post(
        server,
        "/user/forgot_password",
        json!({ "email": "known@example.com" }),
    )
    .await;
    let after_known = server.outbox().len();
    assert_eq!(after_known, before.len() + 1, "one reset email");
    let unknown = post(
        server,
        "/user/forgot_password",
        json!({ "email": "unknown@example.com" }),
    )
    .await;
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    known.ok("If this email exists, a password reset email will be sent to it");
    assert_eq!(server.outbox().len(), after_known, "nothing sent");
    assert!(
        server
            .outbox()
            .iter()
            .all(|m| m.to != "unknown@example.com"),
        "nothing to the unknown address"
    );
}

async fn switch_two_factor_login(server: &TestServer) {
    let email = "twofactor@example.com";
    let data = registered(server, email).await;
    let idp = &server.running.app.idp;
    let number = data["user"]["switch_id"].as_i64().unwrap();
    let account = idp.account_by_number(number).await.unwrap();
    let ctx = Context::system();
    idp.set_pin(&ctx, account.id, None, "4826")
        .await
        .expect("pin");
    idp.choose_factor(&ctx, account.id, Some(FactorKind::Pin))
        .await
        .expect("factor");

    // First call: the factor is asked for.
    let r = login(server, email, PASSWORD).await;
    let data = r.ok("Two factor authentication required").clone();
    assert_eq!(data["two_factor_authentication_type"], "pin");
    assert!(data.get("auth_token").is_none());
    let pending = data["two_factor_token"].as_str().unwrap();
    // Second call: the token and the PIN.
    post(
        server,
        "/user/login",
        json!({ "two_factor_token": pending, "two_factor_code": "0000" }),
    )
    .await
    .refused(StatusCode::UNAUTHORIZED);
    let r = post(
        server,
        "/user/login",
        json!({ "two_factor_token": pending, "two_factor_code": "4826" }),
    )
    .await;
    let data = r.ok("User login successful");
    let user = &data["user"];
    assert_eq!(user["two_factor_authentication_enabled"], true);
    assert_eq!(user["two_factor_authentication_type"], "pin");
    assert_eq!(user["pin_set"], true);
    assert!(active(server, data["auth_token"].as_str().unwrap()).await);
    // One call: the PIN with the password (as a number, too).
    post(
        server,
        "/user/login",
        json!({ "email": email, "password": PASSWORD, "two_factor_code": 4826 }),
    )
    .await
    .ok("User login successful");
    post(
        server,
        "/user/login",
        json!({ "two_factor_token": "forged.token.value", "two_factor_code": "4826" }),
    )
    .await
    .refused(StatusCode::UNAUTHORIZED);
}

async fn switch_reset_with_security_question(server: &TestServer) {
    let email = "question@example.com";
    let data = registered(server, email).await;
    let idp = &server.running.app.idp;
    let account = idp
        .account_by_number(data["user"]["switch_id"].as_i64().unwrap())
        .await
        .unwrap();
    let ctx = Context::system();
    let q = idp
        .create_question(&ctx, account.tenant_id, "Name of your first school?")
        .await
        .expect("question");
    idp.set_answer(&ctx, account.id, q.id, "Greenfield")
        .await
        .expect("answer");
    let r = login(server, email, PASSWORD).await;
    assert_eq!(
        r.ok("User login successful")["user"]["security_question_set"],
        true
    );

    post(server, "/user/forgot_password", json!({ "email": email }))
        .await
        .ok("If this email exists, a password reset email will be sent to it");
    let token = server.last_message_to(email).link_token();
    let reset = |answer: Value| {
        let mut body = json!({
            "reset_password_token": token,
            "password": NEW_PASSWORD,
            "password_confirmation": NEW_PASSWORD,
        });
        if !answer.is_null() {
            body["security_question_id"] = json!(q.id);
            body["security_question_answer"] = answer;
        }
        async move { post(server, "/user/reset_password", body).await }
    };
    let msg = reset(Value::Null).await.refused(StatusCode::BAD_REQUEST);
    assert!(msg.contains("security_question_answer"), "{msg}");
    reset(json!("Redfield"))
        .await
        .refused(StatusCode::BAD_REQUEST);
    reset(json!(" greenfield "))
        .await
        .ok("Password changed successfully");
    login(server, email, NEW_PASSWORD)
        .await
        .ok("User login successful");
}

/// The authenticator code of the time step `steps` away from now.
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

async fn switch_google_auth_login(server: &TestServer) {
    let email = "authenticator@example.com";
    let data = registered(server, email).await;
    let idp = &server.running.app.idp;
    let account = idp
        .account_by_number(data["user"]["switch_id"].as_i64().unwrap())
        .await
        .unwrap();
    let ctx = Context::system();
    let enrolment = idp.begin_totp(&ctx, account.id).await.expect("enrol");
    idp.confirm_totp(&ctx, account.id, &totp_code(&enrolment.secret, -1))
        .await
        .expect("confirm");
    let r = login(server, email, PASSWORD).await;
    let data = r.ok("Two factor authentication required").clone();
    assert_eq!(data["two_factor_authentication_type"], "google_auth");
    let r = post(
        server,
        "/user/login",
        json!({
            "two_factor_token": data["two_factor_token"],
            "two_factor_code": totp_code(&enrolment.secret, 0),
        }),
    )
    .await;
    let user = &r.ok("User login successful")["user"];
    assert_eq!(user["two_factor_authentication_type"], "google_auth");
    assert_eq!(user["google_auth_set_up"], true);
}
