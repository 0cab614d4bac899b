//! `/userinfo` (OpenID Connect Core §5.3): claims about the bearer's account.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use idp_core::Error;

use idp_http::bearer;

use crate::OidcState;
use crate::error::OAuthError;

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
