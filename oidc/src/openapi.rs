//! The OpenAPI description of the OpenID Connect surface, on the same path constants the router
//! uses ([`crate::paths`]). Form bodies are the handlers' own form structs; JSON answers the
//! handlers build with `json!` are mirrored here. Security scheme names (`bearer`,
//! `client_basic`) are defined once where the server assembles the documents.

#![allow(dead_code)] // the items below only carry the operations' descriptions

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use crate::paths;
use crate::{account, authorize, logout, token};

const TAG: &str = "oidc";
const FORM: &str = "application/x-www-form-urlencoded";
const HTML: &str = "text/html; charset=utf-8";

/// The document of the surface.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    paths(
        discovery,
        jwks,
        authorize_get,
        authorize_post,
        token_endpoint,
        userinfo,
        introspect,
        revoke,
        logout_get,
        logout_post,
        unlock_get,
        unlock_post,
        mfa_get,
        mfa_post
    ),
    components(schemas(OAuthErrorBody, TokenResponse, Introspection, Jwks)),
    tags((name = TAG, description = "OpenID Connect provider. Discovery is the source of truth for the endpoints; the sign-in, logout, unlock and MFA pages are server-rendered HTML."))
)]
struct Doc;

/// An OAuth 2.0 error (RFC 6749 §5.2, RFC 6750 §3): 401s carry `WWW-Authenticate`, 429 and
/// 503 `Retry-After`.
#[derive(ToSchema)]
struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `invalid_token`, `insufficient_scope`,
    /// `temporarily_unavailable`, `server_error`, ...
    error: String,
    error_description: String,
}

/// A successful token answer (RFC 6749 §5.1; `id_token` for the `openid` scope).
#[derive(ToSchema)]
struct TokenResponse {
    /// A JWT (RFC 9068, `typ: at+jwt`).
    access_token: String,
    #[schema(example = "Bearer")]
    token_type: String,
    expires_in: i64,
    scope: String,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

/// RFC 7662 answer: inactive tokens carry `active: false` only.
#[derive(ToSchema)]
struct Introspection {
    active: bool,
    scope: Option<String>,
    client_id: Option<String>,
    username: Option<String>,
    token_type: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    sub: Option<String>,
    aud: Option<String>,
    iss: Option<String>,
    jti: Option<String>,
}

/// A JWK Set (RFC 7517).
#[derive(ToSchema)]
struct Jwks {
    keys: Vec<BTreeMap<String, Value>>,
}

#[utoipa::path(get, path = paths::DISCOVERY, tag = TAG, summary = "OpenID Provider metadata",
    responses((status = 200, description = "The metadata (OpenID Connect Discovery 1.0)", body = BTreeMap<String, Value>)))]
fn discovery() {}

#[utoipa::path(get, path = paths::JWKS, tag = TAG, summary = "The public signing keys",
    responses((status = 200, description = "Every key that may still verify a token", body = Jwks)))]
fn jwks() {}

#[utoipa::path(get, path = paths::AUTHORIZE, tag = TAG,
    summary = "Authorization request: the sign-in or consent page, or a redirect to the client",
    params(authorize::Params),
    responses(
        (status = 200, description = "Sign-in, second-factor or consent page", content_type = HTML, body = String),
        (status = 302, description = "Back to the client's redirect URI with `code` or `error`, `state` and `iss`"),
        (status = 400, description = "Error page: unknown client, bad redirect URI, malformed request", content_type = HTML, body = String),
        (status = 429, description = "Rate limited", content_type = HTML, body = String),
    ))]
fn authorize_get() {}

#[utoipa::path(post, path = paths::AUTHORIZE, tag = TAG,
    summary = "The sign-in pages' form posts (CSRF token bound to a cookie)",
    request_body(content = inline(authorize::Params), content_type = FORM),
    responses(
        (status = 200, description = "The next page (or the same with an error)", content_type = HTML, body = String),
        (status = 302, description = "Back to the client's redirect URI"),
        (status = 400, description = "Error page", content_type = HTML, body = String),
        (status = 403, description = "Error page: CSRF check failed", content_type = HTML, body = String),
        (status = 429, description = "Rate limited", content_type = HTML, body = String),
    ))]
fn authorize_post() {}

#[utoipa::path(post, path = paths::TOKEN, tag = TAG,
    summary = "Token endpoint: authorization_code, refresh_token, client_credentials",
    request_body(content = TokenForm, content_type = FORM),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "Tokens", body = TokenResponse),
        (status = 400, description = "Invalid request, grant or scope", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = OAuthErrorBody),
        (status = 429, description = "Rate limited", body = OAuthErrorBody),
        (status = 503, description = "Temporarily unavailable", body = OAuthErrorBody),
    ))]
