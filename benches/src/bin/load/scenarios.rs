//! What each scenario does, and the state the scenarios share (tokens, accounts, the outbox).

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::server::Server;
use super::{Args, BoxError, CC_ID, CC_SECRET, PASSWORD, SWITCH_ID, SWITCH_SECRET, Scenario};

/// A pool of accounts, each used by one connection at a time and at most once per
/// `OTP_RESEND_SECS` (codes to one account are throttled).
struct Accounts {
    queue: Mutex<VecDeque<(String, Option<Instant>)>>,
    all: Vec<String>,
}

const ACCOUNT_REUSE: Duration = Duration::from_millis(1100);

impl Accounts {
    /// An account for a sign-in that sends no code (no exclusivity needed).
    fn any(&self, conn: usize) -> String {
        self.all[conn % self.all.len()].clone()
    }

    async fn take(&self) -> String {
        loop {
            let next = self
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            match next {
                Some((email, last)) => {
                    if let Some(wait) = last.and_then(|t| ACCOUNT_REUSE.checked_sub(t.elapsed())) {
                        tokio::time::sleep(wait).await;
                    }
                    return email;
                }
                None => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn give_back(&self, email: String) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back((email, Some(Instant::now())));
    }
}

/// The file outbox (`$IDP_DATA_DIR/outbox.jsonl`), read incrementally: the last code per
/// recipient.
struct Outbox {
    path: PathBuf,
    state: Mutex<(u64, HashMap<String, String>)>,
}

impl Outbox {
    fn sync(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return;
        };
        if f.seek(SeekFrom::Start(state.0)).is_err() {
            return;
        }
        let mut buf = String::new();
        if f.read_to_string(&mut buf).is_err() {
            return;
        }
        // Only whole lines.
        let Some(end) = buf.rfind('\n') else { return };
        for line in buf[..=end].lines() {
            if let Ok(v) = serde_json::from_str::<Value>(line)
                && let (Some(to), Some(body)) = (v["to"].as_str(), v["body"].as_str())
                && let Some(code) = idp_benches::six_digits(body)
            {
                state.1.insert(to.to_owned(), code.to_owned());
            }
        }
        state.0 += end as u64 + 1;
    }

    fn forget(&self, to: &str) {
        self.sync();
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .remove(to);
    }

    async fn code_for(&self, to: &str) -> Option<String> {
        for _ in 0..200 {
            self.sync();
            if let Some(code) = self
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .1
                .remove(to)
            {
                return Some(code);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        None
    }
}

/// What the scenarios share: the server's address, tokens obtained up front, the accounts.
pub(super) struct Ctx {
    base: String,
    accounts: Accounts,
    outbox: Outbox,
    /// A user access token (BioEntrust signin) for introspection and userinfo.
    access: String,
    /// One refresh token per connection (each connection rotates its own chain).
    refresh: Vec<Mutex<String>>,
}

impl Ctx {
    pub(super) async fn new(
        server: &Server,
        emails: Vec<String>,
        connections: usize,
    ) -> Result<Self, BoxError> {
        let http = reqwest::Client::new();
        let mut refresh = Vec::new();
        let mut access = String::new();
        for i in 0..connections {
            let email = &emails[i % emails.len()];
            let r = http
                .post(format!("{}/bioentrust/user/signin", server.base))
                .json(&json!({ "email": email, "password": PASSWORD }))
                .send()
                .await?;
            let status = r.status();
            let body: Value = r.json().await?;
            let (Some(a), Some(rt)) = (
                body["token"]["access"].as_str(),
                body["token"]["refresh"].as_str(),
            ) else {
                return Err(format!("BioEntrust signin for set-up: {status} {body}").into());
            };
            access = a.to_owned();
            refresh.push(Mutex::new(rt.to_owned()));
        }
        Ok(Ctx {
            base: server.base.clone(),
            accounts: Accounts {
                queue: Mutex::new(emails.iter().map(|e| (e.clone(), None)).collect()),
                all: emails,
            },
            outbox: Outbox {
                path: server.data_dir.join("outbox.jsonl"),
                state: Mutex::new((0, HashMap::new())),
            },
            access,
            refresh,
        })
    }
}

#[derive(Debug, Default)]
pub(super) struct Outcome {
    ops: u64,
    pub(super) errors: u64,
    elapsed: Duration,
    /// Latency of each successful operation, in microseconds, sorted.
    latencies: Vec<u32>,
    /// With `--trace`: (start in µs since the scenario began, latency in µs) of each.
    pub(super) trace: Vec<(u64, u32)>,
    pub(super) first_error: Option<String>,
}

impl Outcome {
    pub(super) fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub(super) fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies[i]) / 1000.0
    }
}

/// `--trace`: one `start_us,latency_us` line per request, in order of start.
pub(super) fn write_trace(dir: &Path, label: &str, trace: &[(u64, u32)]) -> std::io::Result<()> {
    let slug: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut sorted = trace.to_vec();
    sorted.sort_unstable();
    let mut out = String::from("start_us,latency_us\n");
    for (at, took) in sorted {
        out.push_str(&format!("{at},{took}\n"));
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("{slug}.csv")), out)
}

