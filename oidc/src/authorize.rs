//! `/authorize`: the authorization-code flow with its sign-in and consent pages.
//!
//! GET checks the request and either answers the client at once (an existing session, or
//! `prompt=none`) or shows a page. The pages post back to `/authorize` with the request in
//! hidden fields, so no server-side state is kept between steps. Errors about the client or
//! the redirect URI are shown to the user (the URI is not trusted yet); every later error goes
//! back to the client's redirect URI, as RFC 6749 §4.1.2.1 asks.
//!
//! Sign-in is the core's two-step flow ([`Tokens::sign_in`](idp_core::ops::tokens::Tokens)):
//! when the account needs a second factor, the page after the password asks for it and carries
//! the signed pending token in a hidden field (`pending`) to the `mfa` action. Both form actions
//! spend the caller's per-IP budget first (429 page with `Retry-After` past it, 503 when the
//! shared counters are down).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use idp_core::Error;
use idp_core::model::Account;
use idp_core::model::{AppClient, AuthContext, FactorKind, now};
use idp_core::ops::Throttle;
use idp_core::ops::tokens::{
    AuthorizeRequest, IssuedCode, PendingSignIn, SignIn, new_secret, parse_scope,
};
use idp_http::Caller;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::{OidcState, cookies, pages, paths};

/// Query of GET and body of POST alike.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
    max_age: Option<String>,
    login_hint: Option<String>,
    // Only in the pages' form posts:
    action: Option<String>,
    username: Option<String>,
    password: Option<String>,
    csrf: Option<String>,
    // Only in the second-factor page's post: the signed pending sign-in, the code, and what the
    // page said (display only: the core checks the factor named in the pending token).
    pending: Option<String>,
    code: Option<String>,
    factor: Option<String>,
    sent_to: Option<String>,
    question: Option<String>,
}

impl Params {
    /// The request fields a page carries forward.
    fn carried(&self) -> Vec<(&'static str, &str)> {
        [
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("response_type", &self.response_type),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("login_hint", &self.login_hint),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

pub async fn start(
    State(s): State<OidcState>,
    caller: Caller,
    headers: HeaderMap,
    q: Result<Query<Params>, QueryRejection>,
) -> Response {
    match q {
        Ok(Query(p)) => run(&s, &caller, &headers, p, false).await,
        Err(_) => pages::error(
            StatusCode::BAD_REQUEST,
            "The authorization request is malformed.",
        ),
    }
}

pub async fn submit(
    State(s): State<OidcState>,
    caller: Caller,
    headers: HeaderMap,
    f: Result<Form<Params>, FormRejection>,
) -> Response {
    match f {
        Ok(Form(p)) => run(&s, &caller, &headers, p, true).await,
        Err(e) => {
            let (status, message) = pages::form_rejection(&e);
            pages::error(status, &message)
        }
    }
}

/// Where and how to answer the client once its redirect URI is trusted.
struct Reply<'a> {
    redirect_uri: String,
    state: Option<&'a str>,
    issuer: &'a str,
    cookies: HeaderMap,
}

impl Reply<'_> {
    fn send(self, pairs: &[(&str, &str)]) -> Response {
        let mut url = match url::Url::parse(&self.redirect_uri) {
            Ok(u) => u,
            Err(_) => {
                return pages::error(StatusCode::BAD_REQUEST, "The redirect URI is not valid.");
            }
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            if let Some(st) = self.state {
                q.append_pair("state", st);
            }
            q.append_pair("iss", self.issuer);
        }
        (self.cookies, Redirect::to(url.as_str())).into_response()
    }

    fn error(self, code: &str, description: &str) -> Response {
        self.send(&[("error", code), ("error_description", description)])
    }

    fn core_error(self, e: Error) -> Response {
        match e {
            Error::Invalid {
                field: "response_type",
                reason,
            } => self.error("unsupported_response_type", &reason),
            Error::Invalid { field, reason } => {
                self.error("invalid_request", &format!("{field} {reason}"))
            }
            Error::UnauthorizedClient(d) => self.error("unauthorized_client", &d),
            Error::InvalidScope(d) => self.error("invalid_scope", &d),
            Error::Overloaded | Error::Unavailable => {
                self.error("temporarily_unavailable", "try again later")
            }
            other => {
                tracing::error!(error = %other, "authorize failed");
                self.error("server_error", "internal error")
            }
        }
    }
}

#[derive(Default)]
struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
}

