//! The OpenAPI description of the Fintract surface, paths relative to its mount prefix. The
//! operations are declared here, beside one another, on the same path constants the router
//! uses ([`super::paths`]); the bodies are the wire structs themselves. Security scheme names
//! (`bearer`) are defined once where the server assembles the documents.

#![allow(dead_code)] // the functions below only carry the operations' descriptions

use utoipa::{OpenApi, ToSchema};

use super::paths;
use super::wire::*;

const TAG: &str = "fintract";

/// The document of the surface.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    paths(
        register,
        login,
        verify_otp,
        admin_approval,
        deactivate,
        delete_account,
        reverify_email,
        verify_email,
        info,
        update_usr,
        user_update,
        avatar,
        upload,
        media
    ),
    components(schemas(FintractError, UploadForm)),
    tags((name = TAG, description = "Fintract-compatible auth API. Every path is also served without its trailing slash."))
)]
struct Doc;

/// Every error answer: `{"detail": "..."}` (429 and 503 also carry `Retry-After`).
#[derive(ToSchema)]
struct FintractError {
    detail: String,
}

/// `multipart/form-data` with one file part named `file`.
#[derive(ToSchema)]
struct UploadForm {
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

#[utoipa::path(post, path = paths::REGISTER, tag = TAG,
    summary = "Register an account (admin user types wait for approval)",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = Registered),
        (status = 400, description = "Invalid field or already taken", body = FintractError),
        (status = 429, description = "Rate limited", body = FintractError),
    ))]
fn register() {}

#[utoipa::path(post, path = paths::LOGIN, tag = TAG,
    summary = "Check the password and send a one-time code by email or SMS",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Code sent; `data.id` names the sign-in", body = LoginStarted),
        (status = 400, description = "Invalid field", body = FintractError),
        (status = 401, description = "Wrong email or password", body = FintractError),
        (status = 403, description = "Account locked, inactive or awaiting approval", body = FintractError),
        (status = 429, description = "Rate limited", body = FintractError),
    ))]
fn login() {}

#[utoipa::path(post, path = paths::VERIFY_OTP, tag = TAG,
    summary = "Finish the sign-in with the one-time code",
    params(("id" = String, Path, description = "`data.id` of the login answer")),
    request_body = VerifyOtpRequest,
    responses(
        (status = 200, description = "Signed in", body = LoggedIn),
        (status = 400, description = "Invalid body", body = FintractError),
        (status = 401, description = "Wrong, expired or spent code", body = FintractError),
        (status = 429, description = "Rate limited", body = FintractError),
    ))]
fn verify_otp() {}

#[utoipa::path(post, path = paths::ADMIN_APPROVAL, tag = TAG,
    summary = "Approve a pending account (entitlement APPROVE_ACCOUNT)",
    request_body = ApprovalRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Approved", body = Msg),
        (status = 401, description = "No or invalid token", body = FintractError),
        (status = 403, description = "Not allowed", body = FintractError),
        (status = 404, description = "No such customer", body = FintractError),
    ))]
fn admin_approval() {}

#[utoipa::path(put, path = paths::DEACTIVATE, tag = TAG,
    summary = "Deactivate the signed-in account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deactivated", body = Msg),
        (status = 401, description = "No or invalid token", body = FintractError),
    ))]
fn deactivate() {}

#[utoipa::path(delete, path = paths::DELETE, tag = TAG,
    summary = "Delete the signed-in account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Msg),
        (status = 401, description = "No or invalid token", body = FintractError),
    ))]
fn delete_account() {}

#[utoipa::path(post, path = paths::REVERIFY_EMAIL, tag = TAG,
    summary = "Send a new email-verification link",
    request_body = ReverifyRequest,
    responses(
        (status = 201, description = "Sent (also when no account has this address)", body = Message),
        (status = 400, description = "Invalid body", body = FintractError),
        (status = 429, description = "Rate limited", body = FintractError),
    ))]
fn reverify_email() {}

#[utoipa::path(get, path = paths::VERIFY_EMAIL, tag = TAG,
    summary = "The emailed verification link",
    params(("token" = String, Query, description = "The link's token")),
    responses(
        (status = 200, description = "Email verified", body = Message),
        (status = 400, description = "Invalid, expired or spent token", body = FintractError),
        (status = 429, description = "Rate limited", body = FintractError),
    ))]
fn verify_email() {}

#[utoipa::path(get, path = paths::INFO, tag = TAG,
    summary = "An account's details (its own, or any with entitlement)",
    params(("id" = String, Path, description = "Account number (`id`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = UserInfo),
        (status = 401, description = "No or invalid token", body = FintractError),
        (status = 403, description = "Not allowed", body = FintractError),
        (status = 404, description = "No such account", body = FintractError),
    ))]
fn info() {}

#[utoipa::path(patch, path = paths::UPDATE_USR, tag = TAG,
    summary = "Update an account's profile (absent or empty fields stay)",
    params(("id" = String, Path, description = "Account number (`id`)")),
    request_body = UpdateUsrRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Message),
        (status = 400, description = "Invalid field or already taken", body = FintractError),
        (status = 401, description = "No or invalid token", body = FintractError),
        (status = 403, description = "Not allowed", body = FintractError),
        (status = 404, description = "No such account", body = FintractError),
    ))]
fn update_usr() {}

#[utoipa::path(put, path = paths::USER_UPDATE, tag = TAG,
    summary = "Update the signed-in account's username and name",
    request_body = UserUpdateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = Message),
        (status = 400, description = "Invalid field or already taken", body = FintractError),
        (status = 401, description = "No or invalid token", body = FintractError),
    ))]
fn user_update() {}

#[utoipa::path(post, path = paths::AVATAR, tag = TAG,
    summary = "Upload an account's avatar",
    params(("id" = String, Path, description = "Account number (`id`)")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Avatar set", body = AvatarSet),
        (status = 400, description = "No `file` part, or malformed body", body = FintractError),
        (status = 401, description = "No or invalid token", body = FintractError),
        (status = 403, description = "Not allowed", body = FintractError),
        (status = 404, description = "No such account", body = FintractError),
        (status = 413, description = "File too large", body = FintractError),
        (status = 415, description = "Not multipart/form-data, or a file type that is not accepted", body = FintractError),
    ))]
fn avatar() {}

#[utoipa::path(post, path = paths::UPLOAD, tag = TAG,
    summary = "Upload a file",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored; `url` serves it", body = Uploaded),
        (status = 400, description = "No `file` part, or malformed body", body = FintractError),
        (status = 401, description = "No or invalid token", body = FintractError),
        (status = 413, description = "File too large", body = FintractError),
        (status = 415, description = "Not multipart/form-data, or a file type that is not accepted", body = FintractError),
    ))]
fn upload() {}

#[utoipa::path(get, path = paths::MEDIA, tag = TAG,
    summary = "An uploaded file (the URLs in upload and avatar answers)",
    params(("key" = String, Path, description = "The file's key")),
    responses(
        (status = 200, description = "The file, with its sniffed content type", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "No such file", body = FintractError),
    ))]
fn media() {}