/// Runs `s` and answers the outcome of each kind of operation it did (one, except for `mixed`).
pub(super) async fn run_scenario(
    ctx: &Arc<Ctx>,
    s: Scenario,
    args: &Args,
) -> Vec<(Scenario, Outcome)> {
    let deadline = Instant::now() + args.duration;
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for conn in 0..args.connections {
        let (ctx, issued, max) = (ctx.clone(), issued.clone(), args.max_requests);
        let tracing = args.trace.is_some();
        let kind = if s == Scenario::Mixed {
            [
                Scenario::BioentrustSignin,
                Scenario::BioentrustSignin,
                Scenario::Jwks,
                Scenario::Introspection,
            ][conn % 4]
        } else {
            s
        };
        tasks.push((
            kind,
            tokio::spawn(async move {
                // One keep-alive connection per worker.
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("HTTP client");
                let mut out = Outcome::default();
                while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
                    let t = Instant::now();
                    match one(&ctx, &http, kind, conn).await {
                        Ok(()) => {
                            out.ops += 1;
                            let took = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
                            out.latencies.push(took);
                            if tracing {
                                let at = u64::try_from((t - start).as_micros()).unwrap_or(u64::MAX);
                                out.trace.push((at, took));
                            }
                        }
                        Err(e) => {
                            out.errors += 1;
                            out.first_error.get_or_insert(e);
                        }
                    }
                }
                out
            }),
        ));
    }
    let mut parts: Vec<(Scenario, Outcome)> = Vec::new();
    for (kind, t) in tasks {
        let i = match parts.iter().position(|(k, _)| *k == kind) {
            Some(i) => i,
            None => {
                parts.push((kind, Outcome::default()));
                parts.len() - 1
            }
        };
        let total = &mut parts[i].1;
        match t.await {
            Ok(o) => {
                total.ops += o.ops;
                total.errors += o.errors;
                total.latencies.extend(o.latencies);
                total.trace.extend(o.trace);
                if total.first_error.is_none() {
                    total.first_error = o.first_error;
                }
            }
            Err(e) => {
                total.errors += 1;
                total.first_error.get_or_insert(e.to_string());
            }
        }
    }
    let elapsed = start.elapsed();
    for (_, total) in &mut parts {
        total.elapsed = elapsed;
        total.latencies.sort_unstable();
    }
    parts
}

async fn expect_ok(r: reqwest::RequestBuilder) -> Result<Value, String> {
    let r = r.send().await.map_err(|e| e.to_string())?;
    let status = r.status();
    let text = r.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{status}: {e}: {text}"))
}

