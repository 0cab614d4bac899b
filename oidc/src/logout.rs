//! `/logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! With a valid `id_token_hint` for the signed-in account the session ends at once; otherwise
//! the user confirms on a page (a form with a CSRF token), so that a stray link cannot sign
//! anyone out. `post_logout_redirect_uri` must equal one of the client's registered redirect
//! URIs; the client is the hint's audience or `client_id`.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use idp_core::ops::tokens::new_secret;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::{OidcState, cookies, pages, paths};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Params {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
    csrf: Option<String>,
}

pub async fn start(
    State(s): State<OidcState>,
    headers: HeaderMap,
    q: Result<Query<Params>, QueryRejection>,
) -> Response {
    match q {
        Ok(Query(p)) => run(&s, &headers, p, false).await,
        Err(_) => pages::error(StatusCode::BAD_REQUEST, "The logout request is malformed."),
    }
}

pub async fn submit(
    State(s): State<OidcState>,
    headers: HeaderMap,
    f: Result<Form<Params>, FormRejection>,
) -> Response {
    match f {
        Ok(Form(p)) => run(&s, &headers, p, true).await,
        Err(e) => {
            let (status, message) = pages::form_rejection(&e);
            pages::error(status, &message)
        }
    }
}

/// The hint's subject and audience, if it is an ID token we signed (expired ones count).
async fn hint(s: &OidcState, token: &str) -> Option<(String, String)> {
    let jws = s.tokens.signer().verify(token).await.ok()?;
    if jws.claims["iss"].as_str()? != s.issuer() {
        return None;
    }
    let sub = jws.claims["sub"].as_str()?.to_owned();
    let aud = match &jws.claims["aud"] {
        serde_json::Value::String(a) => a.clone(),
        serde_json::Value::Array(a) => a.first()?.as_str()?.to_owned(),
        _ => return None,
    };
    Some((sub, aud))
}

async fn run(s: &OidcState, headers: &HeaderMap, p: Params, submitted: bool) -> Response {
    let hinted = match p.id_token_hint.as_deref() {
        Some(t) => match hint(s, t).await {
            Some(h) => Some(h),
            None => {
                return pages::error(StatusCode::BAD_REQUEST, "The id_token_hint is not valid.");
            }
        },
        None => None,
    };
    let client_id = hinted
        .as_ref()
        .map(|(_, aud)| aud.clone())
        .or(p.client_id.clone());
    if let (Some(hint_aud), Some(given)) = (hinted.as_ref().map(|(_, a)| a), p.client_id.as_deref())
        && hint_aud != given
    {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "client_id does not match the id_token_hint.",
        );
    }
    let target = match p.post_logout_redirect_uri.as_deref() {
        None => None,
        Some(uri) => {
            let Some(cid) = client_id.as_deref() else {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "A post-logout redirect needs id_token_hint or client_id.",
                );
            };
            match s.tokens.idp().client(cid).await {
                Ok(c) if c.redirect_uris.iter().any(|r| r == uri) => Some(uri.to_owned()),
                _ => {
                    return pages::error(
                        StatusCode::BAD_REQUEST,
                        "The post-logout redirect URI is not registered for this application.",
                    );
                }
            }
        }
    };
    let session_raw = cookies::get(headers, cookies::SESSION);
    let session = match session_raw.as_deref() {
        Some(raw) => s.tokens.session(raw).await.ok().flatten(),
        None => None,
    };
    let hint_matches = matches!((&hinted, &session), (Some((sub, _)), Some((_, acc))) if *sub == acc.id.to_string());
    let mut out = HeaderMap::new();
    if session.is_some() && !hint_matches {
        if !submitted {
            let csrf = cookies::get(headers, cookies::CSRF).unwrap_or_else(|| {
                let c = new_secret();
                cookies::set(&mut out, cookies::CSRF, &c, 3600, s.secure_cookies);
                c
            });
            let mut fields: Vec<(&str, &str)> = Vec::new();
            for (k, v) in [
                ("id_token_hint", &p.id_token_hint),
                ("post_logout_redirect_uri", &p.post_logout_redirect_uri),
                ("state", &p.state),
                ("client_id", &p.client_id),
            ] {
                if let Some(v) = v.as_deref() {
                    fields.push((k, v));
                }
            }
            fields.push(("csrf", &csrf));
            return (
                out,
                pages::logout_confirm(&s.endpoint(paths::LOGOUT), &pages::hidden(&fields)),
            )
                .into_response();
        }
        let known = cookies::get(headers, cookies::CSRF).unwrap_or_default();
        let sent = p.csrf.as_deref().unwrap_or_default();
        if known.is_empty() || !bool::from(known.as_bytes().ct_eq(sent.as_bytes())) {
            return pages::error(
                StatusCode::FORBIDDEN,
                "This form has expired. Please sign out again.",
            );
        }
    }
    if let Some(raw) = session_raw.as_deref()
        && let Err(e) = s.tokens.end_session(raw).await
    {
        tracing::error!(error = %e, "session not ended");
        return pages::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Signing out failed. Please try again.",
        );
    }
    cookies::set(&mut out, cookies::SESSION, "", 0, s.secure_cookies);
    match target.and_then(|t| url::Url::parse(&t).ok()) {
        Some(mut url) => {
            if let Some(st) = &p.state {
                url.query_pairs_mut().append_pair("state", st);
            }
            (out, Redirect::to(url.as_str())).into_response()
        }
        None => (out, pages::logged_out()).into_response(),
    }
}
