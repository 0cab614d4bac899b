//! Security properties checked from the outside: forged and misused tokens on every surface
//! that takes a Bearer token, tenant and customer isolation, user enumeration (answers and
//! timing), and secrets that must never appear in answers, audit records or logs.

mod enumeration;
mod isolation;
mod leaks;
mod tokens;

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::Context;
use idp_core::model::{AccountKey, GrantType};
use idp_core::ops::NewClient;
use idp_e2e::{Answer, TestServer, http};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

pub const FINTRACT_PASSWORD: &str = "johnDoe@#2024";
/// The Switch calling application (`SWI-CID`) and its secret, which keys `SWI-CS`.
pub const SWITCH_CID: &str = "security-switch-app";
pub const SWITCH_SECRET: &str = "security-switch-secret-0123";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64_json(v: &Value) -> String {
    b64(&serde_json::to_vec(v).expect("JSON"))
}

/// The JSON of one base64url part of a compact JWS.
pub fn part(token: &str, i: usize) -> Value {
    let p = token.split('.').nth(i).expect("JWS part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("JSON")
}

/// A POST of `body` as JSON.
pub async fn post_json(server: &TestServer, path: &str, body: Value) -> Answer {
    Answer::of(http().post(server.url(path)).json(&body)).await
}

/// A Fintract developer (active at once), registered and signed in with an emailed code:
/// its account number, id, email and access token.
pub struct Customer {
    pub number: i64,
    pub id: Uuid,
    pub email: String,
    pub access: String,
}

pub async fn fintract_customer(server: &TestServer, username: &str, phone: &str) -> Customer {
    let email = format!("{username}@example.com");
    let r = post_json(
        server,
        "/fintract/auth/register/",
        json!({
            "username": username, "email": email, "name": "Customer", "user_type": "developer",
            "phone": phone, "gender": "female",
            "password": FINTRACT_PASSWORD, "password2": FINTRACT_PASSWORD,
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let number = r.json["id"].as_i64().expect("id");
    let r = post_json(
        server,
        "/fintract/auth/login/",
        json!({ "email": email, "otpType": "Email", "password": FINTRACT_PASSWORD }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let challenge = r.json["data"]["id"].as_i64().expect("data.id");
    let code = server.last_message_to(&email).code();
    let r = post_json(
        server,
        &format!("/fintract/auth/login/{challenge}/"),
        json!({ "otp": code }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("default").await.expect("tenant");
    let account = idp
        .find_account(tenant.id, AccountKey::Email(email.clone()))
        .await
        .expect("lookup")
        .expect("account");
    Customer {
        number,
        id: account.id,
        email,
        access: r.json["tokens"]["access"].as_str().expect("access").into(),
    }
}

/// Registers the Switch calling application (once per server).
pub async fn switch_client(server: &TestServer) {
    let idp = &server.running.app.idp;
    if idp.client(SWITCH_CID).await.is_ok() {
        return;
    }
    let tenant = idp.tenant("default").await.expect("tenant");
    idp.create_client(
        &Context::system(),
        tenant.id,
        NewClient {
            id: SWITCH_CID.into(),
            secret: Some(SWITCH_SECRET.into()),
            grants: vec![GrantType::ClientCredentials],
            ..NewClient::default()
        },
    )
    .await
    .expect("switch client");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A Switch call: `raw` as the body with its `SWI-CS` checksum, and a bearer token if given.
pub async fn switch_post(
    server: &TestServer,
    path: &str,
    raw: &str,
    bearer: Option<&str>,
) -> Answer {
    let key = hex(digest::digest(&digest::SHA256, SWITCH_SECRET.as_bytes()).as_ref());
    let key = hmac::Key::new(hmac::HMAC_SHA512, key.as_bytes());
    let cs = hex(hmac::sign(&key, raw.as_bytes()).as_ref());
    let mut req = http()
        .post(server.url(&format!("/switch{path}")))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("SWI-CID", SWITCH_CID)
        .header("SWI-CS", cs)
        .body(raw.to_owned());
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    Answer::of(req).await
}

/// A Fintiv call with the tenant's api-key and name.
pub fn fintiv(
    server: &TestServer,
    t: &crate::races::FintivTenant,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
) -> reqwest::RequestBuilder {
    http()
        .request(method, server.url(&format!("/fintiv{path}")))
        .header("api-key", &t.key)
        .header("tenantName", &t.name)
        .bearer_auth(bearer)
}
