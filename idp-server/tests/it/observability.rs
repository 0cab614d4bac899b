//! What the running binary tells operators — `/metrics`, OTLP traces, JSON logs — measured in a
//! process of its own (so counters start at zero and the log and trace pipelines are the real
//! ones), while a scenario signs in with passwords, one-time codes and tokens. None of those
//! secrets may appear in any of the three.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

use crate::support::{Sandbox, Server, free_port, http, wait_healthy};

const ALICE_PASSWORD: &str = "Alice-pass-0xC0FFEE!";
const BOB_PASSWORD: &str = "Bob-pass-0xBADC0DE!";
const WRONG_PASSWORD: &str = "Wrong-pass-0xDEAD!";
const RP_SECRET: &str = "rp-secret-0123456789abcdef";

/// The secrets one scenario handled, to look for afterwards.
struct Secrets {
    values: Vec<String>,
    /// The one-time code: 6 digits, matched only where it stands alone.
    code: String,
}

impl Secrets {
    /// Panics naming the first secret found in `text`.
    #[track_caller]
    fn assert_absent(&self, what: &str, text: &str) {
        for s in &self.values {
            assert!(
                !text.contains(s.as_str()),
                "{what} contains the secret {s:?}"
            );
        }
        assert!(
            !contains_standalone_number(text, &self.code),
            "{what} contains the one-time code {}",
            self.code
        );
    }
}

/// `needle` (digits) in `text` with no digit right before or after it.
fn contains_standalone_number(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// A sandbox with an account `alice` (email alice@example.com), `bob`, and a confidential
/// client `rp` for client_credentials, created through the admin CLI.
fn sandbox_with_accounts(extra: &[(&str, String)]) -> Sandbox {
    let mut sandbox = Sandbox::new().env("IDP_LOG_FORMAT", "json").env(
        "RUST_LOG",
        "info,idp_core=debug,idp_http=debug,idp_oidc=debug,idp_adapters=debug",
    );
    for (k, v) in extra {
        sandbox = sandbox.env(k, v.clone());
    }
    for (name, password) in [("alice", ALICE_PASSWORD), ("bob", BOB_PASSWORD)] {
        let email = format!("{name}@example.com");
        let mut cmd = sandbox.command(&["user", "create", "--username", name, "--email", &email]);
        cmd.env("IDP_NEW_USER_PASSWORD", password);
        let out = cmd.output().expect("user create");
        assert!(out.status.success(), "user create {name}: {out:?}");
    }
    let mut cmd = sandbox.command(&[
        "client",
        "create",
        "--id",
        "rp",
        "--grant",
        "client_credentials",
        "--scope",
        "api",
    ]);
    cmd.env("IDP_NEW_CLIENT_SECRET", RP_SECRET);
    let out = cmd.output().expect("client create");
    assert!(out.status.success(), "client create: {out:?}");
    sandbox
}

async fn start(sandbox: Sandbox) -> (Sandbox, Server, String) {
    let port = free_port();
    let sandbox = sandbox.env("IDP_LISTEN", format!("127.0.0.1:{port}"));
    let mut server = sandbox.spawn(&["serve"]);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&mut server, &base).await;
    (sandbox, server, base)
}

