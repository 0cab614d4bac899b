//! `/token` (RFC 6749 §3.2), `/introspect` (RFC 7662) and `/revoke` (RFC 7009).

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::model::AppClient;
use idp_core::ops::Throttle;
use idp_core::ops::tokens::TokenSet;
use serde::Deserialize;
use serde_json::json;

use crate::client_auth::authenticate;
use crate::error::OAuthError;
use crate::{OidcState, pages};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    #[schema(value_type = String)]
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn form<T>(f: Result<Form<T>, FormRejection>) -> Result<T, OAuthError> {
    f.map(|Form(t)| t).map_err(|e| {
        let (status, message) = pages::form_rejection(&e);
        OAuthError {
            status,
            ..OAuthError::invalid_request(message)
        }
    })
}

fn required<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

pub async fn token(
    State(s): State<OidcState>,
    headers: HeaderMap,
    f: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, OAuthError> {
    let f = form(f)?;
    let grant = required(&f.grant_type, "grant_type")?;
    let client = authenticate(
        &s.tokens,
        &headers,
        f.client_id.as_deref(),
        f.client_secret.as_deref(),
        true,
    )
    .await?;
    throttle(&s, &client).await?;
    let set = match grant {
        "authorization_code" => {
            let code = required(&f.code, "code")?;
            s.tokens
                .exchange_code(
                    &client,
                    code,
                    f.redirect_uri.as_deref(),
                    f.code_verifier.as_deref(),
                )
                .await?
        }
        "refresh_token" => {
            let rt = required(&f.refresh_token, "refresh_token")?;
            s.tokens.refresh(&client, rt, f.scope.as_deref()).await?
        }
        "client_credentials" => {
            s.tokens
                .client_credentials(&client, f.scope.as_deref())
                .await?
        }
        other => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type `{other}` is not supported"),
            ));
        }
    };
    Ok(no_store(Json(token_response(set)).into_response()))
}

/// Spends one request of the authenticated client's budget (429 past it, 503 when the shared
/// counters cannot be reached).
async fn throttle(s: &OidcState, client: &AppClient) -> Result<(), OAuthError> {
    s.tokens
        .idp()
        .throttle(Throttle::Client(&client.id))
        .await
        .map_err(OAuthError::from)
}

fn token_response(t: TokenSet) -> serde_json::Value {
    let mut body = json!({
        "access_token": t.access_token,
        "token_type": "Bearer",
        "expires_in": t.expires_in,
        "scope": t.scope,
    });
    if let Some(rt) = t.refresh_token {
        body["refresh_token"] = json!(rt);
    }
    if let Some(id) = t.id_token {
        body["id_token"] = json!(id);
    }
    body
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenOnlyForm {
    #[schema(value_type = String)]
    token: Option<String>,
    #[allow(dead_code)] // accepted and ignored: every kind of token is looked up anyway
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The client and the `token` of an introspection or revocation. Public clients may revoke
/// their own tokens (RFC 7009 §2.1) but not introspect.
async fn client_and_token(
    s: &OidcState,
    headers: &HeaderMap,
    f: Result<Form<TokenOnlyForm>, FormRejection>,
    allow_public: bool,
) -> Result<(AppClient, String), OAuthError> {
    let f = form(f)?;
    let client = authenticate(
        &s.tokens,
        headers,
        f.client_id.as_deref(),
        f.client_secret.as_deref(),
        allow_public,
    )
    .await?;
    throttle(s, &client).await?;
    let token = required(&f.token, "token")?.to_owned();
    Ok((client, token))
}

pub async fn introspect(
    State(s): State<OidcState>,
    headers: HeaderMap,
    f: Result<Form<TokenOnlyForm>, FormRejection>,
) -> Result<Response, OAuthError> {
    let (client, token) = client_and_token(&s, &headers, f, false).await?;
    let answer = s.tokens.introspect(&client, &token).await?;
    Ok(no_store(Json(answer.0).into_response()))
}

pub async fn revoke(
    State(s): State<OidcState>,
    headers: HeaderMap,
    f: Result<Form<TokenOnlyForm>, FormRejection>,
) -> Result<Response, OAuthError> {
    let (client, token) = client_and_token(&s, &headers, f, true).await?;
    s.tokens.revoke(&client, &token).await?;
    Ok(no_store(StatusCode::OK.into_response()))
}
