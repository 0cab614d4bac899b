//! HTTP series for Prometheus: `idp_http_request_duration_seconds{route, method, status}`, a
//! histogram whose `_count` is the number of requests. `route` is the matched route template
//! (`/fintiv/auth/api/users/{id}`), never the raw path, which can carry ids or tokens; requests
//! that match no route share the label [`UNMATCHED`].
//!
//! Also the [`Surface`] tag: which surface (OIDC or an adapter) a route belongs to, so that the
//! core's login counters can say where a sign-in came from.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::histogram;

/// The `route` label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The surface a request is served by, as a request extension (see [`tag_surface`]).
#[derive(Debug, Clone, Copy)]
pub struct Surface(pub &'static str);

/// Tags every route of `router` with `surface` (e.g. `"oidc"`, `"fintract"`); [`crate::Caller`]
/// hands it on in the core's `Context`.
pub fn tag_surface<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    surface: &'static str,
) -> Router<S> {
    router.layer(axum::Extension(Surface(surface)))
}

/// The matched route template, or [`UNMATCHED`].
pub(crate) fn route(req: &Request) -> &str {
    req.extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
}

pub(crate) async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    // One small allocation per request: the facade needs an owned label.
    let route = route(&req).to_owned();
    let method = method(req.method());
    let res = next.run(req).await;
    histogram!(
        "idp_http_request_duration_seconds",
        "route" => route,
        "method" => method,
        "status" => status(res.status()),
    )
    .record(started.elapsed().as_secs_f64());
    res
}

/// Static labels for the methods a client may send; anything else is `other`, so a client
/// cannot create series by inventing methods.
fn method(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The status as a label, without formatting for the common ones.
fn status(s: StatusCode) -> metrics::SharedString {
    let common = match s.as_u16() {
        200 => "200",
        201 => "201",
        204 => "204",
        302 => "302",
        303 => "303",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        other => return other.to_string().into(),
    };
    common.into()
}
