//! The defects the campaign found, pinned down one request each (both stores).

use idp_e2e::TestServer;
use reqwest::StatusCode;
use serde_json::Value;

use super::auth::Credentials;
use super::ops::{BodyKind, Operation, Surface};
use crate::both_stores;

both_stores!(path_ids_that_are_not_utf8, nul_in_lookups);

fn op(method: reqwest::Method, path: &str) -> Operation {
    Operation {
        method,
        path: path.into(),
        surface: Surface::of(path),
        body: BodyKind::None,
        fields: Vec::new(),
    }
}

/// GET `target` with the valid credentials of `template`'s surface.
async fn get(
    server: &TestServer,
    creds: &Credentials,
    template: &str,
    target: &str,
) -> (StatusCode, Value) {
    let auth = creds
        .fresh(server, &op(reqwest::Method::GET, template))
        .await;
    let mut req = idp_e2e::http().get(server.url(target));
    for (k, v) in &auth.headers {
        req = req.header(k, v);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text:?}: {e}"));
    (status, body)
}

/// axum refused these in plain text; each surface now answers in its own envelope.
async fn path_ids_that_are_not_utf8(server: &TestServer) {
    let creds = Credentials::set_up(server).await;
    let tenant = "/fintiv/auth/admin/client/{tenantName}";
    let (status, body) = get(server, &creds, tenant, "/fintiv/auth/admin/client/%FF%FE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["contextResponse"]["statusCode"], "VALIDATION",
        "{body}"
    );
    assert!(body["responseData"].is_null(), "{body}");

    let info = "/fintract/auth/info/{id}/";
    let (status, body) = get(server, &creds, info, "/fintract/auth/info/%C0%AF/").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["detail"].is_string(), "{body}");

    let referrer = "/switch/user/referrer/{switch_id}";
    let (status, body) = get(server, &creds, referrer, "/switch/user/referrer/%ED%A0%80").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].is_string(), "{body}");
}

/// PostgreSQL refuses text with NUL (SQLSTATE 22021): lookups by such ids were 500s there.
async fn nul_in_lookups(server: &TestServer) {
    let creds = Credentials::set_up(server).await;
    let tenant = "/fintiv/auth/admin/client/{tenantName}";
    let (status, body) = get(
        server,
        &creds,
        tenant,
        "/fintiv/auth/admin/client/abc%00def",
    )
    .await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body["contextResponse"]["statusCode"].is_string(), "{body}");

    let person = "/fintiv/auth/admin/client/person/{uuid}";
    let (status, body) = get(
        server,
        &creds,
        person,
        "/fintiv/auth/admin/client/person/%00",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["contextResponse"]["statusCode"], "NOT_FOUND", "{body}");
}
