//! The Fintiv tenant/admin API (`specs/fintiv-auth.txt`), translated onto idp-core. Mounted
//! under its configured prefix (default `/fintiv`). A Fintiv "client" is a tenant; the `api-key`
//! header is the id of an app client registered in that tenant (`idp-server client create
//! --tenant JANUS --id KEY --grant password --grant refresh_token`), and it selects the tenant
//! of every call; a `tenantName` header, when sent (required on `/auth/admin/...`), must name
//! that same tenant. Every answer, errors included, is the `contextResponse`/`responseData`
//! envelope.
//!
//! | route | core operation |
//! | --- | --- |
//! | `POST /auth/oauth/token` (not in the document) | `Tokens::password_grant`, `Tokens::refresh` |
//! | `GET /auth/api/myinfo` | `Idp::account_view` |
//! | `POST, PUT /auth/api/myinfo/changePassword` | `Idp::change_password` |
//! | `POST, PUT /auth/api/myinfo/changePin` | `Idp::set_pin` |
//! | `GET /auth/api/myinfo/securityQuestions` | `Idp::list_answers` |
//! | `POST /auth/api/myinfo/securityAnswer` | `Idp::set_answer` |
//! | `POST, PUT /auth/api/myinfo/securityAnswer/{id}` | `Idp::update_answer` |
//! | `GET, POST /auth/api/checkUserExist` | `Idp::find_account` |
//! | `POST /auth/api/reset/password`, `/auth/api/reset/pin` | `Idp::reset_with_answer` |
//! | `GET /auth/api/securityQuestions` | `Idp::list_questions` |
//! | `DELETE /auth/api/deregister/{uuid}` | `Idp::delete_account` |
//! | `POST /auth/api/validate/pin` | `Idp::verify_pin` |
//! | `GET /auth/admin/client/{tenantName}` | `Idp::tenant_view` |
//! | `GET /auth/admin/client/person/audit/{uuid}` | `Idp::list_audit` |
//! | `GET [/auth]/admin/client/person/audit/{uuid}/{auditId}` | `Idp::audit_record` |
//! | `GET /auth/admin/client/person` | `Idp::list_accounts` |
//! | `POST /auth/admin/client/person` | `Idp::provision_account` (+ `account_view`) |
//! | `GET /auth/admin/client/person/{uuid}` | `Idp::account_view` |
//! | `POST, PUT /auth/admin/client/person/{uuid}` | `Idp::update_account` (+ `account_view`) |
//! | `DELETE /auth/admin/client/person/{uuid}` | `Idp::delete_account` |
//! | `GET, POST, DELETE /auth/admin/client/person/role` | `Idp::account_roles`, `assign_role`, `remove_role` |
//! | `POST, PUT /auth/admin/client/person/{uuid}/lock`, `/unlock`, `/status` | `Idp::lock`, `unlock`, `set_status` |
//! | `POST, PUT /auth/admin/client/person/{uuid}/resetPassword`, `/resetPin` | `Idp::admin_reset_with_answer` |
//! | `GET, POST /auth/admin/client/role` | `Idp::list_roles`, `create_role` |
//! | `GET, POST, PUT, DELETE /auth/admin/client/role/{roleId}` | `Idp::role`, `update_role`, `delete_role` |
//!
//! A `{uuid}` is the account's id, or its username (or email) in the tenant
//! (`Idp::account_in_tenant`). `docs/compat/fintiv.md` lists every decision taken.

mod error;
pub mod openapi;
mod routes;
mod wire;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use idp_core::model::{Account, AppClient, Tenant};
use idp_core::ops::Throttle;
use idp_core::ops::tokens::Tokens;
use idp_core::{Context, Error, Idp, Principal};
use idp_http::Caller;

pub use error::ApiError;
use wire::Envelope;

/// Headers of the document.
pub const API_KEY: &str = "api-key";
pub const TENANT_NAME: &str = "tenantName";

