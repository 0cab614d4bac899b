//! The one place where core errors (and unreadable requests) become Fintiv's wire format: the
//! envelope `{"contextResponse":{tenantName, statusCode, statusMessage, additionalStatusCode,
//! additionalStatusMessage}, "responseData": null}` with an HTTP status matching `statusCode`:
//!
//! | statusCode | HTTP | core errors |
//! | --- | --- | --- |
//! | `VALIDATION` | 400 (413/415 for bodies that cannot be read) | `Invalid`, `InvalidScope`, `InvalidGrant` at the token endpoint, unreadable bodies |
//! | `UNAUTHORIZED` | 401 | missing/wrong `api-key` or `tenantName`, bad bearer, wrong credentials, account not active (`additionalStatusCode` names the status) |
//! | `FORBIDDEN` | 403 | missing entitlement, `UnauthorizedClient` |
//! | `NOT_FOUND` | 404 | `NotFound` (also another tenant's objects) |
//! | `CONFLICT` | 409 | `Conflict` |
//! | `TOO_MANY_REQUESTS` | 429 + `Retry-After` | `RateLimited` |
//! | `SERVICE_UNAVAILABLE` | 503 + `Retry-After` | `Overloaded`, `Unavailable` |
//! | `SYSTEM_ERROR` | 500 | `Internal` (logged, never detailed) |
//!
//! At the token endpoint the body also carries the OAuth2 `error` / `error_description`
//! members that Spring-OAuth2 clients read.

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::Error;
use serde_json::{Value, json};

/// An error answer of the Fintiv surface.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    additional: Option<&'static str>,
    tenant: Option<String>,
    retry_after: Option<u64>,
    /// OAuth2 error code, at the token endpoint only.
    oauth: Option<&'static str>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            additional: None,
            tenant: None,
            retry_after: None,
            oauth: None,
        }
    }

    fn with_additional(mut self, additional: &'static str) -> Self {
        self.additional = Some(additional);
        self
    }

    /// The tenant named in the envelope (when the call got that far).
    pub fn tenant(mut self, tenant: Option<String>) -> Self {
        self.tenant = tenant;
        self
    }

    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION", message)
    }

    pub fn not_found(message: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// A JSON body that is malformed, of the wrong shape, too large or not sent as JSON.
    pub fn rejection(rejection: &JsonRejection) -> Self {
        let (status, message) = idp_http::describe_json_rejection(rejection);
        Self::new(status, "VALIDATION", message)
    }

    /// A form body (token endpoint) that cannot be read.
    pub fn form_rejection(rejection: &FormRejection) -> Self {
        let status = match rejection {
            FormRejection::InvalidFormContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => other.status(),
            _ => StatusCode::BAD_REQUEST,
        };
        let mut e = Self::new(
            status,
            "VALIDATION",
            "expected an application/x-www-form-urlencoded body with grant_type",
        );
        e.oauth = Some("invalid_request");
        e
    }

    /// A `grant_type` other than `password` and `refresh_token`.
    pub fn unsupported_grant() -> Self {
        let mut e = Self::validation("grant_type must be password or refresh_token");
        e.oauth = Some("unsupported_grant_type");
        e
    }

    /// A core error.
    pub fn core(e: Error) -> Self {
        use StatusCode as S;
        match e {
            Error::Invalid { field, reason } => {
                Self::validation(format!("invalid {field}: {reason}"))
            }
            Error::InvalidScope(d) => Self::validation(d),
            Error::Conflict(field) => Self::new(
                S::CONFLICT,
                "CONFLICT",
                format!("{} already in use", field.as_str()),
            ),
            Error::NotFound(what) => Self::not_found(&format!("{what} not found")),
            Error::InvalidCredentials => Self::unauthorized("Bad credentials"),
            Error::InvalidClient => Self::unauthorized("invalid api-key or tenantName"),
            Error::InvalidToken => Self::unauthorized("invalid or expired access token"),
            Error::Unauthenticated => Self::unauthorized("Full authentication is required"),
            Error::InvalidGrant(_) => Self::unauthorized("invalid or expired grant"),
            Error::ChallengeClosed => Self::unauthorized("the code or link is no longer valid"),
            Error::AccountLocked => {
                Self::unauthorized("User account is locked").with_additional("LOCKED")
            }
            Error::AccountInactive => {
                Self::unauthorized("User account is inactive").with_additional("INACTIVE")
            }
            Error::AccountDisabled => {
                Self::unauthorized("User account is disabled").with_additional("DISABLED")
            }
            Error::PendingApproval => Self::unauthorized("User account is waiting for approval")
                .with_additional("PENDING_APPROVAL"),
            Error::SecondFactorRequired => Self::unauthorized("A second factor is required")
                .with_additional("SECOND_FACTOR_REQUIRED"),
            Error::Forbidden(_) => Self::new(S::FORBIDDEN, "FORBIDDEN", "Access is denied"),
            Error::UnauthorizedClient(d) => Self::new(S::FORBIDDEN, "FORBIDDEN", d),
            Error::RateLimited { retry_after_secs } => {
                let mut e = Self::new(
                    S::TOO_MANY_REQUESTS,
                    "TOO_MANY_REQUESTS",
                    format!("Too many requests, retry in {retry_after_secs} s"),
                );
                e.retry_after = Some(retry_after_secs);
                e
            }
            Error::Overloaded | Error::Unavailable => {
                let mut e = Self::new(
                    S::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "Service unavailable, retry later",
                );
                e.retry_after = Some(1);
                e
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error on the Fintiv surface");
                Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    "SYSTEM_ERROR",
                    "Failed. Please contact system admin.",
                )
            }
        }
    }

    /// A core error at the token endpoint: the envelope plus the OAuth2 error members.
    pub fn token(e: Error) -> Self {
        let oauth = match &e {
            Error::InvalidClient => "invalid_client",
            Error::UnauthorizedClient(_) => "unauthorized_client",
            Error::InvalidScope(_) => "invalid_scope",
            Error::Invalid { .. } => "invalid_request",
            Error::RateLimited { .. }
            | Error::Overloaded
            | Error::Unavailable
            | Error::Internal(_) => "server_error",
            _ => "invalid_grant",
        };
        let mut out = match e {
            Error::InvalidGrant(_) => Self::validation("invalid or expired refresh token"),
            other => Self::core(other),
        };
        out.oauth = Some(oauth);
        out
    }
}

/// `map_err(at(&tenant))`: core errors with the tenant named in the envelope.
pub fn at(tenant: &str) -> impl Fn(Error) -> ApiError + '_ {
    move |e| ApiError::core(e).tenant(Some(tenant.to_owned()))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "contextResponse": {
                "tenantName": self.tenant,
                "statusCode": self.code,
                "statusMessage": self.message,
                "additionalStatusCode": self.additional,
                "additionalStatusMessage": Value::Null,
            },
            "responseData": Value::Null,
        });
        if let Some(code) = self.oauth {
            body["error"] = json!(code);
            body["error_description"] = json!(self.message);
        }
        let mut res = (self.status, Json(body)).into_response();
        let h = res.headers_mut();
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"fintiv\""),
            );
        }
        res
    }
}
