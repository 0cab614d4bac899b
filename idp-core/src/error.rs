//! The one error type of the core. Surfaces map it to their own wire format in one place each.

use crate::secrets::hasher::HashError;
use crate::store::{StoreError, UniqueField};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that breaks a rule; `field` names the input, `reason` is safe to show.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// A unique value (username, email, ...) is taken.
    #[error("{} already in use", .0.as_str())]
    Conflict(UniqueField),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Wrong login, password, PIN or answer. Deliberately says nothing more.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Unknown app client or wrong client secret.
    #[error("invalid client")]
    InvalidClient,
    /// A code, refresh token or other grant that is unknown, expired, spent, revoked, or not
    /// the caller's (OAuth `invalid_grant`). The reason is for logs and the error description.
    #[error("invalid grant: {0}")]
    InvalidGrant(String),
    /// The client may not use this grant type (OAuth `unauthorized_client`).
    #[error("unauthorized client: {0}")]
    UnauthorizedClient(String),
    /// A scope the client may not ask for (OAuth `invalid_scope`).
    #[error("invalid scope: {0}")]
    InvalidScope(String),
    /// A bearer token that is malformed, expired, revoked or not ours.
    #[error("invalid token")]
    InvalidToken,
    #[error("account is locked")]
    AccountLocked,
    #[error("account is inactive")]
    AccountInactive,
    #[error("account is disabled")]
    AccountDisabled,
    #[error("account is waiting for approval")]
    PendingApproval,
    /// Signed in but not allowed: missing entitlement or another tenant's object.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Not signed in where an operation needs a caller.
    #[error("authentication required")]
    Unauthenticated,
    /// Too many attempts from this address, account or client: retry after the given seconds.
    #[error("too many requests, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A one-time code or link that expired, was used, or ran out of attempts.
    #[error("the code or link is no longer valid")]
    ChallengeClosed,
    /// The password was right but a second factor is still needed (surfaces show the step).
    #[error("a second factor is required")]
    SecondFactorRequired,
    /// Too much work queued (hashing pool full): retry later.
    #[error("service overloaded, retry later")]
    Overloaded,
    /// The database is unreachable: retry later.
    #[error("service unavailable, retry later")]
    Unavailable,
    /// A bug or corrupt data. The detail is for logs only.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(field) => Self::Conflict(field),
            StoreError::MissingReference(what) => Self::NotFound(what),
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                Self::Unavailable
            }
            StoreError::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl From<HashError> for Error {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Overloaded => Self::Overloaded,
            HashError::TooLong => Self::invalid("secret", "too long"),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::limits::LimitError> for Error {
    /// Counters unreachable: authentication fails closed.
    fn from(e: crate::limits::LimitError) -> Self {
        tracing::warn!(error = %e, "limiter unavailable: refusing");
        Self::Unavailable
    }
}

impl From<crate::notify::NotifyError> for Error {
    fn from(e: crate::notify::NotifyError) -> Self {
        match e {
            crate::notify::NotifyError::NoChannel(c) => {
                Self::invalid("channel", format!("{c:?} delivery is not configured"))
            }
            crate::notify::NotifyError::Failed(detail) => {
                tracing::warn!(%detail, "message not delivered");
                Self::Unavailable
            }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
