//! Secrets never leak: flows that carry passwords, one-time codes, a PIN, a security answer,
//! refresh and reset tokens and client secrets run on every surface while the server's logs are
//! captured at debug level; then every answer, the audit records (Fintiv audit API and the
//! store's) and the logs are searched for each secret. A refresh token may appear only in the
//! answer that issued it.

use idp_core::Context;
use idp_core::model::{AccountKey, Page};
use idp_e2e::{Answer, LogCapture, TestServer, http};
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use super::{fintiv, switch_client, switch_post};
use crate::oidc_util::{RP_AUTH, RP_SECRET, client_post, rp_tokens, setup};
use crate::races::{FINTIV_PASSWORD, fintiv_tenant, unthrottled};

crate::oidc_both_stores!(tweak = super::unthrottled; secrets_never_leak);

const PASSWORD: &str = "Leak-Pass-7Qx2!";
const NEW_PASSWORD: &str = "Leak-Pass-8Rz3?";
const FINTIV_NEW_PASSWORD: &str = "Leak-Fintiv-9Ty4#";
const PIN: &str = "739184620573";
const ANSWER: &str = "Sedona Lighthouse Quokka";

/// Everything the server answered, and what counts as a secret.
#[derive(Default)]
struct Record {
    answers: Vec<Answer>,
    /// Values no answer, audit record or log line may contain.
    secrets: Vec<(String, String)>,
    /// Values that may appear in exactly one answer (the one that issued them), and nowhere else.
    issued: Vec<(String, String, usize)>,
}

impl Record {
    fn keep(&mut self, a: Answer) -> Answer {
        self.answers.push(a.clone());
        a
    }

    fn secret(&mut self, what: &str, value: &str) {
        assert!(!value.is_empty(), "{what} is empty");
        self.secrets.push((what.into(), value.into()));
    }

    /// `value` was issued by the last kept answer.
    fn issued(&mut self, what: &str, value: &str) {
        assert!(!value.is_empty(), "{what} is empty");
        let last = self.answers.len() - 1;
        assert!(
            self.answers[last].text.contains(value),
            "{what} not in its answer"
        );
        self.issued.push((what.into(), value.into(), last));
    }
}

/// Whether `text` contains `secret`; all-digit secrets (codes, PINs) only as a whole run of
/// digits, so that a timestamp or an id that happens to contain them does not count.
fn contains(text: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return text.contains(secret);
    }
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| run == secret)
}

async fn json_call(r: &mut Record, req: reqwest::RequestBuilder) -> Answer {
    let a = Answer::of(req).await;
    assert!(a.status.is_success(), "{a:?}");
    r.keep(a)
}

