//! `/openapi.json` and `/docs`: the document is OpenAPI 3.1, internally consistent, carries
//! the configured prefixes, describes every route the routers mount (and nothing they do not),
//! and the page works offline under a strict CSP. A new route needs its operation in its
//! surface's `openapi.rs` and an entry in [`mounted_routes`], or these tests fail.

use std::collections::{BTreeSet, HashSet};

use idp_adapters::{bioentrust, fintiv, fintract, switch};
use idp_e2e::{TestServer, http, start_sqlite_with};
use idp_oidc::paths as oidc;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::both_stores;

both_stores!(
    document_is_openapi_3_1,
    every_documented_operation_is_routed,
    every_route_is_documented,
    docs_page_is_self_contained,
);

/// Every route the routers mount, by the surfaces' own path constants: (method, prefix, path).
/// Fintract also serves each path without its trailing slash (not listed: one spelling each).
fn mounted_routes() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut routes = Vec::new();
    let mut add = |prefix: &'static str, methods: &[&'static str], path: &'static str| {
        routes.extend(methods.iter().map(|m| (*m, prefix, path)));
    };
    for p in ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"] {
        add("", &["get"], p);
    }
    add("", &["get"], oidc::DISCOVERY);
    add("", &["get"], oidc::JWKS);
    add("", &["get", "post"], oidc::AUTHORIZE);
    add("", &["post"], oidc::TOKEN);
    add("", &["get", "post"], oidc::USERINFO);
    add("", &["post"], oidc::INTROSPECT);
    add("", &["post"], oidc::REVOKE);
    add("", &["get", "post"], oidc::LOGOUT);
    add("", &["get", "post"], oidc::UNLOCK);
    add("", &["get", "post"], oidc::ACCOUNT_MFA);

    use fintract::paths as f;
    let fin = "/fintract";
    for p in [
        f::REGISTER,
        f::LOGIN,
        f::VERIFY_OTP,
        f::ADMIN_APPROVAL,
        f::REVERIFY_EMAIL,
    ] {
        add(fin, &["post"], p);
    }
    for p in [f::AVATAR, f::UPLOAD] {
        add(fin, &["post"], p);
    }
    for p in [f::VERIFY_EMAIL, f::INFO, f::MEDIA] {
        add(fin, &["get"], p);
    }
    add(fin, &["put"], f::DEACTIVATE);
    add(fin, &["put"], f::USER_UPDATE);
    add(fin, &["delete"], f::DELETE);
    add(fin, &["patch"], f::UPDATE_USR);

    use bioentrust::paths as b;
    let bio = "/bioentrust";
    for p in [b::HOME, b::PROTECTED, b::REFRESH] {
        add(bio, &["get"], p);
    }
    for p in [
        b::SIGNUP,
        b::VERIFY_EMAIL,
        b::VERIFY_EMAIL_ALT,
        b::SIGNIN,
        b::VERIFY_SMS,
        b::VERIFY_SMS_ALT,
        b::FORGOT_PASSWORD,
        b::RESET_PASSWORD,
        b::RESET_PASSWORD_ALT,
    ] {
        add(bio, &["post"], p);
    }
    add(bio, &["delete"], b::SIGNOUT);

    use fintiv::paths as v;
    let ftv = "/fintiv";
    for p in [
        v::TOKEN,
        v::MY_ANSWER,
        v::RESET_PASSWORD,
        v::RESET_PIN,
        v::VALIDATE_PIN,
    ] {
        add(ftv, &["post"], p);
    }
    for p in [
        v::MYINFO,
        v::MY_QUESTIONS,
        v::QUESTIONS,
        v::TENANT,
        v::AUDIT,
        v::AUDIT_ONE,
        v::AUDIT_ONE_BARE,
    ] {
        add(ftv, &["get"], p);
    }
    for p in [
        v::CHANGE_PASSWORD,
        v::CHANGE_PIN,
        v::MY_ANSWER_ID,
        v::LOCK,
        v::UNLOCK,
        v::ADMIN_RESET_PASSWORD,
        v::ADMIN_RESET_PIN,
        v::STATUS,
    ] {
        add(ftv, &["post", "put"], p);
    }
    add(ftv, &["get", "post"], v::CHECK_USER);
    add(ftv, &["get", "post"], v::PERSONS);
    add(ftv, &["get", "post"], v::ROLES);
    add(ftv, &["delete"], v::DEREGISTER);
    add(ftv, &["get", "post", "delete"], v::PERSON_ROLE);
    add(ftv, &["get", "post", "put", "delete"], v::PERSON);
    add(ftv, &["get", "post", "put", "delete"], v::ROLE);

    use switch::paths as s;
    let sw = "/switch";
    for p in [
        s::REGISTER,
        s::LOGIN,
        s::FORGOT_PASSWORD,
        s::RESET_PASSWORD,
        s::UNLOCK_ACCOUNT,
        s::RESEND_UNLOCK_EMAIL,
        s::LOGOUT,
        s::VALIDATE_USER_BVN,
        s::SEND_EMAIL_CONFIRMATION,
        s::CONFIRM_EMAIL,
    ] {
        add(sw, &["post"], p);
    }
    add(sw, &["get"], s::REFERRER);
    routes
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(server: &TestServer) -> Value {
    let res = http()
        .get(server.url("/openapi.json"))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    res.json().await.expect("the document parses as JSON")
}

