//! OpenID Provider metadata (OpenID Connect Discovery 1.0, RFC 8414) and the JWK Set.
//! Everything advertised here is implemented; nothing implemented is left out.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{OidcState, paths};

pub const SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
];

pub async fn metadata(State(s): State<OidcState>) -> Json<Value> {
    let algs: Vec<&str> = s
        .tokens
        .signer()
        .algorithms()
        .iter()
        .map(|a| a.as_str())
        .collect();
    Json(json!({
        "issuer": s.issuer(),
        "authorization_endpoint": s.endpoint(paths::AUTHORIZE),
        "token_endpoint": s.endpoint(paths::TOKEN),
        "userinfo_endpoint": s.endpoint(paths::USERINFO),
        "jwks_uri": s.endpoint(paths::JWKS),
        "introspection_endpoint": s.endpoint(paths::INTROSPECT),
        "revocation_endpoint": s.endpoint(paths::REVOKE),
        "end_session_endpoint": s.endpoint(paths::LOGOUT),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash",
            "name", "given_name", "family_name", "preferred_username", "gender", "birthdate",
            "picture", "locale", "zoneinfo", "updated_at", "email", "email_verified",
            "phone_number", "phone_number_verified", "address"
        ],
        "prompt_values_supported": ["none", "login", "consent"],
        "acr_values_supported": ["mfa"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    }))
}

pub async fn jwks(State(s): State<OidcState>) -> Response {
    let mut res = Json(s.tokens.signer().jwks().await).into_response();
    // Short enough that a rotation reaches relying parties within minutes.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}