async fn secrets_never_leak(server: &TestServer) {
    let logs = LogCapture::start();
    let mut r = Record::default();
    let http = http();
    let url = |p: &str| server.url(p);
    r.secret("password", PASSWORD);
    r.secret("new password", NEW_PASSWORD);
    r.secret("Fintiv password", FINTIV_NEW_PASSWORD);
    r.secret("PIN", PIN);
    r.secret("security answer", ANSWER);
    r.secret("RP client secret", RP_SECRET);
    r.secret("Switch client secret", super::SWITCH_SECRET);

    // OIDC: client authentication with a secret, a code flow, a refresh.
    setup(server).await;
    let tokens = rp_tokens(server).await;
    let oidc_refresh = tokens.str("refresh_token");
    r.keep(Answer {
        status: tokens.status,
        text: tokens.json.to_string(),
        json: tokens.json.clone(),
    });
    r.issued("OIDC refresh token", &oidc_refresh);
    let refreshed = client_post(
        server,
        "/token",
        RP_AUTH,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &oidc_refresh),
        ],
    )
    .await;
    refreshed.assert_ok();
    r.keep(Answer {
        status: refreshed.status,
        text: refreshed.json.to_string(),
        json: refreshed.json.clone(),
    });
    r.issued(
        "rotated OIDC refresh token",
        &refreshed.str("refresh_token"),
    );

    // Fintract: register, password, emailed code, tokens.
    let email = "leaky@example.com";
    json_call(&mut r, http.post(url("/fintract/auth/register/")).json(&json!({
        "username": "leaky", "email": email, "name": "Leaky", "user_type": "developer",
        "phone": "+2348090000001", "gender": "male", "password": PASSWORD, "password2": PASSWORD,
    }))).await;
    let a = json_call(
        &mut r,
        http.post(url("/fintract/auth/login/")).json(&json!({
            "email": email, "otpType": "Email", "password": PASSWORD,
        })),
    )
    .await;
    let challenge = a.json["data"]["id"].as_i64().expect("data.id");
    let code = server.last_message_to(email).code();
    r.secret("Fintract code", &code);
    let a = json_call(
        &mut r,
        http.post(url(&format!("/fintract/auth/login/{challenge}/")))
            .json(&json!({ "otp": code })),
    )
    .await;
    let fintract_refresh = a.json["tokens"]["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();
    r.issued("Fintract refresh token", &fintract_refresh);

    // BioEntrust: sign-up code, sign-in, refresh, password reset by emailed token.
    let bio = "bio.leaky@example.com";
    let a = json_call(
        &mut r,
        http.post(url("/bioentrust/user/signup")).json(&json!({
            "first_name": "Bio", "last_name": "Leaky", "email": bio, "password": PASSWORD,
        })),
    )
    .await;
    let request_id = a.json["otp_request_id"]
        .as_str()
        .expect("otp_request_id")
        .to_owned();
    let code = server.last_message_to(bio).code();
    r.secret("BioEntrust code", &code);
    let a = json_call(
        &mut r,
        http.post(url("/bioentrust/user/verify-email"))
            .json(&json!({ "otp": code, "otp_request_id": request_id })),
    )
    .await;
    r.issued(
        "BioEntrust refresh token",
        a.json["token"]["refresh"].as_str().expect("refresh"),
    );
    let a = json_call(
        &mut r,
        http.post(url("/bioentrust/user/signin"))
            .json(&json!({ "email": bio, "password": PASSWORD })),
    )
    .await;
    let bio_refresh = a.json["token"]["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();
    r.issued("BioEntrust sign-in refresh token", &bio_refresh);
    let a = json_call(
        &mut r,
        http.get(url("/bioentrust/user/refresh"))
            .bearer_auth(&bio_refresh),
    )
    .await;
    r.issued(
        "BioEntrust rotated refresh token",
        a.json["token"]["refresh"].as_str().expect("refresh"),
    );
    json_call(
        &mut r,
        http.post(url("/bioentrust/user/forgot-password"))
            .json(&json!({ "email": bio })),
    )
    .await;
    let reset = server.last_message_to(bio).link_token();
    r.secret("reset token", &reset);
    json_call(
        &mut r,
        http.post(url("/bioentrust/user/reset-password"))
            .bearer_auth(&reset)
            .json(&json!({ "email": bio, "password": NEW_PASSWORD })),
    )
    .await;

    // Switch: registration and sign-in, each call keyed by the client secret.
    switch_client(server).await;
    let a = switch_post(
        server,
        "/user/register",
        &json!({
            "email": "switch.leaky@example.com", "password": PASSWORD, "first_name": "Switch",
            "last_name": "Leaky", "date_of_birth": "1996-10-06", "phone": "+2348090000002",
            "gender": "male", "bvn": "22123456789",
        })
        .to_string(),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    r.keep(a);
    let a = switch_post(
        server,
        "/user/login",
        &json!({ "email": "switch.leaky@example.com", "password": PASSWORD }).to_string(),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    r.keep(a);

    // Fintiv: password grant, PIN, security answer, refresh, password change.
    let t = fintiv_tenant(server, "LEAK").await;
    let idp = &server.running.app.idp;
    let tenant = idp.tenant("LEAK").await.expect("tenant");
    let question = idp
        .create_question(&Context::system(), tenant.id, "Name of your first pet?")
        .await
        .expect("question");
    r.secret("Fintiv password", FINTIV_PASSWORD);
    let token_url = url("/fintiv/auth/oauth/token");
    let a = json_call(
        &mut r,
        http.post(&token_url).header("api-key", &t.key).form(&[
            ("grant_type", "password"),
            ("username", "racer"),
            ("password", FINTIV_PASSWORD),
        ]),
    )
    .await;
    let access = a.json["access_token"].as_str().expect("access").to_owned();
    let refresh = a.json["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    r.issued("Fintiv refresh token", &refresh);
    json_call(
        &mut r,
        fintiv(
            server,
            &t,
            Method::POST,
            "/auth/api/myinfo/changePin",
            &access,
        )
        .json(&json!({ "newPin": PIN })),
    )
    .await;
    json_call(&mut r, fintiv(server, &t, Method::POST, "/auth/api/myinfo/securityAnswer", &access).json(&json!({
        "answer": ANSWER, "securityQuestion": { "id": question.id, "question": question.question },
    }))).await;
    json_call(
        &mut r,
        fintiv(
            server,
            &t,
            Method::GET,
            "/auth/api/myinfo/securityQuestions",
            &access,
        ),
    )
    .await;
    json_call(
        &mut r,
        fintiv(server, &t, Method::GET, "/auth/api/myinfo", &access),
    )
    .await;
    json_call(
        &mut r,
        http.post(url("/fintiv/auth/api/validate/pin"))
            .header("api-key", &t.key)
            .header("tenantName", &t.name)
            .json(&json!({ "pin": PIN, "uuid": t.consumer_id })),
    )
    .await;
    let a = json_call(
        &mut r,
        http.post(&token_url)
            .header("api-key", &t.key)
            .header("tenantName", &t.name)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ]),
    )
    .await;
    let access = a.json["access_token"].as_str().expect("access").to_owned();
    r.issued(
        "Fintiv rotated refresh token",
        a.json["refresh_token"].as_str().expect("refresh"),
    );
    json_call(
        &mut r,
        fintiv(
            server,
            &t,
            Method::POST,
            "/auth/api/myinfo/changePassword",
            &access,
        )
        .json(&json!({
            "currentPassword": FINTIV_PASSWORD, "newPassword": FINTIV_NEW_PASSWORD,
        })),
    )
    .await;
    // The records of all this, as the admin API shows them.
    let consumer: Uuid = t.consumer_id.parse().expect("uuid");
    let a = json_call(
        &mut r,
        fintiv(
            server,
            &t,
            Method::GET,
            &format!("/auth/admin/client/person/audit/{consumer}"),
            &t.admin_token,
        ),
    )
    .await;
    let api_audit = a.text.clone();
    assert!(
        a.json["responseData"]
            .as_array()
            .is_some_and(|l| l.len() >= 5),
        "{a:?}"
    );

    // The search finds what is there: the outbox legitimately holds the codes and the link.
    let outbox = std::fs::read_to_string(server.outbox_path()).expect("outbox");
    for (what, s) in r
        .secrets
        .iter()
        .filter(|(w, _)| w.contains("code") || w.contains("reset"))
    {
        assert!(contains(&outbox, s), "the {what} is not even in the outbox");
    }

    // Every answer: no secret at all, and issued tokens only where they were issued.
    for (i, a) in r.answers.iter().enumerate() {
        for (what, s) in &r.secrets {
            assert!(!contains(&a.text, s), "answer {i} shows the {what}: {a:?}");
        }
        for (what, s, at) in &r.issued {
            assert!(
                i == *at || !a.text.contains(s.as_str()),
                "answer {i} repeats the {what}: {a:?}"
            );
        }
    }
    // The audit records, through the API and in the store.
    let default = idp.tenant("default").await.expect("tenant");
    let mut audit = vec![api_audit];
    for (tid, login) in [
        (default.id, email),
        (default.id, bio),
        (default.id, "switch.leaky@example.com"),
        (tenant.id, "racer"),
    ] {
        let account = idp
            .find_account(tid, AccountKey::Login(login.into()))
            .await
            .expect("lookup")
            .expect("account");
        let records = idp
            .list_audit(&Context::system(), account.id, Page::default())
            .await
            .expect("audit");
        assert!(!records.is_empty(), "{login} has audit records");
        audit.push(format!("{records:?}"));
    }
    let everything_issued: Vec<(String, String)> = r
        .issued
        .iter()
        .map(|(w, s, _)| (w.clone(), s.clone()))
        .collect();
    for text in &audit {
        for (what, s) in r.secrets.iter().chain(&everything_issued) {
            assert!(
                !contains(text, s),
                "an audit record shows the {what}: {text}"
            );
        }
    }
    // The logs: they did capture this server's requests, and hold none of the secrets.
    let text = logs.text();
    assert!(
        text.contains("/fintract/auth/register/") && text.contains("/fintiv/auth/oauth/token"),
        "logs were not captured"
    );
    for (what, s) in r.secrets.iter().chain(&everything_issued) {
        assert!(!contains(&text, s), "the logs show the {what}");
    }
}