/// (method, path) of every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS.iter().filter_map(move |m| {
                item.get(*m)
                    .map(|op| (m.to_string(), path.clone(), op.clone()))
            })
        })
        .collect()
}

/// Every `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                match child {
                    Value::String(r) if k == "$ref" => out.push(r.clone()),
                    _ => refs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

async fn document_is_openapi_3_1(server: &TestServer) {
    let doc = document(server).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Internally consistent: unique operation ids, every reference resolves, every security
    // requirement names a defined scheme, every path parameter is declared.
    let ops = operations(&doc);
    assert!(ops.len() > 80, "only {} operations", ops.len());
    let mut ids = HashSet::new();
    for (method, path, op) in &ops {
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{method} {path} has no operationId");
        assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
        for req in op["security"].as_array().into_iter().flatten() {
            for name in req.as_object().into_iter().flatten().map(|(n, _)| n) {
                assert!(
                    doc["components"]["securitySchemes"][name].is_object(),
                    "{method} {path}: unknown security scheme {name}"
                );
            }
        }
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(declared, in_path, "{method} {path}: path parameters");
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "$ref {r} does not resolve"
        );
    }

    // The security schemes each surface needs, with the vendors' header names.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["client_basic"]["scheme"], "basic");
    assert_eq!(schemes["fintiv_api_key"]["name"], "api-key");
    assert_eq!(schemes["switch_cid"]["name"], "SWI-CID");
    assert_eq!(schemes["switch_cs"]["name"], "SWI-CS");

    // Request bodies are described precisely enough to build requests from.
    let register = &doc["paths"]["/fintract/auth/register/"]["post"];
    let schema_ref = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .expect("register body is a schema reference");
    let schema = &doc["components"]["schemas"][schema_ref.rsplit('/').next().unwrap_or_default()];
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for field in ["email", "username", "password", "password2", "phone"] {
        assert!(required.contains(field), "{field} not required: {schema}");
    }
    assert_eq!(schema["properties"]["email"]["type"], "string");
}

/// The server's answer to a route that does not exist, for comparison: the JSON 404 of the
/// shared layers (a surface's 404 for an unknown *resource* is in its own envelope).
fn is_no_such_route(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::METHOD_NOT_ALLOWED
        || (status == StatusCode::NOT_FOUND
            && body["error"] == "not_found"
            && body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("no route for")))
}

