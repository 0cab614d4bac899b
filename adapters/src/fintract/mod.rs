//! The Fintract-style auth API (`specs/fintract-auth.txt`), translated onto idp-core. Mounted
//! under its configured prefix (default `/fintract`); the accounts live in the default tenant
//! and the tokens are issued to the public app client [`CLIENT_ID`], so they are the same tokens
//! the OIDC surface issues (`/userinfo`, `/introspect` and `/revoke` take them).
//!
//! | route | core operation |
//! | --- | --- |
//! | `POST /auth/register/` | `Idp::register` (CUSTOMER and admin types as PENDING_APPROVAL) |
//! | `POST /auth/login/` | `Tokens::start_code_sign_in` |
//! | `POST /auth/login/{id}/` | `Tokens::finish_code_sign_in` |
//! | `POST /auth/admin_approval/` | `Idp::approve_number` (entitlement `APPROVE_ACCOUNT`) |
//! | `PUT /auth/account-deactivate/` | `Idp::deactivate` |
//! | `DELETE /auth/delete/` | `Idp::delete_account` |
//! | `POST /auth/re-verify-email/` | `Idp::send_email_verification` |
//! | `GET /auth/verify-email/?token=` (the emailed link) | `Idp::verify_email_with_token` |
//! | `GET /auth/info/{id}/` | `Idp::account_by_number_for` |
//! | `PATCH /auth/update/usr/{id}/` | `Idp::account_by_number_for` + `Idp::update_account` |
//! | `PUT /auth/user-update/` | `Idp::update_account` |
//! | `POST /auth/avatar/{id}/` | `Blobs::upload` + `Idp::set_avatar` |
//! | `POST /auth/upload/` | `Blobs::upload` |
//! | `GET /media/{key}` (uploaded files) | `Blobs::fetch` |
//!
//! Every path is also served without its trailing slash. `docs/compat/fintract.md` lists every
//! decision taken where the document is unclear.

mod error;
pub mod openapi;
mod routes;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use idp_core::blobs::Blobs;
use idp_core::model::{Account, AppClient, DEFAULT_TENANT, GrantType};
use idp_core::ops::approval::APPROVE_ACCOUNT;
use idp_core::ops::tokens::Tokens;
use idp_core::ops::{NewClient, Throttle};
use idp_core::{Context, Error, Idp, Principal};
use idp_http::Caller;

pub use error::{ApiError, Op};

/// The app client the surface's tokens are issued to (public, refresh_token grant, default
/// tenant). Created at start-up by [`ensure_surface`].
pub const CLIENT_ID: &str = "fintract";

/// The role whose holders may approve accounts (created at start-up with [`APPROVE_ACCOUNT`];
/// give it with `idp-server user create ... --role FINTRACT_ADMIN`).
pub const ADMIN_ROLE: &str = "FINTRACT_ADMIN";

/// Paths, relative to the prefix (each also served without the trailing slash).
pub mod paths {
    pub const DEACTIVATE: &str = "/auth/account-deactivate/";
    pub const REGISTER: &str = "/auth/register/";
    pub const LOGIN: &str = "/auth/login/";
    pub const VERIFY_OTP: &str = "/auth/login/{id}/";
    pub const ADMIN_APPROVAL: &str = "/auth/admin_approval/";
    pub const AVATAR: &str = "/auth/avatar/{id}/";
    pub const DELETE: &str = "/auth/delete/";
    pub const REVERIFY_EMAIL: &str = "/auth/re-verify-email/";
    pub const VERIFY_EMAIL: &str = "/auth/verify-email/";
    pub const INFO: &str = "/auth/info/{id}/";
    pub const UPDATE_USR: &str = "/auth/update/usr/{id}/";
    pub const USER_UPDATE: &str = "/auth/user-update/";
    pub const UPLOAD: &str = "/auth/upload/";
    /// Uploaded files, served back (not in the document: its answers carry these URLs).
    pub const MEDIA: &str = "/media/{key}";
}

/// What the handlers share.
#[derive(Clone)]
pub struct FinState {
    tokens: Tokens,
    blobs: Blobs,
    /// The public base URL of the surface (issuer + prefix), for links and file URLs.
    base_url: Arc<str>,
    /// The mount prefix (`/fintract`, or empty), for paths in emailed links.
    prefix: Arc<str>,
}

