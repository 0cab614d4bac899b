//! The HTTP surface of the server: health and readiness now; OIDC and the compatibility
//! adapters mount here under their configured prefixes as they arrive.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use idp_http::{HttpLimits, harden};
use serde_json::json;

use crate::app::App;

pub fn router(app: App) -> Router {
    // Installs the recorder before the first request is measured.
    crate::telemetry::prometheus();
    let limits = HttpLimits {
        body_limit: app.config.http.body_limit,
        request_timeout: Duration::from_secs(app.config.http.request_timeout_secs),
    };
    let oidc = idp_oidc::router(idp_oidc::OidcState::new(app.tokens.clone()));
    let oidc = idp_http::tag_surface(oidc, "oidc");
    let adapters = &app.config.adapters;
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(app.clone())
        .merge(oidc)
        .merge(crate::openapi::router(&app.config));
    if adapters.bioentrust.enabled {
        let prefix = &adapters.bioentrust.prefix;
        let state = idp_adapters::bioentrust::BioState::new(app.tokens.clone(), prefix);
        router = mount(
            router,
            prefix,
            "bioentrust",
            idp_adapters::bioentrust::router(state),
        );
    }
    if adapters.fintract.enabled {
        let prefix = &adapters.fintract.prefix;
        let state = idp_adapters::fintract::FinState::new(
            app.tokens.clone(),
            app.blobs.clone(),
            &app.config.issuer,
            prefix,
        );
        router = mount(
            router,
            prefix,
            "fintract",
            idp_adapters::fintract::router(state),
        );
    }
    if adapters.switch.enabled {
        let prefix = &adapters.switch.prefix;
        let state = idp_adapters::switch::SwitchState::new(
            app.tokens.clone(),
            app.kyc.clone(),
            prefix,
            app.config.http.body_limit,
        );
        router = mount(
            router,
            prefix,
            "switch",
            idp_adapters::switch::router(state),
        );
    }
    if adapters.fintiv.enabled {
        let prefix = &adapters.fintiv.prefix;
        let state = idp_adapters::fintiv::FintivState::new(app.tokens.clone());
        router = mount(
            router,
            prefix,
            "fintiv",
            idp_adapters::fintiv::router(state),
        );
    }
    // `Config::validate` has checked every entry at start-up.
    let trusted = app.config.http.trusted_proxy_nets().unwrap_or_default();
    idp_http::client_addr::layer(harden(router, limits), trusted)
}

/// Nests a surface under its prefix, or merges it at the root when the prefix is empty; its
/// routes carry its name for the metrics.
fn mount(router: Router, prefix: &str, name: &'static str, surface: Router) -> Router {
    let surface = idp_http::tag_surface(surface, name);
    if prefix.is_empty() {
        router.merge(surface)
    } else {
        router.nest(prefix, surface)
    }
}

/// Prometheus text exposition of every series (see `telemetry`).
async fn metrics() -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::telemetry::render(),
    )
        .into_response()
}

/// The process is up and answering.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can serve: its database answers (and Redis, once configured).
async fn readyz(State(app): State<App>) -> Response {
    let limit = Duration::from_secs(2);
    let db = match tokio::time::timeout(limit, app.idp.store().ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database check failed");
            "unavailable"
        }
        Err(_) => "timeout",
    };
    let counters = match tokio::time::timeout(limit, app.idp.limiter().ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: limiter check failed");
            "unavailable"
        }
        Err(_) => "timeout",
    };
    let ready = db == "ok" && counters == "ok";
    let limiter_kind = if app.config.redis_url.is_some() {
        "redis"
    } else {
        "memory"
    };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {
            "database": { "kind": app.store_kind, "state": db },
            "limiter": { "kind": limiter_kind, "state": counters },
        },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
