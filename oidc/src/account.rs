//! Account pages outside the authorization flow:
//! - `/unlock`: where emailed unlock links land. GET shows a button (a form post with a CSRF
//!   token), POST unlocks: mail scanners fetch links, so a GET never changes anything.
//! - `/account/mfa`: authenticator-app enrolment for a signed-in browser (the `idp_session`
//!   cookie). GET starts an enrolment and shows its QR code (inline SVG) and secret; POST
//!   confirms it with a first code. When an authenticator is already enrolled, GET only offers
//!   to replace it (a form post), so that a cross-site link cannot reset a confirmed one.
//!   After a wrong code the page shows the same secret again (carried in hidden fields; the
//!   core checks the code against its stored enrolment, so tampering with them only changes
//!   what this browser sees) instead of making the user scan a new one.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use idp_core::model::{Account, FactorKind};
use idp_core::ops::Throttle;
use idp_core::ops::mfa::TotpEnrolment;
use idp_core::{Context, Error, Principal};
use idp_http::Caller;
use serde::Deserialize;

use crate::{OidcState, cookies, pages, paths};

#[derive(Debug, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnlockParams {
    token: Option<String>,
    csrf: Option<String>,
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

fn link_invalid() -> Response {
    pages::message(
        StatusCode::BAD_REQUEST,
        "Link expired",
        "This link is no longer valid.",
    )
}

/// 429, 503 or 500 for errors about the service rather than the input.
fn service_error(e: Error) -> Response {
    match e {
        Error::RateLimited { retry_after_secs } => pages::rate_limited(retry_after_secs),
        Error::Overloaded | Error::Unavailable => pages::unavailable(),
        other => {
            tracing::error!(error = %other, "account page failed");
            pages::message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong. Please try again.",
            )
        }
    }
}

fn form_expired() -> Response {
    pages::message(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form has expired. Please load the page again.",
    )
}

fn form_error(e: &FormRejection) -> Response {
    let (status, message) = pages::form_rejection(e);
    pages::message(status, "Bad request", &message)
}

/// GET `/unlock?token=…`: a confirmation form, nothing more.
pub async fn unlock_start(
    State(s): State<OidcState>,
    headers: HeaderMap,
    q: Result<Query<UnlockParams>, QueryRejection>,
) -> Response {
    let Ok(Query(p)) = q else {
        return link_invalid();
    };
    let Some(token) = non_empty(p.token.as_deref()) else {
        return link_invalid();
    };
    let mut out = HeaderMap::new();
    let csrf = cookies::csrf_token(&headers, &mut out, s.secure_cookies);
    let hidden = pages::hidden(&[("token", token), ("csrf", &csrf)]);
    (
        out,
        pages::unlock_confirm(&s.endpoint(paths::UNLOCK), &hidden),
    )
        .into_response()
}

