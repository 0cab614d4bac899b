//! The one place where core errors (and unreadable requests) become BioEntrust's wire format:
//! `{"error": "..."}` with 400/401/409 as the document shows, `{"status":"error","message":...}`
//! for server faults and for `/user/protected`'s 401, which the document draws that way.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::Error;
use idp_core::store::UniqueField;
use serde_json::{Value, json};

/// The endpoint an error happened at: the document words some failures per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// The per-IP budget spent before every rate-limited call.
    Throttle,
    Protected,
    Signup,
    VerifyEmail,
    Signin,
    VerifySms,
    Signout,
    Refresh,
    ForgotPassword,
    ResetPassword,
}

/// An error answer of the BioEntrust surface.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
    bearer_challenge: bool,
}

impl ApiError {
    /// `{"error": message}`.
    pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "error": message.into() }),
            retry_after: None,
            bearer_challenge: false,
        }
    }

    /// `{"status": "error", "message": message}`.
    fn status_message(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "status": "error", "message": message.into() }),
            retry_after: None,
            bearer_challenge: false,
        }
    }

    fn unauthorized(op: Op, message: &str) -> Self {
        let mut e = if op == Op::Protected {
            Self::status_message(StatusCode::UNAUTHORIZED, "Unauthorized")
        } else {
            Self::error(StatusCode::UNAUTHORIZED, message)
        };
        e.bearer_challenge = true;
        e
    }

    /// A body that is not JSON, not of the expected shape, or not sent as JSON (400/413/415).
    pub fn rejection(rejection: &JsonRejection) -> Self {
        let (status, message) = idp_http::describe_json_rejection(rejection);
        Self::error(status, message)
    }

    /// A core error at `op`.
    pub fn core(op: Op, e: Error) -> Self {
        use StatusCode as S;
        match e {
            Error::Invalid { field, reason } => {
                // The document's wording: "Password should be more than 7 characters".
                let message = if field == "password" {
                    format!("Password {reason}")
                } else {
                    format!("Invalid {field}: {reason}")
                };
                Self::error(S::BAD_REQUEST, message)
            }
            Error::Conflict(field) => Self::error(
                S::CONFLICT,
                match field {
                    UniqueField::Email | UniqueField::Username => {
                        "Email address already in use".to_owned()
                    }
                    UniqueField::Phone => "Phone number already in use".to_owned(),
                    other => format!("{} already in use", other.as_str()),
                },
            ),
            Error::InvalidCredentials
            | Error::ChallengeClosed
            | Error::InvalidToken
            | Error::InvalidGrant(_) => match op {
                Op::Signin => Self::error(S::UNAUTHORIZED, "Invalid login credentials"),
                Op::VerifyEmail => Self::error(S::UNAUTHORIZED, "Signup Failed"),
                Op::VerifySms => Self::error(S::UNAUTHORIZED, "Verification failed"),
                Op::ResetPassword => Self::error(S::BAD_REQUEST, "Invalid token or password"),
                Op::Signout | Op::Refresh => {
                    Self::unauthorized(op, "Invalid or expired refresh token")
                }
                _ => Self::unauthorized(op, "Unauthorized"),
            },
            Error::Unauthenticated => Self::unauthorized(
                op,
                match op {
                    Op::Signout | Op::Refresh => "Refresh token required as Bearer",
                    _ => "Bearer token required",
                },
            ),
            Error::AccountLocked => Self::error(S::UNAUTHORIZED, "Account is locked"),
            Error::AccountInactive => Self::error(S::UNAUTHORIZED, "Account is inactive"),
            Error::AccountDisabled => Self::error(S::UNAUTHORIZED, "Account is disabled"),
            Error::PendingApproval => {
                Self::error(S::UNAUTHORIZED, "Account is waiting for approval")
            }
            Error::SecondFactorRequired => {
                Self::error(S::UNAUTHORIZED, "A second factor is required")
            }
            Error::Forbidden(_) => Self::error(S::FORBIDDEN, "Forbidden"),
            Error::NotFound(what) => Self::error(S::NOT_FOUND, format!("{what} not found")),
            Error::InvalidScope(d) => Self::error(S::BAD_REQUEST, d),
            Error::RateLimited { retry_after_secs } => {
                let mut e = Self::error(
                    S::TOO_MANY_REQUESTS,
                    format!("Too many requests, retry in {retry_after_secs} s"),
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            Error::Overloaded | Error::Unavailable => {
                let mut e = Self::status_message(
                    S::SERVICE_UNAVAILABLE,
                    "Service unavailable, retry later",
                );
                e.retry_after = Some(1);
                e
            }
            // The adapter's own app client is missing or misconfigured: a fault of the server.
            Error::InvalidClient | Error::UnauthorizedClient(_) => {
                tracing::error!(error = %e, "BioEntrust app client unusable");
                Self::status_message(S::INTERNAL_SERVER_ERROR, "Internal server error")
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error on the BioEntrust surface");
                Self::status_message(S::INTERNAL_SERVER_ERROR, "Internal server error")
            }
        }
    }
}

/// `map_err(at(Op::Signin))`: core errors of one endpoint.
pub fn at(op: Op) -> impl Fn(Error) -> ApiError {
    move |e| ApiError::core(op, e)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.body)).into_response();
        let h = res.headers_mut();
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.bearer_challenge {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"bioentrust\""),
            );
        }
        res
    }
}
