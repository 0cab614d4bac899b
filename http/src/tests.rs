//! The shared layers, exercised through a small router with `oneshot` (no socket needed).

use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{HttpLimits, REQUEST_ID, describe_json_rejection, harden};

#[derive(Deserialize)]
struct Login {
    #[allow(dead_code)]
    email: String,
}

async fn echo(body: Result<Json<Login>, JsonRejection>) -> Response {
    match body {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => {
            let (status, msg) = describe_json_rejection(&r);
            (status, Json(json!({ "msg": msg }))).into_response()
        }
    }
}

async fn panics() -> &'static str {
    panic!("secret detail")
}

fn app() -> Router {
    let r = Router::new()
        .route("/login", post(echo))
        .route("/panic", get(panics))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    harden(
        r,
        HttpLimits {
            body_limit: 1024,
            request_timeout: Duration::from_millis(200),
        },
    )
}

async fn call(req: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let res = app().oneshot(req).await.expect("infallible");
    let status = res.status();
    let rid = res
        .headers()
        .get(REQUEST_ID)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        rid,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn post_json(body: impl Into<Body>, content_type: &str) -> Request<Body> {
    Request::post("/login")
        .header("content-type", content_type)
        .body(body.into())
        .expect("request")
}

#[tokio::test]
async fn good_json_passes() {
    let (status, rid, _) = call(post_json(r#"{"email":"a@b.c"}"#, "application/json")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        rid.map(|r| r.len()),
        Some(36),
        "a uuid request id is generated"
    );
}

#[tokio::test]
async fn malformed_json_is_400_with_position() {
    let (status, _, body) = call(post_json(r#"{"email": "#, "application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let msg = body["msg"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("malformed JSON") && msg.contains("line 1"),
        "{msg}"
    );
}

#[tokio::test]
async fn wrong_shape_names_the_field() {
    let (status, _, body) = call(post_json(r#"{"mail":"x"}"#, "application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["msg"].as_str().unwrap_or_default().contains("email"),
        "{body}"
    );
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let (status, _, body) = call(post_json(r#"{"email":"a@b.c"}"#, "text/plain")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("application/json")
    );
}

#[tokio::test]
async fn oversized_body_is_413() {
    let big = format!(r#"{{"email":"{}"}}"#, "a".repeat(2048));
    let (status, _, _) = call(post_json(big, "application/json")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn unknown_route_and_method_answer_json() {
    let (status, _, body) = call(Request::get("/nope").body(Body::empty()).expect("req")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let (status, _, body) = call(Request::get("/login").body(Body::empty()).expect("req")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"], "method_not_allowed");
}

#[tokio::test]
async fn client_request_id_kept_only_when_plain() {
    let req = Request::get("/nope")
        .header(REQUEST_ID, "abc-123")
        .body(Body::empty())
        .expect("req");
    assert_eq!(call(req).await.1.as_deref(), Some("abc-123"));
    let req = Request::get("/nope")
        .header(REQUEST_ID, "x".repeat(100))
        .body(Body::empty())
        .expect("req");
    assert_eq!(call(req).await.1.map(|r| r.len()), Some(36));
}

#[tokio::test]
async fn panic_is_500_without_detail() {
    let (status, _, body) = call(Request::get("/panic").body(Body::empty()).expect("req")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!body.to_string().contains("secret detail"));
}

#[tokio::test]
async fn slow_request_hits_the_deadline() {
    let (status, _, body) = call(Request::get("/slow").body(Body::empty()).expect("req")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "timeout");
}