impl FinState {
    /// `public_url` is the server's public base URL (the issuer).
    pub fn new(tokens: Tokens, blobs: Blobs, public_url: &str, prefix: &str) -> Self {
        Self {
            tokens,
            blobs,
            base_url: format!("{}{prefix}", public_url.trim_end_matches('/')).into(),
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

    fn media_url(&self, key: &str) -> String {
        format!("{}/media/{key}", self.base_url)
    }

    fn verify_email_path(&self) -> String {
        format!("{}{}", self.prefix, paths::VERIFY_EMAIL)
    }
}

/// Makes sure the surface's app client and the FINTRACT_ADMIN role exist (idempotent).
pub async fn ensure_surface(idp: &Idp) -> Result<(), Error> {
    let client = NewClient {
        id: CLIENT_ID.into(),
        name: Some("Fintract-compatible auth API".into()),
        grants: vec![GrantType::RefreshToken],
        ..NewClient::default()
    };
    idp.ensure_client(DEFAULT_TENANT, client).await?;
    idp.ensure_role(
        DEFAULT_TENANT,
        ADMIN_ROLE,
        "Fintract administrators: approve customer accounts",
        &[APPROVE_ACCOUNT],
    )
    .await?;
    Ok(())
}

/// A caller signed in with a Fintract (or any) access token of the surface's tenant, whose
/// account is active; its context carries the account's entitlements.
pub struct SignedIn {
    pub ctx: Context,
    pub account: Account,
}

impl FromRequestParts<FinState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &FinState) -> Result<Self, ApiError> {
        let fail = error::at(Op::Other);
        let caller = Caller::from_request_parts(parts, s)
            .await
            .unwrap_or_default();
        let token = idp_http::bearer(&parts.headers)
            .ok_or(Error::Unauthenticated)
            .map_err(&fail)?;
        let client = s.client().await.map_err(&fail)?;
        let (_, account) = s
            .tokens
            .account_bearer(token, client.tenant_id)
            .await
            .map_err(&fail)?;
        let actor = s
            .idp()
            .actor(account.id)
            .await
            .map_err(|_| fail(Error::InvalidToken))?;
        Ok(Self {
            ctx: caller.context(Principal::Account(actor)),
            account,
        })
    }
}

/// `path` and `path` without its trailing slash, both to `handler`.
fn both<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    path: &str,
    handler: MethodRouter<S>,
) -> Router<S> {
    let bare = path.trim_end_matches('/');
    router.route(path, handler.clone()).route(bare, handler)
}

/// The routes, relative to the prefix. Calls that check a secret or send a message spend one
/// request of the caller's per-IP budget first; uploads get a body limit of their own.
pub fn router(state: FinState) -> Router {
    let mut limited = Router::new();
    limited = both(limited, paths::REGISTER, post(routes::register));
    limited = both(limited, paths::LOGIN, post(routes::login));
    limited = both(limited, paths::VERIFY_OTP, post(routes::verify_otp));
    limited = both(limited, paths::REVERIFY_EMAIL, post(routes::reverify_email));
    limited = both(limited, paths::VERIFY_EMAIL, get(routes::verify_email));
    let limited = limited.route_layer(middleware::from_fn_with_state(state.clone(), per_ip));

    // Room for the multipart framing around the largest file; the file itself is measured.
    let upload_limit = state.blobs.max_bytes() + 64 * 1024;
    let mut uploads = Router::new();
    uploads = both(uploads, paths::AVATAR, post(routes::avatar));
    uploads = both(uploads, paths::UPLOAD, post(routes::upload));
    let uploads = uploads.layer(DefaultBodyLimit::max(upload_limit));

    let mut api = Router::new();
    api = both(api, paths::DEACTIVATE, put(routes::deactivate));
    api = both(api, paths::ADMIN_APPROVAL, post(routes::admin_approval));
    api = both(api, paths::DELETE, delete(routes::delete_account));
    api = both(api, paths::INFO, get(routes::info));
    api = both(api, paths::UPDATE_USR, patch(routes::update_usr));
    api = both(api, paths::USER_UPDATE, put(routes::user_update));
    let api = api
        .merge(limited)
        .merge(uploads)
        .layer(middleware::map_response(no_store));

    Router::new()
        .route(paths::MEDIA, get(routes::media))
        .merge(api)
        .layer(middleware::map_response(refusals))
        .with_state(state)
}

async fn per_ip(State(s): State<FinState>, caller: Caller, req: Request, next: Next) -> Response {
    if let Some(ip) = caller.ip.as_deref()
        && let Err(e) = s.idp().throttle(Throttle::Ip(ip)).await
    {
        return ApiError::core(Op::Other, e).into_response();
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
    crate::rejections::in_envelope(res, ApiError::new).await
}
