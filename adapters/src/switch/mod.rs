//! The Switch-style user API (`specs/switch-user.txt`), translated onto idp-core. Mounted under
//! its configured prefix (default `/switch`); answers are `{"message": ..., "data": ...}`.
//!
//! Every call names the calling application in `SWI-CID` (an app client of the surface's tenant
//! with a secret); every POST carries `SWI-CS`, the hex HMAC-SHA512 of its raw body keyed with
//! the client's checksum key (`idp_core::checksum`: the hex SHA-256 of the client secret). Both
//! are checked before anything else happens. The accounts live in the default tenant and the
//! tokens (`auth_token`) are issued to the public app client [`CLIENT_ID`], so they are the same
//! access tokens the OIDC surface issues (`/jwks`, `/introspect`, `/userinfo` take them).
//!
//! | route | core operation |
//! | --- | --- |
//! | `POST /user/register` | `Idp::register_with_kyc` + `Tokens::issue_for` |
//! | `POST /user/login` | `Tokens::password_sign_in` / `Tokens::finish_direct_sign_in` |
//! | `POST /user/forgot_password` | `Idp::request_password_reset` |
//! | `POST /user/reset_password` | `Idp::reset_password_with_answer` |
//! | `POST /user/unlock_account` | `Idp::unlock_with_token` |
//! | `POST /user/resend_unlock_email` | `Idp::request_unlock_link` |
//! | `POST /user/logout` | `Tokens::sign_out_access_token` |
//! | `POST /user/validate_user_bvn` | `Idp::confirm_bvn` |
//! | `POST /user/send_email_confirmation_mail` | `Idp::request_email_confirmation` |
//! | `POST /user/confirm_email` (link target, not in the document) | `Idp::verify_email_with_token` |
//! | `GET /user/referrer/{switch_id}` | `Idp::public_names` |
//!
//! `docs/compat/switch.md` lists every decision taken where the document is unclear.

mod error;
pub mod openapi;
mod routes;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use idp_core::kyc::BvnVerifier;
use idp_core::model::{AppClient, DEFAULT_TENANT, GrantType};
use idp_core::ops::tokens::Tokens;
use idp_core::ops::{NewClient, Throttle};
use idp_core::{Error, Idp};
use idp_http::Caller;

pub use error::{ApiError, Op};

/// The app client the surface's tokens are issued to (public, refresh_token grant, default
/// tenant). Created at start-up by [`ensure_client`].
pub const CLIENT_ID: &str = "switch";

/// The header naming the calling application.
pub const CLIENT_HEADER: &str = "swi-cid";
/// The header carrying the payload checksum.
pub const CHECKSUM_HEADER: &str = "swi-cs";

/// Paths, relative to the prefix.
pub mod paths {
    pub const REGISTER: &str = "/user/register";
    pub const LOGIN: &str = "/user/login";
    pub const FORGOT_PASSWORD: &str = "/user/forgot_password";
    pub const RESET_PASSWORD: &str = "/user/reset_password";
    pub const UNLOCK_ACCOUNT: &str = "/user/unlock_account";
    pub const RESEND_UNLOCK_EMAIL: &str = "/user/resend_unlock_email";
    pub const LOGOUT: &str = "/user/logout";
    pub const VALIDATE_USER_BVN: &str = "/user/validate_user_bvn";
    pub const SEND_EMAIL_CONFIRMATION: &str = "/user/send_email_confirmation_mail";
    pub const CONFIRM_EMAIL: &str = "/user/confirm_email";
    pub const REFERRER: &str = "/user/referrer/{switch_id}";
}

/// What the handlers share.
#[derive(Clone)]
pub struct SwitchState {
    tokens: Tokens,
    kyc: Arc<dyn BvnVerifier>,
    /// The mount prefix (`/switch`, or empty), for links in emails.
    prefix: Arc<str>,
    /// The server's body limit (`http.body_limit`): the checksum layer reads the raw body
    /// itself, past axum's `DefaultBodyLimit`, so it applies the limit on its own.
    body_limit: usize,
}

impl SwitchState {
    pub fn new(tokens: Tokens, kyc: Arc<dyn BvnVerifier>, prefix: &str, body_limit: usize) -> Self {
        Self {
            tokens,
            kyc,
            prefix: prefix.into(),
            body_limit,
        }
    }

