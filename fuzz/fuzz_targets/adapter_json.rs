//! The JSON body extractor of the vendor adapters (`idp_adapters::vendor_json!`), with each
//! surface's error type, on arbitrary bytes and content types. Invariants: no panic; a body
//! that cannot be read is answered 400, 413, 415 or 422 in the surface's own envelope, and the
//! answer never echoes more than a bounded excerpt of the body.
#![no_main]

use std::sync::OnceLock;

use axum::body::{Body, to_bytes};
use axum::extract::FromRequest;
use axum::http::{Method, Request, StatusCode};
use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::Value;

idp_adapters::vendor_json!(FintractJson, idp_adapters::fintract::ApiError);
idp_adapters::vendor_json!(BioJson, idp_adapters::bioentrust::ApiError);
idp_adapters::vendor_json!(FintivJson, idp_adapters::fintiv::ApiError);
idp_adapters::vendor_json!(SwitchJson, idp_adapters::switch::ApiError);

/// The shape of the adapters' request types: strings, optional strings, numbers, flags.
#[allow(dead_code)]
#[derive(Deserialize)]
struct Typed {
    email: String,
    password: Option<String>,
    phone: Option<u64>,
    active: Option<bool>,
    roles: Option<Vec<String>>,
}

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

const CONTENT_TYPES: [&str; 5] = [
    "application/json",
    "application/json; charset=utf-8",
    "application/vnd.api+json",
    "text/plain",
    "application/x-www-form-urlencoded",
];

fn request(ct: &str, body: &[u8]) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/")
        .header("content-type", ct)
        .body(Body::from(body.to_vec()))
        .expect("request")
}

/// Checks a refusal: its status, and that its JSON body has `pointer` as a string.
async fn refused(res: axum::response::Response, pointer: &str) {
    let status = res.status();
    assert!(
        [
            StatusCode::BAD_REQUEST,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            StatusCode::UNPROCESSABLE_ENTITY,
        ]
        .contains(&status),
        "refused with {status}"
    );
    let bytes = to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("error body");
    assert!(bytes.len() < 2048, "error answer of {} bytes", bytes.len());
    let v: Value = serde_json::from_slice(&bytes).expect("error body is JSON");
    assert!(
        v.pointer(pointer).is_some_and(Value::is_string),
        "no {pointer} in {v}"
    );
}

macro_rules! check {
    ($extractor:ident, $ct:expr, $body:expr, $pointer:expr) => {{
        if let Err(e) = $extractor::<Value>::from_request(request($ct, $body), &()).await {
            refused(e.into_response(), $pointer).await;
        }
        if let Err(e) = $extractor::<Typed>::from_request(request($ct, $body), &()).await {
            refused(e.into_response(), $pointer).await;
        }
    }};
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let ct = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    rt().block_on(async {
        match (selector >> 4) % 4 {
            0 => check!(FintractJson, ct, body, "/detail"),
            1 => check!(BioJson, ct, body, "/error"),
            2 => check!(FintivJson, ct, body, "/contextResponse/statusCode"),
            _ => check!(SwitchJson, ct, body, "/message"),
        }
    });
});
