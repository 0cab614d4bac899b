//! The layers every router gets, outermost first: request id, metrics, panic guard, deadline,
//! body limit,
//! and JSON answers for unknown routes and methods.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::{metrics, request_id};

#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub body_limit: usize,
    pub request_timeout: Duration,
}

/// A JSON error for answers that belong to no surface (unknown route, timeout, panic):
/// `{"error": code, "message": text}`.
pub fn plain_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({ "error": code, "message": message.into() })),
    )
        .into_response()
}

/// Applies the shared layers. Surfaces' own fallbacks (nested routers) take precedence over the
/// JSON 404 set here.
pub fn harden<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    limits: HttpLimits,
) -> Router<S> {
    let timeout = limits.request_timeout;
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.body_limit))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            deadline(req, next, timeout)
        }))
        .layer(CatchPanicLayer::custom(|_panic| {
            // The panic message may hold anything: it goes to the log, never to the client.
            tracing::error!("handler panicked");
            plain_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal error",
            )
        }))
        // Inside the request id: a panic (500) or a deadline (503) is measured like any answer.
        .layer(middleware::from_fn(metrics::track))
        .layer(middleware::from_fn(request_id::assign))
}

async fn deadline(req: Request, next: Next, timeout: Duration) -> Response {
    match tokio_timeout(timeout, next.run(req)).await {
        Some(res) => res,
        None => plain_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long; retry later",
        ),
    }
}

async fn tokio_timeout<F: Future<Output = Response>>(d: Duration, f: F) -> Option<Response> {
    tokio::time::timeout(d, f).await.ok()
}

async fn not_found(req: Request) -> Response {
    plain_error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {}", req.method(), req.uri().path()),
    )
}

async fn method_not_allowed(req: Request) -> Response {
    plain_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}