/// Paths, relative to the prefix.
pub mod paths {
    pub const TOKEN: &str = "/auth/oauth/token";
    pub const MYINFO: &str = "/auth/api/myinfo";
    pub const CHANGE_PASSWORD: &str = "/auth/api/myinfo/changePassword";
    pub const CHANGE_PIN: &str = "/auth/api/myinfo/changePin";
    pub const MY_QUESTIONS: &str = "/auth/api/myinfo/securityQuestions";
    pub const MY_ANSWER: &str = "/auth/api/myinfo/securityAnswer";
    pub const MY_ANSWER_ID: &str = "/auth/api/myinfo/securityAnswer/{id}";
    pub const CHECK_USER: &str = "/auth/api/checkUserExist";
    pub const RESET_PASSWORD: &str = "/auth/api/reset/password";
    pub const RESET_PIN: &str = "/auth/api/reset/pin";
    pub const QUESTIONS: &str = "/auth/api/securityQuestions";
    pub const DEREGISTER: &str = "/auth/api/deregister/{uuid}";
    pub const VALIDATE_PIN: &str = "/auth/api/validate/pin";
    pub const TENANT: &str = "/auth/admin/client/{tenantName}";
    pub const AUDIT: &str = "/auth/admin/client/person/audit/{uuid}";
    pub const AUDIT_ONE: &str = "/auth/admin/client/person/audit/{uuid}/{auditId}";
    /// The document's own spelling of the audit detail path (without `/auth`).
    pub const AUDIT_ONE_BARE: &str = "/admin/client/person/audit/{uuid}/{auditId}";
    pub const PERSONS: &str = "/auth/admin/client/person";
    pub const PERSON: &str = "/auth/admin/client/person/{uuid}";
    pub const PERSON_ROLE: &str = "/auth/admin/client/person/role";
    pub const LOCK: &str = "/auth/admin/client/person/{uuid}/lock";
    pub const UNLOCK: &str = "/auth/admin/client/person/{uuid}/unlock";
    pub const ADMIN_RESET_PASSWORD: &str = "/auth/admin/client/person/{uuid}/resetPassword";
    pub const ADMIN_RESET_PIN: &str = "/auth/admin/client/person/{uuid}/resetPin";
    pub const STATUS: &str = "/auth/admin/client/person/{uuid}/status";
    pub const ROLES: &str = "/auth/admin/client/role";
    pub const ROLE: &str = "/auth/admin/client/role/{roleId}";
}

/// What the handlers share.
#[derive(Clone)]
pub struct FintivState {
    tokens: Tokens,
}

impl FintivState {
    pub fn new(tokens: Tokens) -> Self {
        Self { tokens }
    }

    fn idp(&self) -> &Idp {
        self.tokens.idp()
    }

    /// The person a path or body names (id, username or email), inside the caller's tenant.
    async fn person(&self, me: &SignedIn, key: &str) -> Result<Account, ApiError> {
        self.idp()
            .account_in_tenant(me.app.tenant.id, key)
            .await
            .map_err(me.app.fail())
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A call of an application of a tenant: `api-key` (and `tenantName`, when sent) checked.
pub struct AppCall {
    pub client: AppClient,
    pub tenant: Tenant,
    pub caller: Caller,
}

impl AppCall {
    /// Core errors, answered with this tenant's name in the envelope.
    pub fn fail(&self) -> impl Fn(Error) -> ApiError + '_ {
        error::at(&self.tenant.name)
    }

    pub fn ok<T>(&self, data: T) -> Envelope<T> {
        Envelope {
            tenant: Some(self.tenant.name.clone()),
            data,
        }
    }

    pub fn anonymous(&self) -> Context {
        self.caller.context(Principal::Anonymous)
    }

    async fn resolve(
        parts: &mut Parts,
        s: &FintivState,
        tenant_required: bool,
    ) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, s)
            .await
            .unwrap_or_default();
        let named = header(parts, TENANT_NAME).map(str::to_owned);
        let Some(key) = header(parts, API_KEY) else {
            return Err(ApiError::unauthorized("api-key header required").tenant(named));
        };
        if tenant_required && named.is_none() {
            return Err(ApiError::validation("tenantName header required"));
        }
        let (client, tenant) = s
            .idp()
            .identify_app(key, named.as_deref())
            .await
            .map_err(|e| ApiError::core(e).tenant(named.clone()))?;
        Ok(Self {
            client,
            tenant,
            caller,
        })
    }
}

impl FromRequestParts<FintivState> for AppCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &FintivState) -> Result<Self, ApiError> {
        Self::resolve(parts, s, false).await
    }
}

/// An application call with a bearer token of the tenant naming an active account; the
/// context carries the account's entitlements.
pub struct SignedIn {
    pub app: AppCall,
    pub ctx: Context,
    pub account: Account,
}