/// One operation of scenario `s` on connection `conn`.
async fn one(ctx: &Ctx, http: &reqwest::Client, s: Scenario, conn: usize) -> Result<(), String> {
    let base = &ctx.base;
    match s {
        Scenario::All | Scenario::Mixed => Ok(()),
        Scenario::ClientCredentials => {
            let v = expect_ok(
                http.post(format!("{base}/token"))
                    .basic_auth(CC_ID, Some(CC_SECRET))
                    .form(&[("grant_type", "client_credentials")]),
            )
            .await?;
            v["access_token"].as_str().map(drop).ok_or(v.to_string())
        }
        Scenario::Refresh => {
            let current = ctx.refresh[conn]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let v = expect_ok(http.post(format!("{base}/token")).form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", current.as_str()),
                ("client_id", "bioentrust"),
            ]))
            .await?;
            let next = v["refresh_token"].as_str().ok_or(v.to_string())?;
            *ctx.refresh[conn].lock().unwrap_or_else(|e| e.into_inner()) = next.to_owned();
            Ok(())
        }
        Scenario::Introspection => {
            let v = expect_ok(
                http.post(format!("{base}/introspect"))
                    .basic_auth(CC_ID, Some(CC_SECRET))
                    .form(&[("token", ctx.access.as_str())]),
            )
            .await?;
            if v["active"] == true {
                Ok(())
            } else {
                Err(format!("inactive: {v}"))
            }
        }
        Scenario::Jwks => {
            let v = expect_ok(http.get(format!("{base}/jwks"))).await?;
            v["keys"].as_array().map(drop).ok_or(v.to_string())
        }
        Scenario::Userinfo => {
            let v = expect_ok(
                http.get(format!("{base}/userinfo"))
                    .bearer_auth(&ctx.access),
            )
            .await?;
            v["sub"].as_str().map(drop).ok_or(v.to_string())
        }
        Scenario::FintractLogin => {
            let email = ctx.accounts.take().await;
            let r = fintract_login(ctx, http, &email).await;
            ctx.accounts.give_back(email);
            r
        }
        Scenario::SwitchLogin => {
            // No code is sent: any account, shared.
            let email = ctx.accounts.any(conn);
            let body = json!({ "email": email, "password": PASSWORD }).to_string();
            let cs = idp_core::checksum::checksum_for_secret(SWITCH_SECRET, body.as_bytes());
            let r = expect_ok(
                http.post(format!("{base}/switch/user/login"))
                    .header("content-type", "application/json")
                    .header("SWI-CID", SWITCH_ID)
                    .header("SWI-CS", cs)
                    .body(body),
            )
            .await;
            let v = r?;
            v["data"]["auth_token"]
                .as_str()
                .map(drop)
                .ok_or(v.to_string())
        }
        Scenario::BioentrustSignin => {
            let email = ctx.accounts.any(conn);
            let v = expect_ok(
                http.post(format!("{base}/bioentrust/user/signin"))
                    .json(&json!({ "email": email, "password": PASSWORD })),
            )
            .await?;
            v["token"]["access"].as_str().map(drop).ok_or(v.to_string())
        }
    }
}

/// Fintract login: password (a code is emailed: read it from the outbox), then the code.
async fn fintract_login(ctx: &Ctx, http: &reqwest::Client, email: &str) -> Result<(), String> {
    let base = &ctx.base;
    ctx.outbox.forget(email);
    let v = expect_ok(
        http.post(format!("{base}/fintract/auth/login/"))
            .json(&json!({
                "email": email, "password": PASSWORD, "otpType": "Email", "userType": "CUSTOMER",
            })),
    )
    .await?;
    let id = v["data"]["id"].as_i64().ok_or(v.to_string())?;
    let code = ctx
        .outbox
        .code_for(email)
        .await
        .ok_or_else(|| format!("no code for {email} in the outbox"))?;
    let v = expect_ok(
        http.post(format!("{base}/fintract/auth/login/{id}/"))
            .json(&json!({ "otp": code })),
    )
    .await?;
    v["tokens"]["access"]
        .as_str()
        .map(drop)
        .ok_or(v.to_string())
}
