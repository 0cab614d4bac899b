//! The one place where core errors (and unreadable requests) become Fintract's wire format.
//! Every error is `{"detail": "..."}` (the Django REST framework style the document's API comes
//! from; success answers keep the document's `msg`/`message`), with 400, 401, 403, 404 as the
//! document's API would answer, 413/415 for bodies that cannot be read, 429 and 503 with
//! `Retry-After`, and a bare 500 for server faults (logged, never detailed).

use axum::Json;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::Error;
use serde_json::json;

/// The endpoint an error happened at, where the wording differs per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Login,
    VerifyOtp,
    VerifyEmail,
    Other,
}

/// An error answer of the Fintract surface.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    retry_after: Option<u64>,
    bearer_challenge: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            retry_after: None,
            bearer_challenge: false,
        }
    }

    fn unauthorized(detail: &str) -> Self {
        Self {
            bearer_challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, detail)
        }
    }

    /// A JSON body that is malformed, of the wrong shape, too large or not sent as JSON.
    pub fn rejection(rejection: &JsonRejection) -> Self {
        let (status, message) = idp_http::describe_json_rejection(rejection);
        Self::new(status, message)
    }

    /// A request that is not `multipart/form-data` (415) or cannot be parsed as it.
    pub fn multipart_rejection(rejection: &MultipartRejection) -> Self {
        let status = rejection.status();
        let status = if status == StatusCode::BAD_REQUEST {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        } else {
            status
        };
        Self::new(
            status,
            "expected a multipart/form-data body with a `file` part",
        )
    }

    /// A multipart body that breaks off, is malformed, or exceeds the body limit (413).
    pub fn multipart(e: &MultipartError) -> Self {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(status, "file too large")
        } else {
            Self::new(
                StatusCode::BAD_REQUEST,
                "malformed multipart/form-data body",
            )
        }
    }

    /// A core error at `op`.
    pub fn core(op: Op, e: Error) -> Self {
        use StatusCode as S;
        match e {
            Error::Invalid { field, reason } => {
                Self::new(S::BAD_REQUEST, format!("Invalid {field}: {reason}"))
            }
            Error::Conflict(field) => Self::new(
                S::BAD_REQUEST,
                format!("A user with this {} already exists.", field.as_str()),
            ),
            Error::InvalidCredentials => match op {
                Op::Login => Self::unauthorized("Invalid email or password"),
                Op::VerifyOtp => Self::unauthorized("Invalid OTP"),
                _ => Self::unauthorized("Invalid credentials"),
            },
            Error::ChallengeClosed => match op {
                Op::VerifyOtp => {
                    Self::unauthorized("OTP expired, already used or never requested; log in again")
                }
                _ => Self::new(S::BAD_REQUEST, "Invalid or expired token"),
            },
            Error::InvalidToken | Error::InvalidGrant(_) => {
                Self::unauthorized("Given token not valid for any token type")
            }
            Error::Unauthenticated => {
                Self::unauthorized("Authentication credentials were not provided.")
            }
            Error::SecondFactorRequired => Self::unauthorized("A second factor is required"),
            Error::AccountLocked => Self::new(S::FORBIDDEN, "Account is locked"),
            Error::AccountInactive => Self::new(S::FORBIDDEN, "Account is inactive"),
            Error::AccountDisabled => Self::new(S::FORBIDDEN, "Account is deactivated"),
            Error::PendingApproval => {
                Self::new(S::FORBIDDEN, "Account is waiting for admin approval")
            }
            Error::Forbidden(_) => Self::new(
                S::FORBIDDEN,
                "You do not have permission to perform this action.",
            ),
            Error::NotFound(what) => Self::new(S::NOT_FOUND, format!("{what} not found")),
            Error::InvalidScope(d) => Self::new(S::BAD_REQUEST, d),
            Error::RateLimited { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    S::TOO_MANY_REQUESTS,
                    format!(
                        "Request was throttled. Expected available in {retry_after_secs} seconds."
                    ),
                )
            },
            Error::Overloaded | Error::Unavailable => Self {
                retry_after: Some(1),
                ..Self::new(S::SERVICE_UNAVAILABLE, "Service unavailable, retry later")
            },
            // The surface's own app client is missing or misconfigured: a server fault.
            Error::InvalidClient | Error::UnauthorizedClient(_) => {
                tracing::error!(error = %e, "Fintract app client unusable");
                Self::new(S::INTERNAL_SERVER_ERROR, "Internal server error")
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error on the Fintract surface");
                Self::new(S::INTERNAL_SERVER_ERROR, "Internal server error")
            }
        }
    }
}

/// `map_err(at(Op::Login))`: core errors of one endpoint.
pub fn at(op: Op) -> impl Fn(Error) -> ApiError {
    move |e| ApiError::core(op, e)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(json!({ "detail": self.detail }))).into_response();
        let h = res.headers_mut();
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.bearer_challenge {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"fintract\""),
            );
        }
        res
    }
}