async fn post_json(url: String, body: Value) -> (u16, Value) {
    let res = http().post(url).json(&body).send().await.expect("POST");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn post_form(url: String, form: &[(&str, &str)]) -> (u16, Value) {
    let res = http().post(url).form(form).send().await.expect("POST");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The latest one-time code mailed to `to`, from the file outbox.
fn last_code(sandbox: &Sandbox, to: &str) -> String {
    let outbox = std::fs::read_to_string(sandbox.data_dir().join("outbox.jsonl")).expect("outbox");
    let body = outbox
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["to"] == to)
        .and_then(|m| m["body"].as_str().map(str::to_owned))
        .expect("a message to the account");
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("6-digit code in the message")
        .to_owned()
}

/// Signs in on the Fintract surface (failed once, then with a code), refreshes, revokes, gets
/// a client_credentials token, locks `bob` out with five wrong passwords, and asks for an
/// unknown path. Returns every secret that crossed the wire.
async fn scenario(sandbox: &Sandbox, base: &str) -> Secrets {
    let login = format!("{base}/fintract/auth/login/");
    let (status, body) = post_json(
        login.clone(),
        json!({ "email": "alice@example.com", "password": WRONG_PASSWORD, "otpType": "Email" }),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = post_json(
        login.clone(),
        json!({ "email": "alice@example.com", "password": ALICE_PASSWORD, "otpType": "Email" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["id"].as_i64().expect("data.id");
    let code = last_code(sandbox, "alice@example.com");
    let (status, body) = post_json(format!("{login}{id}/"), json!({ "otp": code })).await;
    assert_eq!(status, 200, "{body}");
    let access = body["tokens"]["access"]
        .as_str()
        .expect("access")
        .to_owned();
    let refresh = body["tokens"]["refresh"]
        .as_str()
        .expect("refresh")
        .to_owned();

    let (status, body) = post_form(
        format!("{base}/token"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "fintract"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let access2 = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let refresh2 = body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    let (status, body) = post_form(
        format!("{base}/revoke"),
        &[("token", &refresh2), ("client_id", "fintract")],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = post_form(
        format!("{base}/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "rp"),
            ("client_secret", RP_SECRET),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let client_token = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();

    for _ in 0..5 {
        let (status, body) = post_json(
            login.clone(),
            json!({ "email": "bob@example.com", "password": WRONG_PASSWORD, "otpType": "Email" }),
        )
        .await;
        assert_eq!(status, 401, "{body}");
    }
    // Locked now: even the right password is refused.
    let (status, body) = post_json(
        login.clone(),
        json!({ "email": "bob@example.com", "password": BOB_PASSWORD, "otpType": "Email" }),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    let res = http()
        .get(format!("{base}/no/such/path/{refresh}"))
        .send()
        .await
        .expect("GET unknown");
    assert_eq!(res.status(), 404);

    Secrets {
        values: vec![
            ALICE_PASSWORD.into(),
            BOB_PASSWORD.into(),
            WRONG_PASSWORD.into(),
            RP_SECRET.into(),
            access,
            refresh,
            access2,
            refresh2,
            client_token,
        ],
        code,
    }
}

/// One scrape: `name{labels}` → value, labels as written by the exporter (sorted here).
type Scrape = HashMap<(String, Vec<(String, String)>), f64>;

async fn scrape(base: &str) -> (String, Scrape) {
    let res = http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/plain"), "content-type {ct}");
    let text = res.text().await.expect("metrics body");
    let parsed = parse(&text);
    (text, parsed)
}

fn parse(text: &str) -> Scrape {
    let mut out = Scrape::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let mut labels: Vec<(String, String)> = rest
                    .trim_end_matches('}')
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .filter_map(|p| {
                        let (k, v) = p.split_once('=')?;
                        Some((k.to_owned(), v.trim_matches('"').to_owned()))
                    })
                    .collect();
                labels.sort();
                (name.to_owned(), labels)
            }
            None => (series.to_owned(), Vec::new()),
        };
        out.insert((name, labels), value);
    }
    out
}

/// The value of `name` with exactly `labels` (0 when absent).
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut want: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    s.get(&(name.to_owned(), want)).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_sign_ins_tokens_and_lockouts_without_secrets() {
    let (sandbox, server, base) = start(sandbox_with_accounts(&[])).await;
    let (_, before) = scrape(&base).await;
    let secrets = scenario(&sandbox, &base).await;
    let (text, after) = scrape(&base).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    let fintract_failed = [("surface", "fintract"), ("result", "failed")];
    let fintract_ok = [("surface", "fintract"), ("result", "ok")];
    // alice once, bob five times, and bob's right password on a locked account.
    assert_eq!(delta("idp_logins_total", &fintract_failed), 7.0, "{text}");
    assert_eq!(delta("idp_logins_total", &fintract_ok), 1.0, "{text}");
    assert_eq!(delta("idp_lockouts_total", &[]), 1.0, "{text}");
    assert_eq!(
        delta("idp_otp_sent_total", &[("channel", "email")]),
        1.0,
        "{text}"
    );
    assert_eq!(
        delta("idp_tokens_issued_total", &[("grant", "direct")]),
        1.0,
        "{text}"
    );
    assert_eq!(
        delta(
            "idp_tokens_issued_total",
            &[("grant", "client_credentials")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(delta("idp_tokens_refreshed_total", &[]), 1.0, "{text}");
    assert_eq!(delta("idp_tokens_revoked_total", &[]), 1.0, "{text}");

    // Requests by route template and status; `_count` of the latency histogram.
    let http = "idp_http_request_duration_seconds_count";
    let login = [
        ("route", "/fintract/auth/login/"),
        ("method", "POST"),
        ("status", "401"),
    ];
    assert_eq!(delta(http, &login), 6.0, "{text}");
    let verify = [
        ("route", "/fintract/auth/login/{id}/"),
        ("method", "POST"),
        ("status", "200"),
    ];
    assert_eq!(delta(http, &verify), 1.0, "{text}");
    let token = [("route", "/token"), ("method", "POST"), ("status", "200")];
    assert_eq!(delta(http, &token), 2.0, "{text}");
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert_eq!(delta(http, &unmatched), 1.0, "{text}");
    // The first scrape is counted by the second.
    let metrics = [("route", "/metrics"), ("method", "GET"), ("status", "200")];
    assert!(delta(http, &metrics) >= 1.0, "{text}");
    for histogram in [
        "idp_http_request_duration_seconds_bucket{",
        "idp_store_operation_seconds_bucket{",
        "idp_limiter_operation_seconds_bucket{",
    ] {
        assert!(text.contains(histogram), "no {histogram}…}} in\n{text}");
    }
    assert!(
        value(
            &after,
            "idp_store_operation_seconds_count",
            &[("store", "sqlite"), ("op", "read")]
        ) > 0.0
    );
    assert!(
        value(
            &after,
            "idp_limiter_operation_seconds_count",
            &[("backend", "memory"), ("op", "hit")]
        ) > 0.0
    );

    // No raw path (the unknown one carried a refresh token), no address, no secret.
    assert!(!text.contains("/no/such/path"), "{text}");
    assert!(!text.contains("example.com"), "{text}");
    secrets.assert_absent("/metrics", &text);
    drop(server);
}

/// A local OTLP/HTTP collector: keeps every `POST /v1/traces` body.
async fn collector() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().expect("collector lock").push(body);
                // An empty ExportTraceServiceResponse.
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind collector");
    let addr = listener.local_addr().expect("collector addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), bodies)
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    let v = span
        .attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .as_ref()?;
    match v.value.as_ref()? {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        AnyValue::BoolValue(b) => Some(b.to_string()),
        AnyValue::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

#[tokio::test]
async fn traces_and_json_logs_carry_routes_and_statuses_but_no_secrets() {
    let (endpoint, bodies) = collector().await;
    let sandbox = sandbox_with_accounts(&[("IDP_OTLP_ENDPOINT", endpoint)]);
    let (sandbox, mut server, base) = start(sandbox).await;
    let secrets = scenario(&sandbox, &base).await;
    // SIGTERM: the server stops and flushes the exporter before it exits.
    server.signal("TERM");
    let status = server.wait_for_exit(Duration::from_secs(15)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        server.output()
    );

    let bodies = bodies.lock().expect("collector lock").clone();
    assert!(
        !bodies.is_empty(),
        "no OTLP export reached the collector\n{}",
        server.output()
    );
    let mut spans = Vec::new();
    for body in &bodies {
        secrets.assert_absent("an OTLP export", &String::from_utf8_lossy(body));
        let req = ExportTraceServiceRequest::decode(body.as_ref()).expect("OTLP protobuf");
        for rs in req.resource_spans {
            for ss in rs.scope_spans {
                spans.extend(ss.spans);
            }
        }
    }
    let request_spans: Vec<&Span> = spans.iter().filter(|s| s.name == "request").collect();
    let find = |route: &str, status: &str| {
        request_spans.iter().any(|s| {
            attribute(s, "http.route").as_deref() == Some(route)
                && attribute(s, "http.response.status_code").as_deref() == Some(status)
                && attribute(s, "http.request.method").is_some()
                && attribute(s, "request_id").is_some_and(|id| !id.is_empty())
        })
    };
    let seen: Vec<_> = request_spans
        .iter()
        .map(|s| {
            (
                attribute(s, "http.route"),
                attribute(s, "http.response.status_code"),
            )
        })
        .collect();
    assert!(find("/fintract/auth/login/", "401"), "{seen:?}");
    assert!(find("/fintract/auth/login/", "200"), "{seen:?}");
    assert!(find("/fintract/auth/login/{id}/", "200"), "{seen:?}");
    assert!(find("/token", "200"), "{seen:?}");
    assert!(find("unmatched", "404"), "{seen:?}");

    // The JSON logs of the same run: one object per line, requests logged with their route,
    // and none of the secrets.
    let logs = std::fs::read_to_string(sandbox.path().join("server.err")).expect("server.err");
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "done"
            && l["span"]["http.route"] == "/fintract/auth/login/{id}/"),
        "no request log line with its route\n{logs}"
    );
    secrets.assert_absent("the JSON logs", &logs);
}
