//! `GET /metrics` on both stores: Prometheus text whose HTTP series name the route template,
//! never the raw path, and whose store series name the store in use. (Exact counter movements
//! are tested against a process of its own in `idp-server/tests/it/observability.rs`: here the
//! recorder is shared by every server of the test binary.)

use idp_e2e::{TestServer, http};
use reqwest::StatusCode;

use crate::both_stores;
use crate::oidc_util::{rp_tokens, setup};

async fn scrape(server: &TestServer) -> String {
    let res = http()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.expect("body")
}

/// A series' value, 0 when absent (labels as the exporter writes them, in insertion order).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

both_stores!(metrics_name_route_templates_and_the_store);
crate::oidc_both_stores!(oidc_sign_in_is_counted_under_its_surface);

async fn metrics_name_route_templates_and_the_store(server: &TestServer) {
    // A path parameter that must not become a label.
    let raw = "/fintract/auth/info/probe-7f3e9c/";
    let res = http()
        .get(server.url(raw))
        .bearer_auth("not-a-token-5d1b")
        .send()
        .await
        .expect("GET info");
    assert!(res.status().is_client_error(), "{}", res.status());
    let res = http()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = res.text().await.expect("body");
    assert!(
        text.contains("route=\"/fintract/auth/info/{id}/\""),
        "no route template in\n{text}"
    );
    assert!(!text.contains("probe-7f3e9c"), "raw path in\n{text}");
    assert!(
        !text.contains("not-a-token-5d1b"),
        "bearer token in\n{text}"
    );
    assert!(
        text.contains("# TYPE idp_http_request_duration_seconds histogram"),
        "{text}"
    );
    let store = format!(
        "idp_store_operation_seconds_count{{store=\"{}\"",
        server.store_kind()
    );
    assert!(text.contains(&store), "no {store} in\n{text}");
}

async fn oidc_sign_in_is_counted_under_its_surface(server: &TestServer) {
    setup(server).await;
    let tokens = rp_tokens(server).await;
    let text = scrape(server).await;
    // The recorder is shared with the other servers of this binary: at least our sign-in.
    let logins = "idp_logins_total{surface=\"oidc\",result=\"ok\"}";
    assert!(value(&text, logins) >= 1.0, "no {logins} in\n{text}");
    let issued = "idp_tokens_issued_total{grant=\"authorization_code\"}";
    assert!(value(&text, issued) >= 1.0, "no {issued} in\n{text}");
    for key in ["access_token", "refresh_token", "id_token"] {
        if let Some(t) = tokens.json[key].as_str() {
            assert!(!text.contains(t), "{key} in /metrics");
        }
    }
}