impl SignedIn {
    async fn resolve(
        parts: &mut Parts,
        s: &FintivState,
        tenant_required: bool,
    ) -> Result<Self, ApiError> {
        let app = AppCall::resolve(parts, s, tenant_required).await?;
        let name = app.tenant.name.clone();
        let fail = error::at(&name);
        let token = idp_http::bearer(&parts.headers)
            .ok_or(Error::Unauthenticated)
            .map_err(&fail)?;
        let (_, account) = s
            .tokens
            .account_bearer(token, app.tenant.id)
            .await
            .map_err(&fail)?;
        let actor = s.idp().actor(account.id).await.map_err(&fail)?;
        let ctx = app.caller.context(Principal::Account(actor));
        Ok(Self { app, ctx, account })
    }
}

impl FromRequestParts<FintivState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &FintivState) -> Result<Self, ApiError> {
        Self::resolve(parts, s, false).await
    }
}

/// A signed-in call of `/auth/admin/...`, where the document requires `tenantName`.
pub struct Admin(pub SignedIn);

impl FromRequestParts<FintivState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &FintivState) -> Result<Self, ApiError> {
        SignedIn::resolve(parts, s, true).await.map(Self)
    }
}

/// The routes, relative to the prefix. Calls that check a secret or reveal whether a user
/// exists spend one request of the caller's per-IP budget first.
pub fn router(state: FintivState) -> Router {
    use routes::*;
    let limited = Router::new()
        .route(paths::TOKEN, post(token))
        .route(paths::CHECK_USER, get(check_user).post(check_user))
        .route(paths::RESET_PASSWORD, post(reset_password))
        .route(paths::RESET_PIN, post(reset_pin))
        .route(paths::VALIDATE_PIN, post(validate_pin))
        .route_layer(middleware::from_fn_with_state(state.clone(), per_ip));
    Router::new()
        .route(paths::MYINFO, get(myinfo))
        .route(
            paths::CHANGE_PASSWORD,
            post(change_password).put(change_password),
        )
        .route(paths::CHANGE_PIN, post(change_pin).put(change_pin))
        .route(paths::MY_QUESTIONS, get(my_questions))
        .route(paths::MY_ANSWER, post(add_answer))
        .route(paths::MY_ANSWER_ID, post(update_answer).put(update_answer))
        .route(paths::QUESTIONS, get(questions))
        .route(paths::DEREGISTER, delete(deregister))
        .route(paths::TENANT, get(tenant))
        .route(paths::AUDIT, get(audit_list))
        .route(paths::AUDIT_ONE, get(audit_one))
        .route(paths::AUDIT_ONE_BARE, get(audit_one))
        .route(paths::PERSONS, get(persons).post(create_person))
        .route(
            paths::PERSON,
            get(person)
                .post(update_person)
                .put(update_person)
                .delete(delete_person),
        )
        .route(
            paths::PERSON_ROLE,
            get(person_roles)
                .post(assign_person_role)
                .delete(remove_person_role),
        )
        .route(paths::LOCK, post(lock).put(lock))
        .route(paths::UNLOCK, post(unlock).put(unlock))
        .route(
            paths::ADMIN_RESET_PASSWORD,
            post(admin_reset_password).put(admin_reset_password),
        )
        .route(
            paths::ADMIN_RESET_PIN,
            post(admin_reset_pin).put(admin_reset_pin),
        )
        .route(paths::STATUS, post(status).put(status))
        .route(paths::ROLES, get(roles).post(create_role))
        .route(
            paths::ROLE,
            get(role)
                .post(update_role)
                .put(update_role)
                .delete(delete_role),
        )
        .merge(limited)
        .layer(middleware::map_response(no_store))
        .layer(middleware::map_response(refusals))
        .with_state(state)
}

async fn per_ip(
    State(s): State<FintivState>,
    caller: Caller,
    req: Request,
    next: Next,
) -> Response {
    if let Some(ip) = caller.ip.as_deref()
        && let Err(e) = s.idp().throttle(Throttle::Ip(ip)).await
    {
        return ApiError::core(e).into_response();
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
    crate::rejections::in_envelope(res, |status, message| {
        ApiError::new(status, "VALIDATION", message)
    })
    .await
}
