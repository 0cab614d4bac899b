//! OAuth errors (RFC 6749 §5.2, RFC 6750 §3): the one place where core errors become the
//! protocol's wire format.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::Error;
use serde_json::json;

#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// Set for 401s: the challenge the client should answer.
    pub www_authenticate: Option<String>,
    /// Set for 429s: seconds until the client may try again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }

    /// Too many requests (429) with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests, retry in {retry_after_secs} s"),
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client(basic_used: bool) -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
        if basic_used {
            e.www_authenticate = Some("Basic realm=\"idp\"".into());
        }
        e
    }

    /// A bearer-token failure at a protected resource (RFC 6750 §3.1).
    pub fn invalid_token() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is missing, expired, revoked or malformed",
        );
        e.www_authenticate = Some("Bearer error=\"invalid_token\"".into());
        e
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        match e {
            Error::Invalid { field, reason } => Self::invalid_request(format!("{field} {reason}")),
            Error::InvalidClient => Self::invalid_client(false),
            Error::InvalidGrant(d) => Self::new(S::BAD_REQUEST, "invalid_grant", d),
            Error::UnauthorizedClient(d) => Self::new(S::BAD_REQUEST, "unauthorized_client", d),
            Error::InvalidScope(d) => Self::new(S::BAD_REQUEST, "invalid_scope", d),
            Error::InvalidToken | Error::Unauthenticated => Self::invalid_token(),
            Error::RateLimited { retry_after_secs } => Self::rate_limited(retry_after_secs),
            Error::Overloaded | Error::Unavailable => Self::new(
                S::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again later",
            ),
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error on the OAuth surface");
                Self::new(S::INTERNAL_SERVER_ERROR, "server_error", "internal error")
            }
            other => Self::new(S::BAD_REQUEST, "invalid_request", other.to_string()),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut res = (self.status, axum::Json(body)).into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self
            .www_authenticate
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            h.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
