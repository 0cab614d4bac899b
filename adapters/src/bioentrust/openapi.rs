//! The OpenAPI description of the BioEntrust surface, paths relative to its mount prefix. The
//! operations are declared here on the same path constants the router uses
//! ([`super::paths`]); the bodies are the wire structs themselves. Security scheme names
//! (`bearer`) are defined once where the server assembles the documents.

#![allow(dead_code)] // the functions below only carry the operations' descriptions

use utoipa::{OpenApi, ToSchema};

use super::paths;
use super::wire::*;

const TAG: &str = "bioentrust";

/// The document of the surface.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    paths(
        home,
        protected,
        signup,
        verify_email,
        verify_email_alt,
        signin,
        verify_sms,
        verify_sms_alt,
        signout,
        refresh,
        forgot_password,
        reset_password,
        reset_password_alt
    ),
    components(schemas(BioError, BioStatusError)),
    tags((name = TAG, description = "BioEntrust-compatible user API."))
)]
struct Doc;

/// Most error answers: `{"error": "..."}` (429 also carries `Retry-After`).
#[derive(ToSchema)]
struct BioError {
    error: String,
}

/// Server faults, 503, and `/user/protected`'s 401: `{"status": "error", "message": "..."}`.
#[derive(ToSchema)]
struct BioStatusError {
    #[schema(example = "error")]
    status: String,
    message: String,
}

#[utoipa::path(get, path = paths::HOME, tag = TAG, summary = "Public greeting",
    responses((status = 200, description = "Greeting", body = NewData)))]
fn home() {}

#[utoipa::path(get, path = paths::PROTECTED, tag = TAG, summary = "Checks an access token",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token is valid", body = NewData),
        (status = 401, description = "No or invalid token", body = BioStatusError),
    ))]
fn protected() {}

#[utoipa::path(post, path = paths::SIGNUP, tag = TAG,
    summary = "Sign up; a code goes to the email (and the phone, when given)",
    request_body = SignupRequest,
    responses(
        (status = 200, description = "Codes sent", body = OtpSent),
        (status = 400, description = "Invalid field", body = BioError),
        (status = 409, description = "Email or phone already in use", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn signup() {}

#[utoipa::path(post, path = paths::VERIFY_EMAIL, tag = TAG,
    summary = "Verify the emailed code (sign-up) or the second factor (sign-in); answers tokens",
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "Signed in", body = LoggedIn),
        (status = 400, description = "Invalid body", body = BioError),
        (status = 401, description = "Wrong, expired or spent code", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn verify_email() {}

#[utoipa::path(post, path = paths::VERIFY_EMAIL_ALT, tag = TAG,
    summary = "Same as /user/verify-email",
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "Signed in", body = LoggedIn),
        (status = 400, description = "Invalid body", body = BioError),
        (status = 401, description = "Wrong, expired or spent code", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn verify_email_alt() {}

#[utoipa::path(post, path = paths::SIGNIN, tag = TAG,
    summary = "Sign in with email (or username) and password",
    request_body = SigninRequest,
    responses(
        (status = 200, description = "Tokens, or the request id of a second factor", body = SigninAnswer),
        (status = 400, description = "Invalid body", body = BioError),
        (status = 401, description = "Wrong credentials, or the account cannot sign in", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn signin() {}

#[utoipa::path(post, path = paths::VERIFY_SMS, tag = TAG,
    summary = "Verify the phone with the texted code",
    request_body = VerifySmsRequest,
    responses(
        (status = 200, description = "Phone verified", body = Message),
        (status = 400, description = "Invalid body", body = BioError),
        (status = 401, description = "Wrong, expired or spent code", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn verify_sms() {}

#[utoipa::path(post, path = paths::VERIFY_SMS_ALT, tag = TAG,
    summary = "Same as /user/verify-sms",
    request_body = VerifySmsRequest,
    responses(
        (status = 200, description = "Phone verified", body = Message),
        (status = 400, description = "Invalid body", body = BioError),
        (status = 401, description = "Wrong, expired or spent code", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn verify_sms_alt() {}

#[utoipa::path(delete, path = paths::SIGNOUT, tag = TAG,
    summary = "Sign out: revokes the refresh token sent as the bearer",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Signed out", body = Message),
        (status = 401, description = "No, invalid or expired refresh token", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn signout() {}

#[utoipa::path(get, path = paths::REFRESH, tag = TAG,
    summary = "New tokens for the refresh token sent as the bearer (rotated)",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "New tokens", body = Refreshed),
        (status = 401, description = "No, invalid or expired refresh token", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn refresh() {}

#[utoipa::path(post, path = paths::FORGOT_PASSWORD, tag = TAG,
    summary = "Email a password-reset link",
    request_body = ForgotPasswordRequest,
    responses(
        (status = 200, description = "Sent (also when no account has this address)", body = Message),
        (status = 400, description = "Invalid body", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn forgot_password() {}

#[utoipa::path(post, path = paths::RESET_PASSWORD, tag = TAG,
    summary = "Set a new password with the emailed reset token as the bearer",
    request_body = ResetPasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Password reset", body = Message),
        (status = 400, description = "Invalid token or password", body = BioError),
        (status = 401, description = "No token", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn reset_password() {}

#[utoipa::path(post, path = paths::RESET_PASSWORD_ALT, tag = TAG,
    summary = "Same as /user/reset-password",
    request_body = ResetPasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Password reset", body = Message),
        (status = 400, description = "Invalid token or password", body = BioError),
        (status = 401, description = "No token", body = BioError),
        (status = 429, description = "Rate limited", body = BioError),
    ))]
fn reset_password_alt() {}