fn parse_prompt(raw: Option<&str>) -> Result<Prompt, &'static str> {
    let mut p = Prompt::default();
    for v in raw.unwrap_or_default().split_ascii_whitespace() {
        match v {
            "none" => p.none = true,
            "login" => p.login = true,
            "consent" => p.consent = true,
            "select_account" => {}
            _ => return Err("prompt has an unsupported value"),
        }
    }
    if p.none && (p.login || p.consent) {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(p)
}

async fn run(
    s: &OidcState,
    caller: &Caller,
    headers: &HeaderMap,
    p: Params,
    submitted: bool,
) -> Response {
    let Some(client_id) = p.client_id.as_deref() else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The request names no client (client_id is missing).",
        );
    };
    let (client, redirect_uri) = match s
        .tokens
        .authorize_target(client_id, p.redirect_uri.as_deref())
        .await
    {
        Ok(t) => t,
        Err(Error::InvalidClient) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "The application is not known here.",
            );
        }
        Err(Error::Invalid { reason, .. }) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                &format!("The application's redirect URI {reason}."),
            );
        }
        Err(e) => return server_error_page(e),
    };
    let mut reply = Reply {
        redirect_uri,
        state: p.state.as_deref(),
        issuer: s.issuer(),
        cookies: HeaderMap::new(),
    };
    let req = AuthorizeRequest {
        response_type: p.response_type.clone().unwrap_or_default(),
        redirect_uri: p.redirect_uri.clone(),
        scope: p.scope.clone(),
        nonce: p.nonce.clone(),
        code_challenge: p.code_challenge.clone(),
        code_challenge_method: p.code_challenge_method.clone(),
    };
    let issued = match s.tokens.check_authorize(&client, &req) {
        Ok(i) => i,
        Err(e) => return reply.core_error(e),
    };
    let prompt = match parse_prompt(p.prompt.as_deref()) {
        Ok(pr) => pr,
        Err(msg) => return reply.error("invalid_request", msg),
    };
    let max_age = match p.max_age.as_deref().map(str::parse::<i64>) {
        None => None,
        Some(Ok(m)) if m >= 0 => Some(m),
        Some(_) => return reply.error("invalid_request", "max_age must be a non-negative integer"),
    };
    let csrf = match cookies::get(headers, cookies::CSRF) {
        Some(c) => c,
        None => {
            let c = new_secret();
            cookies::set(
                &mut reply.cookies,
                cookies::CSRF,
                &c,
                3600,
                s.secure_cookies,
            );
            c
        }
    };
    let mut session = match cookies::get(headers, cookies::SESSION) {
        Some(raw) => match s.tokens.session(&raw).await {
            Ok(found) => found.filter(|(sess, _)| sess.tenant_id == client.tenant_id),
            Err(e) => return server_error_page(e),
        },
        None => None,
    };

    let mut fresh_login = false;
    let mut consented_now = false;
    if submitted {
        let sent = p.csrf.as_deref().unwrap_or_default();
        let known = cookies::get(headers, cookies::CSRF).unwrap_or_default();
        if known.is_empty() || !bool::from(known.as_bytes().ct_eq(sent.as_bytes())) {
            return pages::error(
                StatusCode::FORBIDDEN,
                "This form has expired. Go back to the application and start again.",
            );
        }
        let action = p.action.as_deref();
        if matches!(action, Some("login" | "mfa"))
            && let Some(ip) = caller.ip.as_deref()
            && let Err(e) = s.tokens.idp().throttle(Throttle::Ip(ip)).await
        {
            return with_cookies(reply.cookies, server_error_page(e));
        }
        let ctx = caller.context(idp_core::Principal::Anonymous);
        // The account and how it signed in, when this post finished a sign-in.
        let signed_in = match action {
            Some("login") => {
                let login = p.username.as_deref().unwrap_or_default();
                let password = p.password.as_deref().unwrap_or_default();
                match s
                    .tokens
                    .sign_in(&ctx, client.tenant_id, login, password, &client.id)
                    .await
                {
                    Ok(SignIn::Complete(account, auth)) => Some((account, auth)),
                    Ok(SignIn::Pending(pending)) => {
                        return with_cookies(
                            reply.cookies,
                            mfa_page(s, &p, &csrf, &client, &MfaStep::from(&pending), None),
                        );
                    }
                    Err(e) if is_service_error(&e) => {
                        return with_cookies(reply.cookies, server_error_page(e));
                    }
                    Err(e) => {
                        return with_cookies(
                            reply.cookies,
                            login_page(s, &p, &csrf, &client, login, Some(login_failure(&e))),
                        );
                    }
                }
            }
            Some("mfa") => {
                let step = MfaStep::from_form(&p);
                let finished = match (step.pending, p.code.as_deref()) {
                    (Some(pending), Some(code)) => {
                        s.tokens
                            .finish_sign_in(&ctx, pending, &client.id, code)
                            .await
                    }
                    _ => Err(Error::ChallengeClosed),
                };
                match finished {
                    Ok(done) => Some(done),
                    Err(Error::InvalidCredentials) => {
                        return with_cookies(
                            reply.cookies,
                            mfa_page(
                                s,
                                &p,
                                &csrf,
                                &client,
                                &step,
                                Some("That code is not right. Please try again."),
                            ),
                        );
                    }
                    Err(e) if is_service_error(&e) => {
                        return with_cookies(reply.cookies, server_error_page(e));
                    }
                    Err(
                        e @ (Error::AccountLocked
                        | Error::AccountDisabled
                        | Error::AccountInactive
                        | Error::PendingApproval),
                    ) => {
                        return with_cookies(
                            reply.cookies,
                            login_page(s, &p, &csrf, &client, "", Some(login_failure(&e))),
                        );
                    }
                    // Closed, expired, forged, another client's, or a factor no longer enrolled.
                    Err(_) => {
                        return with_cookies(
                            reply.cookies,
                            login_page(s, &p, &csrf, &client, "", Some(CHALLENGE_CLOSED)),
                        );
                    }
                }
            }
            Some("consent") => {
                let Some((_, account)) = &session else {
                    return with_cookies(
                        reply.cookies,
                        login_page(s, &p, &csrf, &client, "", None),
                    );
                };
                if let Err(e) = s
                    .tokens
                    .grant_consent(&client, account.id, &issued.scope)
                    .await
                {
                    return reply.core_error(e);
                }
                consented_now = true;
                None
            }
            Some("deny") => return reply.error("access_denied", "the user denied the request"),
            _ => return pages::error(StatusCode::BAD_REQUEST, "Unknown form action."),
        };
        if let Some((account, auth)) = signed_in {
            match s.tokens.start_session(&account, &auth).await {
                Ok((raw, sess)) => {
                    let ttl = s.tokens.config().session_ttl.num_seconds();
                    cookies::set(
                        &mut reply.cookies,
                        cookies::SESSION,
                        &raw,
                        ttl,
                        s.secure_cookies,
                    );
                    session = Some((sess, account));
                    fresh_login = true;
                }
                Err(e) => return with_cookies(reply.cookies, server_error_page(e)),
            }
        }
    }

    let stale = |auth: &AuthContext| match (max_age, auth.auth_time) {
        (Some(m), Some(t)) => (now() - t).num_seconds() > m,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let account = match session {
        Some((sess, account)) if fresh_login || !(prompt.login || stale(&sess.auth)) => {
            (sess, account)
        }
        _ if prompt.none => return reply.error("login_required", "the user is not signed in"),
        _ => {
            let hint = p.login_hint.as_deref().unwrap_or_default();
            return with_cookies(reply.cookies, login_page(s, &p, &csrf, &client, hint, None));
        }
    };
    let (sess, account): (_, Account) = account;
    if !consented_now {
        let needed = match s
            .tokens
            .needs_consent(&client, account.id, &issued.scope)
            .await
        {
            Ok(n) => n || (prompt.consent && client.consent_required),
            Err(e) => return reply.core_error(e),
        };
        if needed {
            if prompt.none {
                return reply.error("consent_required", "the user has not consented");
            }
            return with_cookies(reply.cookies, consent_page(s, &p, &csrf, &client, &issued));
        }
    }
    match s
        .tokens
        .issue_code(&client, &issued, account.id, &sess.auth)
        .await
    {
        Ok(code) => reply.send(&[("code", &code)]),
        Err(e) => reply.core_error(e),
    }
}

