//! Client authentication at the token, introspection and revocation endpoints:
//! client_secret_basic, client_secret_post, or none (public clients, token endpoint only).

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idp_core::model::AppClient;
use idp_core::ops::tokens::Tokens;
use percent_encoding::percent_decode_str;

use crate::error::OAuthError;

/// Credentials as presented.
struct Presented {
    id: String,
    secret: Option<String>,
    basic: bool,
}

fn from_basic(headers: &HeaderMap) -> Result<Option<Presented>, OAuthError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_client(true))?;
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| OAuthError::invalid_client(true))?;
    let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client(true))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| OAuthError::invalid_client(true))?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    let dec = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
    };
    Ok(Some(Presented {
        id: dec(id).map_err(|_| OAuthError::invalid_client(true))?,
        secret: Some(dec(secret).map_err(|_| OAuthError::invalid_client(true))?),
        basic: true,
    }))
}

/// Authenticates the calling client. `allow_public`: a public client may identify itself by
/// `client_id` alone (token endpoint); elsewhere every client must prove a secret.
pub async fn authenticate(
    tokens: &Tokens,
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
    allow_public: bool,
) -> Result<AppClient, OAuthError> {
    let basic = from_basic(headers)?;
    let presented = match (basic, form_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        (Some(b), None) => {
            if form_id.is_some_and(|f| f != b.id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Authorization header",
                ));
            }
            b
        }
        (None, secret) => match form_id {
            Some(id) => Presented {
                id: id.to_owned(),
                secret: secret.map(str::to_owned),
                basic: false,
            },
            None => return Err(OAuthError::invalid_client(false)),
        },
    };
    let client = tokens
        .idp()
        .authenticate_client(&presented.id, presented.secret.as_deref())
        .await
        .map_err(|_| OAuthError::invalid_client(presented.basic))?;
    if client.is_public() && !allow_public {
        return Err(OAuthError::invalid_client(presented.basic));
    }
    Ok(client)
}
