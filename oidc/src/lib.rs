//! The OpenID Connect provider surface: a thin translation of the protocol onto idp-core's
//! token operations ([`idp_core::ops::tokens::Tokens`]).
//!
//! | path | module |
//! | --- | --- |
//! | `/.well-known/openid-configuration`, `/jwks` | [`discovery`] |
//! | `/authorize` (GET: check and sign-in page, POST: the page's forms) | [`authorize`] |
//! | `/token` | [`token`] |
//! | `/userinfo` | [`userinfo`] |
//! | `/introspect`, `/revoke` | [`token`] |
//! | `/logout` | [`logout`] |
//! | `/unlock` (GET: confirmation page, POST: unlock), `/account/mfa` (authenticator enrolment) | [`account`] |

pub mod account;
pub mod authorize;
mod client_auth;
mod cookies;
pub mod discovery;
mod error;
pub mod logout;
pub mod openapi;
mod pages;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::routing::{get, post};
use idp_core::ops::tokens::Tokens;

pub use error::OAuthError;

/// Paths, relative to the issuer. Discovery publishes them; keep both in step through here.
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const JWKS: &str = "/jwks";
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/token";
    pub const USERINFO: &str = "/userinfo";
    pub const INTROSPECT: &str = "/introspect";
    pub const REVOKE: &str = "/revoke";
    pub const LOGOUT: &str = "/logout";
    /// Where emailed unlock links land (the core's `UNLOCK_PATH`).
    /// Where the core's emailed unlock links point.
    pub const UNLOCK: &str = idp_core::ops::UNLOCK_PATH;
    /// Authenticator-app enrolment of the signed-in browser.
    pub const ACCOUNT_MFA: &str = "/account/mfa";
}

/// What the OIDC handlers share.
#[derive(Clone)]
pub struct OidcState {
    pub tokens: Tokens,
    /// Mark cookies `Secure` (true whenever the issuer is https).
    pub secure_cookies: bool,
}

impl OidcState {
    pub fn new(tokens: Tokens) -> Self {
        let secure_cookies = tokens.config().issuer.starts_with("https://");
        Self {
            tokens,
            secure_cookies,
        }
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.tokens.config().issuer
    }

    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer().trim_end_matches('/'))
    }
}

/// The routes, mounted at the root of the listener.
pub fn router(state: OidcState) -> Router {
    Router::new()
        .route(paths::DISCOVERY, get(discovery::metadata))
        .route(paths::JWKS, get(discovery::jwks))
        .route(
            paths::AUTHORIZE,
            get(authorize::start).post(authorize::submit),
        )
        .route(paths::TOKEN, post(token::token))
        .route(
            paths::USERINFO,
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(paths::INTROSPECT, post(token::introspect))
        .route(paths::REVOKE, post(token::revoke))
        .route(paths::LOGOUT, get(logout::start).post(logout::submit))
        .route(
            paths::UNLOCK,
            get(account::unlock_start).post(account::unlock_submit),
        )
        .route(
            paths::ACCOUNT_MFA,
            get(account::mfa_start).post(account::mfa_submit),
        )
        .with_state(state)
}