fn hidden_with_csrf(p: &Params, csrf: &str) -> String {
    let mut fields = p.carried();
    fields.push(("csrf", csrf));
    pages::hidden(&fields)
}

/// The second-factor step as the page shows it: the pending token and what to ask for.
struct MfaStep<'a> {
    pending: Option<&'a str>,
    factor: Option<FactorKind>,
    sent_to: Option<&'a str>,
    question: Option<&'a str>,
}

impl<'a> MfaStep<'a> {
    fn from(p: &'a PendingSignIn) -> Self {
        Self {
            pending: Some(&p.token),
            factor: Some(p.factor),
            sent_to: p.sent_to.as_deref(),
            question: p.question.as_deref(),
        }
    }

    /// As carried by the page's form (`factor` and `sent_to` only choose the wording).
    fn from_form(p: &'a Params) -> Self {
        Self {
            pending: p.pending.as_deref().filter(|t| !t.is_empty()),
            factor: p.factor.as_deref().and_then(|f| f.parse().ok()),
            sent_to: p.sent_to.as_deref().filter(|t| !t.is_empty()),
            question: p.question.as_deref().filter(|t| !t.is_empty()),
        }
    }

    fn prompt(&self) -> pages::FactorPrompt<'a> {
        match self.factor {
            Some(FactorKind::Totp) => pages::FactorPrompt::Authenticator,
            Some(FactorKind::Pin) => pages::FactorPrompt::Pin,
            Some(FactorKind::SecurityAnswer) => pages::FactorPrompt::Question(self.question),
            _ => pages::FactorPrompt::Sent(self.sent_to),
        }
    }
}