    fn idp(&self) -> &Idp {
        self.tokens.idp()
    }

    /// The surface's app client (clients never change once created; the core remembers them).
    async fn client(&self) -> Result<AppClient, Error> {
        self.idp().client(CLIENT_ID).await
    }

    /// `{prefix}{path}`: where emailed links point.
    fn link(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }
}

/// Makes sure the surface's app client exists (idempotent; safe when replicas start together).
pub async fn ensure_client(idp: &Idp) -> Result<AppClient, Error> {
    let new = NewClient {
        id: CLIENT_ID.into(),
        name: Some("Switch-compatible user API".into()),
        grants: vec![GrantType::RefreshToken],
        ..NewClient::default()
    };
    idp.ensure_client(DEFAULT_TENANT, new).await
}

/// The routes, relative to the prefix. Every POST passes the client and checksum check first,
/// then spends one request of the caller's per-IP budget; the GET checks the client only.
pub fn router(state: SwitchState) -> Router {
    let posts = Router::new()
        .route(paths::REGISTER, post(routes::register))
        .route(paths::LOGIN, post(routes::login))
        .route(paths::FORGOT_PASSWORD, post(routes::forgot_password))
        .route(paths::RESET_PASSWORD, post(routes::reset_password))
        .route(paths::UNLOCK_ACCOUNT, post(routes::unlock_account))
        .route(
            paths::RESEND_UNLOCK_EMAIL,
            post(routes::resend_unlock_email),
        )
        .route(paths::LOGOUT, post(routes::logout))
        .route(paths::VALIDATE_USER_BVN, post(routes::validate_user_bvn))
        .route(
            paths::SEND_EMAIL_CONFIRMATION,
            post(routes::send_email_confirmation),
        )
        .route(paths::CONFIRM_EMAIL, post(routes::confirm_email))
        .route_layer(middleware::from_fn_with_state(state.clone(), per_ip))
        .route_layer(middleware::from_fn_with_state(state.clone(), checksum));
    let gets = Router::new()
        .route(paths::REFERRER, get(routes::referrer))
        .route_layer(middleware::from_fn_with_state(state.clone(), per_ip))
        .route_layer(middleware::from_fn_with_state(state.clone(), client_only));
    Router::new()
        .merge(posts)
        .merge(gets)
        .layer(middleware::map_response(no_store))
        .layer(middleware::map_response(refusals))
        .with_state(state)
}

/// `SWI-CID`, when present and readable.
fn client_id(req: &Request) -> Option<String> {
    req.headers()
        .get(CLIENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `SWI-CID` names a client of the surface's tenant and `SWI-CS` is its checksum of the raw
/// body; otherwise the call is refused here, before the body is parsed.
async fn checksum(State(s): State<SwitchState>, req: Request, next: Next) -> Response {
    let op = Op::Checksum;
    let Some(cid) = client_id(&req) else {
        return ApiError::missing_client().into_response();
    };
    let given = req
        .headers()
        .get(CHECKSUM_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, s.body_limit).await {
        Ok(b) => b,
        Err(_) => return ApiError::too_large().into_response(),
    };
    let surface = match s.client().await {
        Ok(c) => c,
        Err(e) => return ApiError::core(Op::Surface, e).into_response(),
    };
    if let Err(e) = s
        .idp()
        .client_by_checksum(surface.tenant_id, &cid, &bytes, given.as_deref())
        .await
    {
        return ApiError::core(op, e).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// `SWI-CID` names a client of the surface's tenant (calls without a body).
async fn client_only(State(s): State<SwitchState>, req: Request, next: Next) -> Response {
    let Some(cid) = client_id(&req) else {
        return ApiError::missing_client().into_response();
    };
    let surface = match s.client().await {
        Ok(c) => c,
        Err(e) => return ApiError::core(Op::Surface, e).into_response(),
    };
    match s.idp().client(&cid).await {
        Ok(c) if c.tenant_id == surface.tenant_id && !c.is_public() => next.run(req).await,
        Ok(_) => ApiError::core(Op::Checksum, Error::InvalidClient).into_response(),
        Err(e) => ApiError::core(Op::Checksum, e).into_response(),
    }
}

async fn per_ip(
    State(s): State<SwitchState>,
    caller: Caller,
    req: Request,
    next: Next,
) -> Response {
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
    crate::rejections::in_envelope(res, ApiError::new).await
}