/// POST `/unlock`: spends the token and unlocks the account.
pub async fn unlock_submit(
    State(s): State<OidcState>,
    caller: Caller,
    headers: HeaderMap,
    f: Result<Form<UnlockParams>, FormRejection>,
) -> Response {
    let p = match f {
        Ok(Form(p)) => p,
        Err(e) => return form_error(&e),
    };
    if !cookies::csrf_matches(&headers, p.csrf.as_deref()) {
        return form_expired();
    }
    let Some(token) = non_empty(p.token.as_deref()) else {
        return link_invalid();
    };
    let idp = s.tokens.idp();
    if let Some(ip) = caller.ip.as_deref()
        && let Err(e) = idp.throttle(Throttle::Ip(ip)).await
    {
        return service_error(e);
    }
    match idp
        .unlock_with_token(&caller.context(Principal::Anonymous), token)
        .await
    {
        Ok(_) => pages::message(
            StatusCode::OK,
            "Your account is unlocked",
            "Your account is unlocked. You can sign in again.",
        ),
        Err(Error::ChallengeClosed) => link_invalid(),
        Err(e) => service_error(e),
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MfaForm {
    action: Option<String>,
    code: Option<String>,
    csrf: Option<String>,
    /// The enrolment being confirmed, as the page showed it (display only).
    secret: Option<String>,
    uri: Option<String>,
}

/// The signed-in account of the browser and a context acting as it; an error page otherwise.
async fn signed_in(
    s: &OidcState,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<(Account, Context), Response> {
    let not_signed_in = || {
        pages::message(
            StatusCode::UNAUTHORIZED,
            "Sign in first",
            "You are not signed in. Sign in to an application with this account first, then \
             come back to this page.",
        )
    };
    let Some(raw) = cookies::get(headers, cookies::SESSION) else {
        return Err(not_signed_in());
    };
    let account = match s.tokens.session(&raw).await {
        Ok(Some((_, account))) => account,
        Ok(None) => return Err(not_signed_in()),
        Err(e) => return Err(service_error(e)),
    };
    match s.tokens.idp().actor(account.id).await {
        Ok(actor) => Ok((account, caller.context(Principal::Account(actor)))),
        Err(
            Error::AccountLocked
            | Error::AccountDisabled
            | Error::AccountInactive
            | Error::PendingApproval
            | Error::NotFound(_),
        ) => Err(pages::message(
            StatusCode::FORBIDDEN,
            "Not available",
            "This account cannot be changed now.",
        )),
        Err(e) => Err(service_error(e)),
    }
}

/// The QR code of `uri` as inline SVG markup (no XML declaration).
fn qr_svg(uri: &str) -> String {
    use qrcode::render::svg;
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            let start = svg.find("<svg").unwrap_or(0);
            svg[start..].replacen(
                "<svg ",
                "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" ",
                1,
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "QR code not rendered");
            String::new()
        }
    }
}

fn enrol_page(
    s: &OidcState,
    out: HeaderMap,
    csrf: &str,
    enrolment: &TotpEnrolment,
    message: Option<&str>,
) -> Response {
    let hidden = pages::hidden(&[
        ("csrf", csrf),
        ("secret", &enrolment.secret),
        ("uri", &enrolment.uri),
    ]);
    (
        out,
        pages::totp_enrol(
            &s.endpoint(paths::ACCOUNT_MFA),
            &hidden,
            &qr_svg(&enrolment.uri),
            &enrolment.secret,
            message,
        ),
    )
        .into_response()
}

async fn begin(
    s: &OidcState,
    ctx: &Context,
    account: &Account,
    out: HeaderMap,
    csrf: &str,
    message: Option<&str>,
) -> Response {
    match s.tokens.idp().begin_totp(ctx, account.id).await {
        Ok(enrolment) => enrol_page(s, out, csrf, &enrolment, message),
        Err(e) => service_error(e),
    }
}

/// GET `/account/mfa`.
pub async fn mfa_start(State(s): State<OidcState>, caller: Caller, headers: HeaderMap) -> Response {
    let (account, ctx) = match signed_in(&s, &caller, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let mut out = HeaderMap::new();
    let csrf = cookies::csrf_token(&headers, &mut out, s.secure_cookies);
    match s.tokens.idp().second_factor(&account).await {
        Ok(Some(FactorKind::Totp)) => (
            out,
            pages::totp_enrolled_already(
                &s.endpoint(paths::ACCOUNT_MFA),
                &pages::hidden(&[("csrf", &csrf)]),
                None,
            ),
        )
            .into_response(),
        Ok(_) => begin(&s, &ctx, &account, out, &csrf, None).await,
        Err(e) => service_error(e),
    }
}

/// POST `/account/mfa`: `action=confirm` (the default) with `code`, or `action=replace`.
pub async fn mfa_submit(
    State(s): State<OidcState>,
    caller: Caller,
    headers: HeaderMap,
    f: Result<Form<MfaForm>, FormRejection>,
) -> Response {
    let p = match f {
        Ok(Form(p)) => p,
        Err(e) => return form_error(&e),
    };
    let (account, ctx) = match signed_in(&s, &caller, &headers).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if !cookies::csrf_matches(&headers, p.csrf.as_deref()) {
        return form_expired();
    }
    let csrf = p.csrf.clone().unwrap_or_default();
    if p.action.as_deref() == Some("replace") {
        let current = p.code.as_deref().unwrap_or_default();
        return match s.tokens.idp().replace_totp(&ctx, account.id, current).await {
            Ok(enrolment) => enrol_page(&s, HeaderMap::new(), &csrf, &enrolment, None),
            Err(Error::InvalidCredentials) => pages::totp_enrolled_already(
                &s.endpoint(paths::ACCOUNT_MFA),
                &pages::hidden(&[("csrf", &csrf)]),
                Some("That code is not right. Please try again."),
            ),
            Err(e) => service_error(e),
        };
    }
    let code = p.code.as_deref().unwrap_or_default();
    match s.tokens.idp().confirm_totp(&ctx, account.id, code).await {
        Ok(()) => pages::message(
            StatusCode::OK,
            "Authenticator enrolled",
            "Your authenticator app is set up. From now on, signing in asks for its code.",
        ),
        Err(Error::InvalidCredentials) => {
            let wrong = Some("That code is not right. Please try again.");
            match (non_empty(p.secret.as_deref()), non_empty(p.uri.as_deref())) {
                (Some(secret), Some(uri)) => {
                    let shown = TotpEnrolment {
                        secret: secret.to_owned(),
                        uri: uri.to_owned(),
                    };
                    enrol_page(&s, HeaderMap::new(), &csrf, &shown, wrong)
                }
                _ => begin(&s, &ctx, &account, HeaderMap::new(), &csrf, wrong).await,
            }
        }
        // No enrolment at all (removed meanwhile): start over.
        Err(Error::NotFound(_)) => {
            begin(
                &s,
                &ctx,
                &account,
                HeaderMap::new(),
                &csrf,
                Some("That set-up is no longer open. Please scan this new code."),
            )
            .await
        }
        Err(
            Error::AccountLocked
            | Error::AccountDisabled
            | Error::AccountInactive
            | Error::PendingApproval,
        ) => pages::message(
            StatusCode::FORBIDDEN,
            "Not available",
            "This account cannot be changed now.",
        ),
        Err(e) => service_error(e),
    }
}
