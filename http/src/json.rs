//! Clear, safe messages for JSON bodies axum could not read. Surfaces put the message into their
//! own envelope; the status is the one the rejection calls for (400, 413, 415, 422).

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;

/// Status and message for a rejected JSON body. The message never echoes the body.
pub fn describe_json_rejection(rejection: &JsonRejection) -> (StatusCode, String) {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected a body with Content-Type: application/json".into(),
        ),
        JsonRejection::JsonSyntaxError(e) => (
            StatusCode::BAD_REQUEST,
            format!("malformed JSON: {}", inner(e.body_text())),
        ),
        JsonRejection::JsonDataError(e) => (
            StatusCode::BAD_REQUEST,
            format!("invalid request body: {}", inner(e.body_text())),
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large".into(),
        ),
        other => (other.status(), "could not read the request body".into()),
    }
}

/// axum's text is "Failed to deserialize the JSON body into the target type: <serde message>";
/// keep the serde part, which names the field and position, and cap its length.
fn inner(text: String) -> String {
    let msg = text
        .rsplit_once(": ")
        .map_or(text.as_str(), |(_, m)| m)
        .to_owned();
    if msg.chars().count() > 200 {
        msg.chars().take(200).collect::<String>() + "…"
    } else {
        msg
    }
}
