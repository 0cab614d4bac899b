//! The OpenAPI description of the Switch surface, paths relative to its mount prefix. The
//! operations are declared here on the same path constants the router uses
//! ([`super::paths`]); the bodies are the wire structs themselves. Security scheme names
//! (`switch_cid`, `switch_cs`, `bearer`) are defined once where the server assembles the
//! documents. Fields the handlers require are described as required strings in `wire.rs`
//! although the structs keep them optional (their absence is answered in the envelope).

#![allow(dead_code)] // the items below only carry the operations' descriptions

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::paths;
use super::wire::*;

const TAG: &str = "switch";

/// The document of the surface.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    paths(
        register,
        login,
        forgot_password,
        reset_password,
        unlock_account,
        resend_unlock_email,
        logout,
        validate_user_bvn,
        send_email_confirmation,
        confirm_email,
        referrer
    ),
    components(schemas(SwitchMessage)),
    tags((name = TAG, description = "Switch-compatible user API. Every call names its application in `SWI-CID`; every POST carries `SWI-CS`, the hex HMAC-SHA512 of the raw body keyed with the hex SHA-256 of the application's secret."))
)]
struct Doc;

/// Answers without data, and every error: `{"message": "..."}` (429 and 503 also carry
/// `Retry-After`).
#[derive(ToSchema)]
struct SwitchMessage {
    message: String,
}

/// Login: the session, or what the second factor needs.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum LoginAnswer {
    Session(Box<Envelope<Session>>),
    SecondFactor(Envelope<SecondFactor>),
}

#[utoipa::path(post, path = paths::REGISTER, tag = TAG,
    summary = "Register (with BVN verification) and sign in",
    request_body = RegisterRequest,
    security(("switch_cid" = [], "switch_cs" = [])),
    responses(
        (status = 200, description = "Registered and signed in", body = Envelope<Session>),
        (status = 400, description = "Invalid or missing field, or BVN not verified", body = SwitchMessage),
        (status = 401, description = "Unknown SWI-CID or bad SWI-CS", body = SwitchMessage),
        (status = 409, description = "Email or phone already in use", body = SwitchMessage),
        (status = 413, description = "Body too large", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
    ))]
fn register() {}

#[utoipa::path(post, path = paths::LOGIN, tag = TAG,
    summary = "Sign in; a second step with `two_factor_token` and `two_factor_code` when a second factor is needed",
    request_body = LoginRequest,
    security(("switch_cid" = [], "switch_cs" = [])),
    responses(
        (status = 200, description = "Signed in, or a second factor required", body = LoginAnswer),
        (status = 400, description = "Invalid or missing field", body = SwitchMessage),
        (status = 401, description = "Wrong credentials, bad SWI-CID/SWI-CS", body = SwitchMessage),
        (status = 403, description = "Account cannot sign in", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
    ))]
fn login() {}

#[utoipa::path(post, path = paths::FORGOT_PASSWORD, tag = TAG,
    summary = "Email a password-reset token",
    request_body = EmailRequest,
    security(("switch_cid" = [], "switch_cs" = [])),
    responses(
        (status = 200, description = "Sent (also when no account has this address)", body = SwitchMessage),
        (status = 400, description = "Invalid or missing field", body = SwitchMessage),
        (status = 401, description = "Unknown SWI-CID or bad SWI-CS", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
    ))]
fn forgot_password() {}

#[utoipa::path(post, path = paths::RESET_PASSWORD, tag = TAG,
    summary = "Set a new password with the emailed token (and a security answer when asked)",
    request_body = ResetPasswordRequest,
    security(("switch_cid" = [], "switch_cs" = [])),
    responses(
        (status = 200, description = "Password reset", body = SwitchMessage),
        (status = 400, description = "Invalid token, password or answer", body = SwitchMessage),
        (status = 401, description = "Unknown SWI-CID or bad SWI-CS", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
    ))]
fn reset_password() {}

#[utoipa::path(post, path = paths::UNLOCK_ACCOUNT, tag = TAG,
    summary = "Unlock with the emailed unlock token",
    request_body = TokenRequest,
    security(("switch_cid" = [], "switch_cs" = [])),
    responses(
        (status = 200, description = "Unlocked", body = SwitchMessage),
        (status = 400, description = "Invalid, expired or spent token", body = SwitchMessage),
        (status = 401, description = "Unknown SWI-CID or bad SWI-CS", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
    ))]
fn unlock_account() {}

#[utoipa::path(post, path = paths::RESEND_UNLOCK_EMAIL, tag = TAG,
    summary = "Email a new unlock link to a locked account",
    request_body = EmailRequest,
    security(("switch_cid" = [], "switch_cs" = [])),
    responses(
        (status = 200, description = "Sent (also when no locked account has this address)", body = SwitchMessage),
        (status = 400, description = "Invalid or missing field", body = SwitchMessage),
        (status = 401, description = "Unknown SWI-CID or bad SWI-CS", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
    ))]
fn resend_unlock_email() {}

#[utoipa::path(post, path = paths::LOGOUT, tag = TAG,
    summary = "Sign out: revokes the `auth_token` sent as the bearer",
    security(("switch_cid" = [], "switch_cs" = [], "bearer" = [])),
    responses(
        (status = 200, description = "Signed out", body = SwitchMessage),
        (status = 401, description = "No or invalid token, bad SWI-CID/SWI-CS", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
    ))]
fn logout() {}

#[utoipa::path(post, path = paths::VALIDATE_USER_BVN, tag = TAG,
    summary = "Check a BVN against the names (and date of birth) given",
    request_body = BvnRequest,
    security(("switch_cid" = [], "switch_cs" = [])),
    responses(
        (status = 200, description = "The BVN matches", body = SwitchMessage),
        (status = 400, description = "Invalid or missing field, or no match", body = SwitchMessage),
        (status = 401, description = "Unknown SWI-CID or bad SWI-CS", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
        (status = 503, description = "The KYC provider is unavailable", body = SwitchMessage),
    ))]
fn validate_user_bvn() {}

#[utoipa::path(post, path = paths::SEND_EMAIL_CONFIRMATION, tag = TAG,
    summary = "Email an address-confirmation link",
    request_body = EmailRequest,
    security(("switch_cid" = [], "switch_cs" = [])),
    responses(
        (status = 200, description = "Sent (also when no account has this address)", body = SwitchMessage),
        (status = 400, description = "Invalid or missing field", body = SwitchMessage),
        (status = 401, description = "Unknown SWI-CID or bad SWI-CS", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
    ))]
fn send_email_confirmation() {}

#[utoipa::path(post, path = paths::CONFIRM_EMAIL, tag = TAG,
    summary = "Confirm the email address with the emailed token (`token`)",
    request_body = TokenRequest,
    security(("switch_cid" = [], "switch_cs" = [])),
    responses(
        (status = 200, description = "Confirmed", body = SwitchMessage),
        (status = 400, description = "Invalid, expired or spent token", body = SwitchMessage),
        (status = 401, description = "Unknown SWI-CID or bad SWI-CS", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
    ))]
fn confirm_email() {}

#[utoipa::path(get, path = paths::REFERRER, tag = TAG,
    summary = "The public names of a referrer by Switch id",
    params(("switch_id" = String, Path, description = "The referrer's `switch_id`")),
    security(("switch_cid" = [])),
    responses(
        (status = 200, description = "The referrer", body = Envelope<Referrer>),
        (status = 401, description = "Unknown SWI-CID", body = SwitchMessage),
        (status = 404, description = "No such referrer", body = SwitchMessage),
        (status = 429, description = "Rate limited", body = SwitchMessage),
    ))]
fn referrer() {}
