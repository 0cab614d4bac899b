//! What every route shares: health, readiness, JSON 404/405, request ids, the body limit.

use idp_e2e::{TestServer, http};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};

use crate::both_stores;

both_stores!(
    healthz,
    readyz,
    unknown_route_is_json_404,
    wrong_method_is_json_405,
    request_id_is_generated,
    plain_request_id_is_echoed,
    malicious_request_id_is_replaced,
);

async fn get_json(server: &TestServer, path: &str) -> (StatusCode, Value) {
    let res = http()
        .get(server.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = res.status();
    (status, json_body(res).await)
}

/// The body as JSON, after checking the content type says so.
async fn json_body(res: reqwest::Response) -> Value {
    let ct = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        ct.starts_with("application/json"),
        "content-type {ct:?} for {}",
        res.url()
    );
    res.json().await.expect("JSON body")
}

fn request_id(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-request-id")
        .expect("x-request-id on the response")
        .to_str()
        .expect("ASCII request id")
        .to_owned()
}

#[track_caller]
fn assert_generated_id(id: &str) {
    assert_eq!(id.len(), 36, "not a generated uuid: {id:?}");
    uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("not a uuid: {id:?}: {e}"));
}

async fn healthz(server: &TestServer) {
    let (status, body) = get_json(server, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "status": "ok" }));
}

async fn readyz(server: &TestServer) {
    let (status, body) = get_json(server, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(
        body["checks"]["database"]["kind"],
        server.store_kind(),
        "{body}"
    );
    assert_eq!(body["checks"]["database"]["state"], "ok", "{body}");
}

async fn unknown_route_is_json_404(server: &TestServer) {
    for path in ["/nope", "/healthz/extra", "/.well-known/nothing-here"] {
        let (status, body) = get_json(server, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"], "not_found", "{path}: {body}");
        let message = body["message"].as_str().expect("message");
        assert!(message.contains(path), "{path}: {body}");
    }
}

async fn wrong_method_is_json_405(server: &TestServer) {
    let client = http();
    for (method, path) in [
        (reqwest::Method::POST, "/healthz"),
        (reqwest::Method::DELETE, "/readyz"),
        (reqwest::Method::PUT, "/healthz"),
    ] {
        let res = client
            .request(method.clone(), server.url(path))
            .send()
            .await
            .expect("send");
        assert_eq!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let body = json_body(res).await;
        assert_eq!(
            body["error"], "method_not_allowed",
            "{method} {path}: {body}"
        );
    }
}

async fn request_id_is_generated(server: &TestServer) {
    let client = http();
    let mut seen = Vec::new();
    for path in ["/healthz", "/healthz", "/nope"] {
        let res = client.get(server.url(path)).send().await.expect("send");
        let id = request_id(&res);
        assert_generated_id(&id);
        seen.push(id);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "request ids repeat: {seen:?}");
}

async fn plain_request_id_is_echoed(server: &TestServer) {
    let client = http();
    let longest = "a".repeat(64);
    for (path, id) in [
        ("/healthz", "abc-123_X.y"),
        ("/readyz", "trace.0001"),
        ("/nope", "404-trace"),
        ("/healthz", longest.as_str()),
    ] {
        let res = client
            .get(server.url(path))
            .header("x-request-id", id)
            .send()
            .await
            .expect("send");
        assert_eq!(request_id(&res), id, "{path}");
    }
}

async fn malicious_request_id_is_replaced(server: &TestServer) {
    let client = http();
    let too_long = "b".repeat(65);
    let candidates = [
        HeaderValue::from_static("has space"),
        HeaderValue::from_str(&too_long).expect("header"),
        HeaderValue::from_static("semi;colon"),
        HeaderValue::from_static("a\"quote"),
        HeaderValue::from_bytes("caf\u{e9}".as_bytes()).expect("obs-text header"),
        HeaderValue::from_static(""),
    ];
    for sent in candidates {
        let res = client
            .get(server.url("/healthz"))
            .header("x-request-id", sent.clone())
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), StatusCode::OK);
        let id = request_id(&res);
        assert_ne!(id.as_bytes(), sent.as_bytes());
        assert_generated_id(&id);
    }
}

/// Bodies past `http.body_limit` are refused with 413 (415 where the route reads another content
/// type first, 404/405 where no route takes a body), never a 5xx, and the server keeps serving.
mod body_limit {
    use super::*;

    const LIMIT: usize = 2048;

    async fn oversized_bodies_are_refused(server: &TestServer) {
        let client = http();
        let big = vec![b'x'; LIMIT * 8];
        let big_json = serde_json::to_vec(&json!({ "blob": "y".repeat(LIMIT * 8) })).unwrap();
        for (method, path) in [
            (reqwest::Method::POST, "/healthz"),
            (reqwest::Method::PUT, "/readyz"),
            (reqwest::Method::POST, "/nope"),
            (reqwest::Method::POST, "/token"),
            (reqwest::Method::POST, "/fintract/auth/register/"),
            (reqwest::Method::PATCH, "/switch/user/login"),
        ] {
            for (ct, body) in [
                ("application/octet-stream", big.clone()),
                ("application/json", big_json.clone()),
                ("application/x-www-form-urlencoded", big.clone()),
            ] {
                let res = client
                    .request(method.clone(), server.url(path))
                    .header(CONTENT_TYPE, ct)
                    .body(body)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{method} {path} ({ct}): {e}"));
                let status = res.status();
                assert!(
                    matches!(
                        status,
                        StatusCode::PAYLOAD_TOO_LARGE
                            | StatusCode::UNSUPPORTED_MEDIA_TYPE
                            | StatusCode::NOT_FOUND
                            | StatusCode::METHOD_NOT_ALLOWED
                    ),
                    "{method} {path} ({ct}) with {} bytes: {status}",
                    LIMIT * 8
                );
            }
        }
        // Still serving.
        let (status, _) = get_json(server, "/healthz").await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let server = idp_e2e::start_sqlite_with(|c| c.http.body_limit = LIMIT).await;
        oversized_bodies_are_refused(&server).await;
        server.stop().await.expect("graceful stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(server) = idp_e2e::start_postgres_with(|c| c.http.body_limit = LIMIT).await {
            oversized_bodies_are_refused(&server).await;
            server.stop().await.expect("graceful stop");
        }
    }
}