fn token_endpoint() {}

/// `token::TokenForm` under its own name in the document.
type TokenForm = token::TokenForm;

#[utoipa::path(method(get, post), path = paths::USERINFO, tag = TAG,
    summary = "Claims of the signed-in user, as the access token's scopes allow",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The claims (`sub` always)", body = BTreeMap<String, Value>),
        (status = 401, description = "No, invalid, expired or revoked token", body = OAuthErrorBody),
        (status = 403, description = "Insufficient scope", body = OAuthErrorBody),
    ))]
fn userinfo() {}

#[utoipa::path(post, path = paths::INTROSPECT, tag = TAG,
    summary = "Token introspection (RFC 7662), confidential clients only",
    request_body(content = TokenOnlyForm, content_type = FORM),
    security(("client_basic" = [])),
    responses(
        (status = 200, description = "The token's state", body = Introspection),
        (status = 400, description = "Invalid request", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = OAuthErrorBody),
        (status = 429, description = "Rate limited", body = OAuthErrorBody),
    ))]
fn introspect() {}

/// `token::TokenOnlyForm` under its own name in the document.
type TokenOnlyForm = token::TokenOnlyForm;

#[utoipa::path(post, path = paths::REVOKE, tag = TAG,
    summary = "Token revocation (RFC 7009); public clients may revoke their own tokens",
    request_body(content = TokenOnlyForm, content_type = FORM),
    security((), ("client_basic" = [])),
    responses(
        (status = 200, description = "Revoked (also for unknown tokens)"),
        (status = 400, description = "Invalid request", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = OAuthErrorBody),
        (status = 429, description = "Rate limited", body = OAuthErrorBody),
    ))]
fn revoke() {}

#[utoipa::path(get, path = paths::LOGOUT, tag = TAG,
    summary = "RP-initiated logout: ends the session at once with a matching `id_token_hint`, else asks",
    params(logout::Params),
    responses(
        (status = 200, description = "Confirmation or signed-out page", content_type = HTML, body = String),
        (status = 302, description = "To the `post_logout_redirect_uri`"),
        (status = 400, description = "Error page", content_type = HTML, body = String),
    ))]
fn logout_get() {}

#[utoipa::path(post, path = paths::LOGOUT, tag = TAG,
    summary = "The logout confirmation form",
    request_body(content = inline(logout::Params), content_type = FORM),
    responses(
        (status = 200, description = "Signed-out page", content_type = HTML, body = String),
        (status = 302, description = "To the `post_logout_redirect_uri`"),
        (status = 400, description = "Error page", content_type = HTML, body = String),
        (status = 403, description = "Error page: CSRF check failed", content_type = HTML, body = String),
    ))]
fn logout_post() {}

#[utoipa::path(get, path = paths::UNLOCK, tag = TAG,
    summary = "The emailed unlock link: a page with a button (link scanners do not unlock)",
    params(account::UnlockParams),
    responses(
        (status = 200, description = "Confirmation page", content_type = HTML, body = String),
        (status = 400, description = "Error page: malformed link", content_type = HTML, body = String),
    ))]
fn unlock_get() {}

#[utoipa::path(post, path = paths::UNLOCK, tag = TAG,
    summary = "Unlock the account named by the link's token",
    request_body(content = inline(account::UnlockParams), content_type = FORM),
    responses(
        (status = 200, description = "Unlocked page", content_type = HTML, body = String),
        (status = 400, description = "Error page: invalid, expired or spent token", content_type = HTML, body = String),
        (status = 403, description = "Error page: CSRF check failed", content_type = HTML, body = String),
    ))]
fn unlock_post() {}

#[utoipa::path(get, path = paths::ACCOUNT_MFA, tag = TAG,
    summary = "Authenticator-app enrolment of the signed-in browser (QR code as inline SVG)",
    responses(
        (status = 200, description = "Enrolment page", content_type = HTML, body = String),
        (status = 401, description = "Not signed in", content_type = HTML, body = String),
    ))]
fn mfa_get() {}

#[utoipa::path(post, path = paths::ACCOUNT_MFA, tag = TAG,
    summary = "Confirm (or replace) the authenticator with a code",
    request_body(content = inline(account::MfaForm), content_type = FORM),
    responses(
        (status = 200, description = "Result page", content_type = HTML, body = String),
        (status = 400, description = "Error page", content_type = HTML, body = String),
        (status = 401, description = "Not signed in", content_type = HTML, body = String),
        (status = 403, description = "Error page: CSRF check failed", content_type = HTML, body = String),
    ))]
fn mfa_post() {}