async fn send(server: &TestServer, method: &str, path: &str) -> (StatusCode, Value) {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
    let res = http()
        .request(method.clone(), server.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = res.status();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn every_documented_operation_is_routed(server: &TestServer) {
    // The comparison can fail: an unknown path, and a known path with a wrong method, are
    // recognised as "no such route".
    for (method, path) in [
        ("get", "/no-such-route"),
        ("post", "/fintract/auth/no-such/"),
    ] {
        let (status, body) = send(server, method, path).await;
        assert!(
            is_no_such_route(status, &body),
            "{method} {path}: {status} {body}"
        );
    }
    let (status, body) = send(server, "delete", "/healthz").await;
    assert!(
        is_no_such_route(status, &body),
        "DELETE /healthz: {status} {body}"
    );

    let doc = document(server).await;
    for (method, path, _) in operations(&doc) {
        // Path parameters get a value that names nothing: the surface answers "not found" in
        // its own envelope, or refuses the call, but the route exists.
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { "1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let (status, body) = send(server, &method, &concrete).await;
        assert!(
            !is_no_such_route(status, &body),
            "{method} {concrete} is documented but not routed: {status} {body}"
        );
        assert!(
            status.as_u16() < 500,
            "{method} {concrete}: {status} {body}"
        );
    }
}

async fn every_route_is_documented(server: &TestServer) {
    let doc = document(server).await;
    let documented: HashSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let mounted: HashSet<(String, String)> = mounted_routes()
        .into_iter()
        .map(|(m, prefix, p)| (m.to_owned(), format!("{prefix}{p}")))
        .collect();
    let mut missing: Vec<_> = mounted.difference(&documented).collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "routes not in the document: {missing:?}"
    );
    let mut extra: Vec<_> = documented.difference(&mounted).collect();
    extra.sort();
    assert!(
        extra.is_empty(),
        "documented but not in the route list: {extra:?}"
    );
}

/// The document follows the configured mounts: other prefixes, a surface at the root, a
/// disabled surface absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_follows_the_configured_prefixes() {
    let server = start_sqlite_with(|c| {
        c.adapters.fintiv.prefix = "/legacy/ftv".into();
        c.adapters.bioentrust.prefix = String::new();
        c.adapters.switch.enabled = false;
    })
    .await;
    let doc = document(&server).await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/legacy/ftv/auth/api/myinfo"));
    assert!(!paths.contains_key("/fintiv/auth/api/myinfo"));
    assert!(paths.contains_key("/user/signin"), "bioentrust at the root");
    assert!(paths.keys().all(|p| !p.starts_with("/switch")));
    assert!(paths.contains_key("/fintract/auth/login/"));
    // And the routes really are there.
    let (status, body) = send(&server, "get", "/legacy/ftv/auth/api/myinfo").await;
    assert!(!is_no_such_route(status, &body), "{status} {body}");
    let (status, body) = send(&server, "post", "/switch/user/login").await;
    assert!(is_no_such_route(status, &body), "{status} {body}");
    server.stop().await.expect("graceful stop");
}

async fn docs_page_is_self_contained(server: &TestServer) {
    let res = http()
        .get(server.url("/docs"))
        .send()
        .await
        .expect("GET /docs");
    assert_eq!(res.status(), StatusCode::OK);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/html"));
    let csp = header("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "CSP {csp:?}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("http"),
        "CSP {csp:?}"
    );
    let html = res.text().await.expect("body");
    assert!(html.starts_with("<!DOCTYPE html>"));

    // No script at all, and nothing loaded from elsewhere.
    assert!(!html.to_ascii_lowercase().contains("<script"));
    for tag in ["script", "link", "img", "iframe", "style", "a"] {
        for attrs in idp_e2e::tags(&html, tag) {
            for (name, value) in attrs {
                let v = value.to_ascii_lowercase();
                assert!(
                    !(v.contains("http://") || v.contains("https://") || v.starts_with("//")),
                    "<{tag} {name}={value:?}> points elsewhere"
                );
            }
        }
    }

    // Every operation of the document is on the page, grouped by surface.
    let doc = document(server).await;
    for (_, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(
            html.contains(&format!("id=\"op-{id}\"")),
            "{path}: {id} not on the page"
        );
    }
    for surface in [
        "oidc",
        "fintract",
        "bioentrust",
        "fintiv",
        "switch",
        "server",
    ] {
        assert!(
            html.contains(&format!("id=\"tag-{surface}\"")),
            "{surface} section"
        );
    }
    assert!(html.contains("id=\"schema-fintract.RegisterRequest\""));
}
