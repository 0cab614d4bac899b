//! The OAuth form bodies and query strings as the OIDC endpoints read them: axum's `Form` and
//! `Query` into the endpoints' own request types (`/token`, `/introspect`, `/revoke`,
//! `/authorize`, `/logout`), on arbitrary bytes and content types. Invariants: no panic; a body
//! that cannot be read is refused with 400, 413 or 415 (never a server error).
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{Form, FromRequest, FromRequestParts, Query};
use axum::http::{Method, Request, StatusCode};
use axum::response::IntoResponse;
use idp_oidc::authorize::Params as AuthorizeParams;
use idp_oidc::logout::Params as LogoutParams;
use idp_oidc::token::{TokenForm, TokenOnlyForm};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

const CONTENT_TYPES: [&str; 5] = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "application/json",
    "text/plain",
    "multipart/form-data; boundary=x",
];

fn refused_cleanly(status: StatusCode) {
    assert!(
        [
            StatusCode::BAD_REQUEST,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            StatusCode::UNPROCESSABLE_ENTITY,
        ]
        .contains(&status),
        "form refused with {status}"
    );
}

async fn form<T: DeserializeOwned + Send>(content_type: &str, body: &[u8]) {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header("content-type", content_type)
        .body(Body::from(body.to_vec()))
        .expect("request");
    if let Err(rejection) = Form::<T>::from_request(req, &()).await {
        refused_cleanly(rejection.into_response().status());
    }
}

async fn query<T: DeserializeOwned + Send>(raw: &str) {
    // Only what a URI can carry gets here: the server would refuse anything else earlier.
    let Ok(req) = Request::builder()
        .uri(format!("/authorize?{raw}"))
        .body(Body::empty())
    else {
        return;
    };
    let (mut parts, _) = req.into_parts();
    if let Err(rejection) = Query::<T>::from_request_parts(&mut parts, &()).await {
        refused_cleanly(rejection.into_response().status());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let ct = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    rt().block_on(async {
        match (selector >> 4) % 5 {
            0 => form::<TokenForm>(ct, body).await,
            1 => form::<TokenOnlyForm>(ct, body).await,
            2 => form::<AuthorizeParams>(ct, body).await,
            3 => form::<LogoutParams>(ct, body).await,
            _ => {
                let raw = String::from_utf8_lossy(body);
                query::<AuthorizeParams>(&raw).await;
                query::<LogoutParams>(&raw).await;
            }
        }
    });
});
