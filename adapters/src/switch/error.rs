//! The one place where core errors (and unreadable requests) become Switch's wire format:
//! `{"message": "..."}` with a matching HTTP status.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::Error;
use idp_core::store::UniqueField;
use serde_json::json;

/// Where an error happened: the wording of some failures depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// The client and checksum check in front of every call.
    Checksum,
    /// Reading the surface's own app client.
    Surface,
    /// The per-IP budget.
    Throttle,
    Register,
    Login,
    ForgotPassword,
    ResetPassword,
    UnlockAccount,
    ResendUnlockEmail,
    Logout,
    ValidateBvn,
    SendEmailConfirmation,
    ConfirmEmail,
    Referrer,
}

/// An error answer of the Switch surface.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// No `SWI-CID` header.
    pub fn missing_client() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "SWI-CID header is required")
    }

    /// A body larger than the checksum layer reads.
    pub fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
    }

    /// A body that is not JSON, not of the expected shape, or not sent as JSON (400/413/415).
    pub fn rejection(rejection: &JsonRejection) -> Self {
        let (status, message) = idp_http::describe_json_rejection(rejection);
        Self::new(status, message)
    }

    /// A core error at `op`.
    pub fn core(op: Op, e: Error) -> Self {
        use StatusCode as S;
        match e {
            Error::InvalidClient if op == Op::Checksum => {
                Self::new(S::UNAUTHORIZED, "Unknown client")
            }
            Error::InvalidCredentials if op == Op::Checksum => {
                Self::new(S::UNAUTHORIZED, "Invalid or missing checksum")
            }
            Error::Invalid { field, reason } => {
                Self::new(S::BAD_REQUEST, format!("{field} {reason}"))
            }
            Error::Conflict(field) => Self::new(
                S::CONFLICT,
                match field {
                    UniqueField::Email | UniqueField::Username => {
                        "A user with this email already exists".to_owned()
                    }
                    UniqueField::Phone => "A user with this phone number already exists".to_owned(),
                    other => format!("{} already in use", other.as_str()),
                },
            ),
            Error::InvalidCredentials => match op {
                Op::Login => Self::new(S::UNAUTHORIZED, "Invalid email or password"),
                Op::ResetPassword => Self::new(S::BAD_REQUEST, "Invalid security question answer"),
                _ => Self::new(S::UNAUTHORIZED, "Invalid credentials"),
            },
            Error::ChallengeClosed => match op {
                Op::Login => Self::new(S::UNAUTHORIZED, "Invalid or expired two factor token"),
                Op::ResetPassword => {
                    Self::new(S::BAD_REQUEST, "Invalid or expired reset password token")
                }
                Op::UnlockAccount => Self::new(S::BAD_REQUEST, "Invalid or expired unlock token"),
                Op::ConfirmEmail => {
                    Self::new(S::BAD_REQUEST, "Invalid or expired confirmation token")
                }
                _ => Self::new(S::BAD_REQUEST, "Invalid or expired token"),
            },
            Error::InvalidToken | Error::InvalidGrant(_) => {
                Self::new(S::UNAUTHORIZED, "Invalid or expired session token")
            }
            Error::Unauthenticated => Self::new(S::UNAUTHORIZED, "Authorization token required"),
            Error::AccountLocked => Self::new(
                S::UNAUTHORIZED,
                "Account is locked, check your email for unlock instructions",
            ),
            Error::AccountInactive => Self::new(S::UNAUTHORIZED, "Account is inactive"),
            Error::AccountDisabled => Self::new(S::UNAUTHORIZED, "Account is disabled"),
            Error::PendingApproval => Self::new(S::UNAUTHORIZED, "Account is waiting for approval"),
            Error::SecondFactorRequired => {
                Self::new(S::UNAUTHORIZED, "Two factor authentication required")
            }
            Error::Forbidden(_) => Self::new(S::FORBIDDEN, "Forbidden"),
            Error::NotFound(what) => Self::new(S::NOT_FOUND, format!("{what} not found")),
            Error::InvalidScope(d) => Self::new(S::BAD_REQUEST, d),
            Error::RateLimited { retry_after_secs } => {
                let mut e = Self::new(
                    S::TOO_MANY_REQUESTS,
                    format!("Too many requests, retry in {retry_after_secs} s"),
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            Error::Overloaded | Error::Unavailable => {
                let mut e = Self::new(S::SERVICE_UNAVAILABLE, "Service unavailable, retry later");
                e.retry_after = Some(1);
                e
            }
            // The surface's own app client is missing or misconfigured: a fault of the server.
            Error::InvalidClient | Error::UnauthorizedClient(_) => {
                tracing::error!(error = %e, ?op, "Switch app client unusable");
                Self::new(S::INTERNAL_SERVER_ERROR, "Internal server error")
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error on the Switch surface");
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
        let mut res = (self.status, Json(json!({ "message": self.message }))).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