fn mfa_page(
    s: &OidcState,
    p: &Params,
    csrf: &str,
    client: &AppClient,
    step: &MfaStep<'_>,
    message: Option<&str>,
) -> Response {
    let mut fields = p.carried();
    fields.push(("csrf", csrf));
    fields.push(("pending", step.pending.unwrap_or_default()));
    if let Some(f) = step.factor {
        fields.push(("factor", f.as_str()));
    }
    if let Some(to) = step.sent_to {
        fields.push(("sent_to", to));
    }
    if let Some(q) = step.question {
        fields.push(("question", q));
    }
    pages::mfa(
        &s.endpoint(paths::AUTHORIZE),
        &pages::hidden(&fields),
        display_name(client),
        &step.prompt(),
        message,
    )
}

fn display_name(client: &AppClient) -> &str {
    client.name.as_deref().unwrap_or(&client.id)
}

fn login_page(
    s: &OidcState,
    p: &Params,
    csrf: &str,
    client: &AppClient,
    hint: &str,
    message: Option<&str>,
) -> Response {
    pages::login(
        &s.endpoint(paths::AUTHORIZE),
        &hidden_with_csrf(p, csrf),
        display_name(client),
        hint,
        message,
    )
}

fn consent_page(
    s: &OidcState,
    p: &Params,
    csrf: &str,
    client: &AppClient,
    issued: &IssuedCode,
) -> Response {
    pages::consent(
        &s.endpoint(paths::AUTHORIZE),
        &hidden_with_csrf(p, csrf),
        display_name(client),
        &parse_scope(&issued.scope),
    )
}

const CHALLENGE_CLOSED: &str = "The code has expired or was tried too often. Please sign in again.";

/// What the sign-in page says about a failed attempt. The status of an account is told only
/// after the right password (the core guarantees that), so this reveals nothing more.
fn login_failure(e: &Error) -> &'static str {
    match e {
        Error::AccountLocked => {
            "This account is locked. Contact support or unlock it from the link we emailed you."
        }
        Error::AccountDisabled => "This account is disabled.",
        Error::AccountInactive => "This account is not active yet.",
        Error::PendingApproval => "This account is waiting for approval.",
        Error::ChallengeClosed => CHALLENGE_CLOSED,
        _ => "Wrong username or password.",
    }
}

fn with_cookies(cookies: HeaderMap, res: Response) -> Response {
    (cookies, res).into_response()
}

/// Errors about the service rather than the user's input: shown as their own pages.
fn is_service_error(e: &Error) -> bool {
    matches!(
        e,
        Error::RateLimited { .. } | Error::Overloaded | Error::Unavailable | Error::Internal(_)
    )
}

/// 429 (with `Retry-After`), 503, or 500.
fn server_error_page(e: Error) -> Response {
    match e {
        Error::RateLimited { retry_after_secs } => pages::rate_limited(retry_after_secs),
        Error::Overloaded | Error::Unavailable => pages::unavailable(),
        other => {
            tracing::error!(error = %other, "authorize failed");
            pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong. Please try again.",
            )
        }
    }
}
