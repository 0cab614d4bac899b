//! `/userinfo` (OpenID Connect Core §5.3): claims about the bearer's account.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idp_core::Error;

use crate::OidcState;
use crate::error::OAuthError;

/// The token of an `Authorization: Bearer` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

pub async fn userinfo(
    State(s): State<OidcState>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let token = bearer(&headers).ok_or_else(OAuthError::invalid_token)?;
    match s.tokens.userinfo(token).await {
        Ok(claims) => Ok(Json(claims).into_response()),
        Err(Error::InvalidScope(d)) => {
            let mut e = OAuthError::new(StatusCode::FORBIDDEN, "insufficient_scope", d);
            e.www_authenticate =
                Some("Bearer error=\"insufficient_scope\", scope=\"openid\"".into());
            Err(e)
        }
        Err(e) => Err(e.into()),
    }
}
