//! The JSON calls the replica and fault tests make, through the BioEntrust surface (the
//! simplest JSON sign-up / sign-in / refresh API) and the OIDC introspection endpoint, and a
//! load generator that records every answer with its timing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "Corr3ct-Horse!";
/// The client the tests register for introspection (`client create` in [`crate::replicas`]).
pub const RS_ID: &str = "resource-server";
pub const RS_SECRET: &str = "rs-secret-0123456789abcdef";

/// A client for the load and the checks: no proxy, a 30 s deadline (longer than every bound
/// the server promises, so that a hang shows up as a measured latency, not a client error).
pub fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// Status and JSON body (`Value::Null` when the body is not JSON).
pub async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn signup(c: &Client, base: &str, email: &str) -> (StatusCode, Value) {
    send(
        c.post(format!("{base}/bioentrust/user/signup"))
            .json(&json!({ "email": email, "password": PASSWORD })),
    )
    .await
}

pub async fn signin(c: &Client, base: &str, email: &str, password: &str) -> (StatusCode, Value) {
    send(
        c.post(format!("{base}/bioentrust/user/signin"))
            .json(&json!({ "email": email, "password": password })),
    )
    .await
}

pub async fn refresh(c: &Client, base: &str, refresh: &str) -> (StatusCode, Value) {
    send(
        c.get(format!("{base}/bioentrust/user/refresh"))
            .bearer_auth(refresh),
    )
    .await
}

/// Whether `/introspect` of `base` calls `token` active.
pub async fn active(c: &Client, base: &str, token: &str) -> bool {
    let (status, body) = send(
        c.post(format!("{base}/introspect"))
            .basic_auth(RS_ID, Some(RS_SECRET))
            .form(&[("token", token)]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "introspect at {base}: {body}");
    body["active"]
        .as_bool()
        .unwrap_or_else(|| panic!("introspection without `active`: {body}"))
}

/// `(access, refresh)` of a `{"token":{"access","refresh"}}` answer.
#[track_caller]
pub fn tokens(body: &Value) -> (String, String) {
    let get = |k: &str| {
        body["token"][k]
            .as_str()
            .unwrap_or_else(|| panic!("no token.{k} in {body}"))
            .to_owned()
    };
    (get("access"), get("refresh"))
}

/// One answer (or transport failure) seen by the load.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub op: &'static str,
    pub email: String,
    pub started: Instant,
    pub latency: Duration,
    /// `None`: no HTTP answer (connection refused or reset, client timeout).
    pub status: Option<u16>,
    /// The body, or the transport error.
    pub body: String,
}

impl Outcome {
    pub fn ended(&self) -> Instant {
        self.started + self.latency
    }

    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// `tasks` loops of userinfo (a bearer check, with the access token of the loop's last
/// sign-in, also while sign-ups fail) → sign-up → sign-in → refresh against `base`, each with a
/// fresh address, until [`Load::finish`].
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Outcome>>>,
}

impl Load {
    pub fn start(base: &str, tasks: usize, refreshes: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let serial = Arc::new(AtomicUsize::new(0));
        let run = uuid::Uuid::new_v4().simple().to_string();
        let tasks = (0..tasks)
            .map(|_| {
                let (stop, serial, run) = (stop.clone(), serial.clone(), run.clone());
                let base = base.to_owned();
                tokio::spawn(async move {
                    let c = client();
                    let mut seen = Vec::new();
                    let mut access_token: Option<String> = None;
                    while !stop.load(Ordering::Relaxed) {
                        let n = serial.fetch_add(1, Ordering::Relaxed);
                        if let Some(at) = &access_token {
                            let me = call("userinfo", "", || {
                                c.get(format!("{base}/userinfo")).bearer_auth(at)
                            })
                            .await;
                            seen.push(me);
                        }
                        let email = format!("load-{}-{n}@example.com", &run[..8]);
                        let up = call("signup", &email, || {
                            c.post(format!("{base}/bioentrust/user/signup"))
                                .json(&json!({ "email": email, "password": PASSWORD }))
                        })
                        .await;
                        let registered = up.ok();
                        seen.push(up);
                        if !registered {
                            // Do not spin while the server is down.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                        let inn = call("signin", &email, || {
                            c.post(format!("{base}/bioentrust/user/signin"))
                                .json(&json!({ "email": email, "password": PASSWORD }))
                        })
                        .await;
                        let tokens = serde_json::from_str::<Value>(&inn.body).ok();
                        let token = |kind: &str| {
                            tokens
                                .as_ref()
                                .and_then(|v| v["token"][kind].as_str().map(str::to_owned))
                        };
                        let refresh_token = token("refresh");
                        access_token = token("access").or(access_token);
                        seen.push(inn);
                        if let (true, Some(rt)) = (refreshes, refresh_token) {
                            let again = call("refresh", &email, || {
                                c.get(format!("{base}/bioentrust/user/refresh"))
                                    .bearer_auth(&rt)
                            })
                            .await;
                            seen.push(again);
                        }
                    }
                    seen
                })
            })
            .collect();
        Self { stop, tasks }
    }

    /// Stops the loops (each finishes the call it is in) and returns every outcome, oldest
    /// start first.
    pub async fn finish(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for t in self.tasks {
            all.extend(t.await.expect("load task"));
        }
        all.sort_by_key(|o| o.started);
        all
    }
}

async fn call(
    op: &'static str,
    email: &str,
    req: impl FnOnce() -> reqwest::RequestBuilder,
) -> Outcome {
    let started = Instant::now();
    let (status, body) = match req().send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            (Some(status), res.text().await.unwrap_or_default())
        }
        Err(e) => (None, format!("{e:?}")),
    };
    Outcome {
        op,
        email: email.to_owned(),
        started,
        latency: started.elapsed(),
        status,
        body,
    }
}

/// Asserts that a 503 says so in JSON (the BioEntrust envelope: `message` or `error`) and
/// carries no detail of the fault.
#[track_caller]
pub fn assert_clean_503(o: &Outcome) {
    let body: Value =
        serde_json::from_str(&o.body).unwrap_or_else(|_| panic!("503 without a JSON body: {o:?}"));
    let text = body["message"].as_str().or(body["error"].as_str());
    assert!(
        text.is_some_and(|t| !t.is_empty()),
        "503 without a message: {o:?}"
    );
    for leak in ["panicked", "postgres", "redis", "Error {", "backtrace"] {
        assert!(!o.body.contains(leak), "503 body shows {leak:?}: {o:?}");
    }
}

/// Milliseconds, for the figures the tests print.
pub fn ms(d: Duration) -> u128 {
    d.as_millis()
}
