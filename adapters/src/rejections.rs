//! axum answers the requests its extractors refuse (a path segment that is not UTF-8, a query
//! string of the wrong shape, a header it cannot read) in plain text. Legacy clients parse the
//! vendor's envelope on every 4xx, so each surface runs its answers through [`in_envelope`],
//! which rewraps those refusals (status kept, message capped) in the surface's own error type.

use axum::body::to_bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Longest refusal text read back; axum's are one short line.
const MAX_TEXT: usize = 4 * 1024;
/// Longest message passed on (the text may quote a path segment).
const MAX_MESSAGE: usize = 200;

/// `res` unchanged, unless it is a plain-text 4xx: then `wrap(status, text)`.
pub async fn in_envelope<E: IntoResponse>(
    res: Response,
    wrap: fn(StatusCode, String) -> E,
) -> Response {
    let status = res.status();
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/plain"));
    if !status.is_client_error() || !plain {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = match to_bytes(body, MAX_TEXT).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    let mut message: String = text.trim().chars().take(MAX_MESSAGE).collect();
    if message.is_empty() {
        message = status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_owned();
    }
    let mut out = wrap(status, message).into_response();
    // Keep what the layers inside set (Cache-Control, challenges), but the new body's type.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut()
                .entry(name)
                .or_insert_with(|| value.clone());
        }
    }
    out
}
