//! Request ids: every request carries one in `x-request-id` (kept from the client when it is
//! short and plain, generated otherwise), echoed on the response and put in the request's span
//! (with the method, the route template and the status).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const REQUEST_ID: &str = "x-request-id";

/// The request's id, as a request extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client may choose its id only if it is harmless in logs: 1–64 of `[A-Za-z0-9._-]`.
fn acceptable(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

pub(crate) async fn assign(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // Plain ASCII by construction, so the header value always builds.
    let value = HeaderValue::from_str(&id).ok();
    if let Some(v) = &value {
        req.headers_mut().insert(REQUEST_ID, v.clone());
    }
    req.extensions_mut().insert(RequestId(id.clone()));
    // The route template, not the raw path: paths can carry ids and tokens, and this span is
    // exported (OpenTelemetry) as well as logged.
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        request_id = %id,
        http.request.method = %req.method(),
        http.route = crate::metrics::route(&req),
        http.response.status_code = tracing::field::Empty,
    );
    let mut res = {
        let _enter = span.enter();
        tracing::debug!("start");
        drop(_enter);
        tracing::Instrument::instrument(next.run(req), span.clone()).await
    };
    if let Some(v) = value {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    let status = res.status().as_u16();
    span.record("http.response.status_code", status);
    let _enter = span.enter();
    tracing::info!(status, "done");
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn acceptable_ids() {
        assert!(super::acceptable("abc-123_x.y"));
        assert!(!super::acceptable(""));
        assert!(!super::acceptable("has space"));
        assert!(!super::acceptable(&"a".repeat(65)));
        assert!(!super::acceptable("inject\nline"));
    }
}
