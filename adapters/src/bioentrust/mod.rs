//! The BioEntrust-style user API (`specs/bioentrust-user.txt`), translated onto idp-core. Mounted
//! under its configured prefix (default `/bioentrust`); the accounts live in the default tenant
//! and the tokens are issued to the public app client [`CLIENT_ID`], so they are the same tokens
//! the OIDC surface issues (`/userinfo`, `/introspect` and `/revoke` take them).
//!
//! | route | core operation |
//! | --- | --- |
//! | `GET /user/home` | none |
//! | `GET /user/protected` | `Tokens::account_bearer` |
//! | `POST /user/signup` | `Idp::sign_up` |
//! | `POST /user/verify-email`, `/user/verify_email` | `Tokens::redeem_code` |
//! | `POST /user/signin` | `Tokens::password_sign_in` |
//! | `POST /user/verify-sms`, `/user/verify_sms` | `Idp::verify_contact` |
//! | `DELETE /user/signout` | `Tokens::sign_out` |
//! | `GET /user/refresh` | `Tokens::refresh` |
//! | `POST /user/forgot-password` | `Idp::request_password_reset` |
//! | `POST /user/reset-password`, `/auth/reset-password` | `Tokens::reset_password_with_bearer` |
//!
//! `docs/compat/bioentrust.md` lists every decision taken where the document is unclear.

mod error;
pub mod openapi;
mod routes;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use idp_core::model::{AppClient, DEFAULT_TENANT, GrantType};
use idp_core::ops::tokens::Tokens;
use idp_core::ops::{NewClient, Throttle};
use idp_core::{Error, Idp};
use idp_http::Caller;

pub use error::{ApiError, Op};

/// The app client the surface's tokens are issued to (public, refresh_token grant, default
/// tenant). Created at start-up by [`ensure_client`].
pub const CLIENT_ID: &str = "bioentrust";

/// Paths, relative to the prefix.
pub mod paths {
    pub const HOME: &str = "/user/home";
    pub const PROTECTED: &str = "/user/protected";
    pub const SIGNUP: &str = "/user/signup";
    pub const VERIFY_EMAIL: &str = "/user/verify-email";
    pub const VERIFY_EMAIL_ALT: &str = "/user/verify_email";
    pub const SIGNIN: &str = "/user/signin";
    pub const VERIFY_SMS: &str = "/user/verify-sms";
    pub const VERIFY_SMS_ALT: &str = "/user/verify_sms";
    pub const SIGNOUT: &str = "/user/signout";
    pub const REFRESH: &str = "/user/refresh";
    pub const FORGOT_PASSWORD: &str = "/user/forgot-password";
    pub const RESET_PASSWORD: &str = "/user/reset-password";
    pub const RESET_PASSWORD_ALT: &str = "/auth/reset-password";
}

/// What the handlers share.
#[derive(Clone)]
pub struct BioState {
    tokens: Tokens,
    /// The mount prefix (`/bioentrust`, or empty), for links in emails.
    prefix: Arc<str>,
}

impl BioState {
    pub fn new(tokens: Tokens, prefix: &str) -> Self {
        Self {
            tokens,
            prefix: prefix.into(),
        }
    }

    fn idp(&self) -> &Idp {
        self.tokens.idp()
    }

    /// The surface's app client (clients never change once created; the core remembers them).
    async fn client(&self) -> Result<AppClient, Error> {
        self.idp().client(CLIENT_ID).await
    }

    /// Where emailed reset links point: the reset call of this surface, which takes the token.
    fn reset_link_path(&self) -> String {
        format!("{}{}", self.prefix, paths::RESET_PASSWORD)
    }
}

/// Makes sure the surface's app client exists (idempotent; safe when replicas start together).
pub async fn ensure_client(idp: &Idp) -> Result<AppClient, Error> {
    let new = NewClient {
        id: CLIENT_ID.into(),
        name: Some("BioEntrust-compatible user API".into()),
        grants: vec![GrantType::RefreshToken],
        ..NewClient::default()
    };
    idp.ensure_client(DEFAULT_TENANT, new).await
}

/// The routes, relative to the prefix. Every call that checks a secret or sends a message spends
/// one request of the caller's per-IP budget first.
pub fn router(state: BioState) -> Router {
    let limited = Router::new()
        .route(paths::SIGNUP, post(routes::signup))
        .route(paths::VERIFY_EMAIL, post(routes::verify_email))
        .route(paths::VERIFY_EMAIL_ALT, post(routes::verify_email))
        .route(paths::SIGNIN, post(routes::signin))
        .route(paths::VERIFY_SMS, post(routes::verify_sms))
        .route(paths::VERIFY_SMS_ALT, post(routes::verify_sms))
        .route(paths::SIGNOUT, delete(routes::signout))
        .route(paths::REFRESH, get(routes::refresh))
        .route(paths::FORGOT_PASSWORD, post(routes::forgot_password))
        .route(paths::RESET_PASSWORD, post(routes::reset_password))
        .route(paths::RESET_PASSWORD_ALT, post(routes::reset_password))
        .route_layer(middleware::from_fn_with_state(state.clone(), per_ip));
    Router::new()
        .route(paths::HOME, get(routes::home))
        .route(paths::PROTECTED, get(routes::protected))
        .merge(limited)
        .layer(middleware::map_response(no_store))
        .layer(middleware::map_response(refusals))
        .with_state(state)
}

async fn per_ip(State(s): State<BioState>, caller: Caller, req: Request, next: Next) -> Response {
    if let Some(ip) = caller.ip.as_deref()
        && let Err(e) = s.idp().throttle(Throttle::Ip(ip)).await
    {
        return ApiError::core(Op::Throttle, e).into_response();
    }
    next.run(req).await
}

/// Answers carry tokens and personal data: never cached.
async fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// axum's own plain-text refusals (a path segment that is not UTF-8, an unreadable query), in
/// the surface's envelope.
async fn refusals(res: Response) -> Response {
    crate::rejections::in_envelope(res, ApiError::error).await
}
