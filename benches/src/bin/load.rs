//! The HTTP load benchmark: starts `idp-server` pinned to one core, prepares clients and users
//! through its admin CLI, drives load from the other core and reports, per scenario,
//! requests/s, p50, p99, errors and the server's peak RSS; it also measures the ceilings of that
//! core (argon2id verifications/s at the server's parameters, ES256 signatures/s) and prints
//! each login scenario as a ratio to the argon2 ceiling.
//!
//! ```sh
//! cargo build --release -p idp-server
//! cargo run --release -p idp-benches --bin load -- --scenario all [--duration 10s] \
//!     [--connections 32] [--store sqlite|postgres] [--smoke] [--server PATH]
//! ```
//!
//! `--store postgres` uses a fresh schema in the server named by `IDP_TEST_POSTGRES_URL`, and
//! the Redis named by `IDP_TEST_REDIS_URL` (the production setup) when that is set.
//! `--smoke` runs every scenario for about a second with few connections and exits non-zero on
//! any error (CI). Everything stays on loopback; every scenario is bounded in time and in
//! requests (`--max-requests`).

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use idp_core::jose::TokenSigner;
use idp_core::model::SigningAlg;
use idp_core::secrets::hasher::{HashParams, SecretHasher};
use serde_json::{Value, json};

const CC_ID: &str = "bench-cc";
const CC_SECRET: &str = "bench-cc-secret-0123456789";
const SWITCH_ID: &str = "bench-switch";
const SWITCH_SECRET: &str = "bench-switch-secret-0123456789";
const PASSWORD: &str = "Bench#Pass123";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    All,
    ClientCredentials,
    Refresh,
    Introspection,
    Jwks,
    Userinfo,
    FintractLogin,
    SwitchLogin,
    BioentrustSignin,
    /// Half the connections sign in (BioEntrust: saturating the hashing pool), a quarter fetch
    /// JWKS, a quarter introspect: does hashing starve the rest?
    Mixed,
}

impl Scenario {
    const EACH: [Scenario; 9] = [
        Scenario::ClientCredentials,
        Scenario::Refresh,
        Scenario::Introspection,
        Scenario::Jwks,
        Scenario::Userinfo,
        Scenario::FintractLogin,
        Scenario::SwitchLogin,
        Scenario::BioentrustSignin,
        Scenario::Mixed,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::All => "all",
            Scenario::ClientCredentials => "client_credentials",
            Scenario::Refresh => "refresh rotation",
            Scenario::Introspection => "introspection",
            Scenario::Jwks => "JWKS",
            Scenario::Userinfo => "userinfo",
            Scenario::FintractLogin => "Fintract login + OTP",
            Scenario::SwitchLogin => "Switch login (SWI-CS)",
            Scenario::BioentrustSignin => "BioEntrust signin",
            Scenario::Mixed => "mixed",
        }
    }

    /// argon2id operations one iteration costs the server (0: none).
    fn argon2_ops(self) -> u32 {
        match self {
            // password verification, hash of the code, verification of the code
            Scenario::FintractLogin => 3,
            Scenario::SwitchLogin | Scenario::BioentrustSignin => 1,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Parser)]
#[command(
    name = "load",
    about = "HTTP load benchmark of idp-server (one server core)"
)]
struct Args {
    /// Scenario to run (repeatable); `all` runs every one.
    #[arg(long, value_enum, default_value = "all")]
    scenario: Vec<Scenario>,
    /// How long each scenario runs, e.g. `10s` or `500ms`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Concurrent connections (each a keep-alive HTTP/1.1 connection).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// At most this many requests per scenario.
    #[arg(long, default_value_t = 2_000_000)]
    max_requests: u64,
    /// Store of the server: the embedded SQLite file (with the in-process limiter), or
    /// PostgreSQL (a fresh schema in the server named by IDP_TEST_POSTGRES_URL) with the Redis
    /// named by IDP_TEST_REDIS_URL for limits and lockout when that is set.
    #[arg(long, value_enum, default_value = "sqlite")]
    store: StoreKind,
    /// ~1 s per scenario, few connections; exit non-zero on any error.
    #[arg(long)]
    smoke: bool,
    /// The idp-server binary (default: target/release/idp-server of this workspace).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Also write every request's start (µs since the scenario began) and latency (µs) to
    /// `<DIR>/<scenario>.csv`, to see when the slow ones happen (e.g. a periodic stall).
    #[arg(long, value_name = "DIR")]
    trace: Option<PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = num.parse().map_err(|_| format!("bad duration `{s}`"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("bad duration unit in `{s}` (ms, s, m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

fn main() {
    let mut args = Args::parse();
    if args.smoke {
        args.duration = Duration::from_secs(1);
        args.connections = args.connections.min(4);
    }
    let scenarios: Vec<Scenario> = if args.scenario.contains(&Scenario::All) {
        Scenario::EACH.to_vec()
    } else {
        args.scenario.clone()
    };
    let pin = Pinning::detect();
    match run(&args, &scenarios, &pin) {
        Ok(errors) if errors > 0 && args.smoke => {
            eprintln!("smoke: {errors} errors");
            std::process::exit(1);
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(1);
        }
    }
}

/// CPU pinning through `taskset`: the server on core 0, this process on core 1.
struct Pinning {
    taskset: bool,
}

impl Pinning {
    fn detect() -> Self {
        let taskset = Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !taskset {
            eprintln!("warning: taskset not found; the server and the load run unpinned");
        }
        Pinning { taskset }
    }

    /// Moves every thread of this process to `core`.
    fn pin_self(&self, core: usize) {
        if !self.taskset {
            return;
        }
        let ok = Command::new("taskset")
            .args([
                "-a",
                "-p",
                "-c",
                &core.to_string(),
                &std::process::id().to_string(),
            ])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("warning: could not pin the load generator to core {core}");
        }
    }

    fn command(&self, program: &Path, core: usize) -> Command {
        if self.taskset {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(core.to_string()).arg(program);
            c
        } else {
            Command::new(program)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn default_server() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("release").join("idp-server")
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn run(args: &Args, scenarios: &[Scenario], pin: &Pinning) -> Result<u64, BoxError> {
    let server_bin = args.server.clone().unwrap_or_else(default_server);
    if !server_bin.is_file() {
        return Err(format!(
            "{} not found: build it first with `cargo build --release -p idp-server` (or pass --server)",
            server_bin.display()
        )
        .into());
    }
    // Ceilings of the server's core, measured before the server starts.
    pin.pin_self(0);
    let ceilings = measure_ceilings(if args.smoke {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(2)
    })?;
    pin.pin_self(1);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(drive(args, scenarios, pin, &server_bin, ceilings))
}

#[derive(Debug, Clone, Copy)]
struct Ceilings {
    argon2_verify_per_s: f64,
    es256_sign_per_s: f64,
}

fn measure_ceilings(budget: Duration) -> Result<Ceilings, BoxError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        // The server's parameters: its defaults (m=19456 KiB, t=2, p=1) unless the environment
        // the server inherits overrides them; one hashing thread.
        let argon2 = argon2_ceiling(budget).await?;

        let (store, _guard) = idp_benches::sqlite_store().await;
        let keys = idp_plugins::keys::KeyRing::open(store, chrono_minutes(60)).await?;
        let claims =
            json!({"iss": "http://bench", "sub": "x", "exp": 4_000_000_000u64, "scope": "openid"});
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < budget {
            for _ in 0..100 {
                keys.sign(SigningAlg::ES256, "at+jwt", &claims).await?;
            }
            n += 100;
        }
        let es256 = f64::from(n) / start.elapsed().as_secs_f64();
        Ok(Ceilings {
            argon2_verify_per_s: argon2,
            es256_sign_per_s: es256,
        })
    })
}

/// argon2id verifications per second through a hashing pool like the server's (one thread, the
/// server's parameters), on whatever core this process is pinned to.
async fn argon2_ceiling(budget: Duration) -> Result<f64, BoxError> {
    let hasher = SecretHasher::new(server_argon2(), 1, 16)?;
    let phc = hasher.hash(PASSWORD.as_bytes()).await?;
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget || n < 3 {
        assert!(hasher.verify(PASSWORD.as_bytes(), &phc).await?);
        n += 1;
    }
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

/// The argon2 ceiling a scenario is compared with.
#[derive(Debug, Clone, Copy)]
enum Ceiling {
    /// Measured at the start of the run (scenarios that hash nothing).
    Start(f64),
    /// Measured just before and just after the scenario.
    Bracketed { before: f64, after: f64 },
}

impl Ceiling {
    fn per_s(self) -> f64 {
        match self {
            Ceiling::Start(c) => c,
            Ceiling::Bracketed { before, after } => (before + after) / 2.0,
        }
    }
}

/// [`argon2_ceiling`] on the server's core (the server idle), for 3 s (300 ms in a smoke run).
async fn ceiling_on_server_core(pin: &Pinning, args: &Args) -> Result<f64, BoxError> {
    pin.pin_self(0);
    let measured = argon2_ceiling(if args.smoke {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(3)
    })
    .await;
    pin.pin_self(1);
    measured
}

/// The argon2id parameters the server will use: `IDP_ARGON2__{M,T,P}_COST` or the defaults.
fn server_argon2() -> HashParams {
    let d = HashParams::default();
    let var = |k: &str, default: u32| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    HashParams {
        m_cost: var("IDP_ARGON2__M_COST", d.m_cost),
        t_cost: var("IDP_ARGON2__T_COST", d.t_cost),
        p_cost: var("IDP_ARGON2__P_COST", d.p_cost),
    }
}

fn chrono_minutes(m: i64) -> chrono::Duration {
    chrono::Duration::minutes(m)
}

/// The running server: its process and what the benchmark needs to reach it.
struct Server {
    child: Child,
    base: String,
    data_dir: PathBuf,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `VmHWM` (peak RSS) and `VmRSS`, in KiB.
    fn memory(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// Resets the peak RSS (`VmHWM`) to the current RSS, so each scenario reports its own.
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM for a graceful stop, then make sure.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_env(data_dir: &Path, port: u16, database_url: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![
        ("IDP_DATA_DIR".into(), data_dir.display().to_string()),
        ("IDP_LISTEN".into(), format!("127.0.0.1:{port}")),
        ("IDP_ISSUER".into(), format!("http://127.0.0.1:{port}")),
        // The benchmark measures throughput, not the limits (which answer 429 past them).
        ("IDP_SECURITY__RATE_PER_IP".into(), "1000000000".into()),
        ("IDP_SECURITY__RATE_PER_ACCOUNT".into(), "1000000000".into()),
        ("IDP_SECURITY__RATE_PER_CLIENT".into(), "1000000000".into()),
        ("IDP_SECURITY__OTP_RESEND_SECS".into(), "1".into()),
        ("RUST_LOG".into(), "warn".into()),
    ];
    if let Some(url) = database_url {
        env.push(("IDP_DATABASE_URL".into(), url.into()));
    }
    env
}

fn cli(server_bin: &Path, env: &[(String, String)], args: &[&str]) -> Result<(), BoxError> {
    let out = Command::new(server_bin)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("IDP_CONFIG")
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "idp-server {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

fn free_port() -> Result<u16, BoxError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

async fn drive(
    args: &Args,
    scenarios: &[Scenario],
    pin: &Pinning,
    server_bin: &Path,
    ceilings: Ceilings,
) -> Result<u64, BoxError> {
    let schema = match args.store {
        StoreKind::Sqlite => None,
        StoreKind::Postgres => {
            let url = idp_benches::postgres_url()
                .ok_or("--store postgres needs IDP_TEST_POSTGRES_URL")?;
            Some(idp_benches::Schema::create(&url).await)
        }
    };
    let redis_url = match args.store {
        StoreKind::Sqlite => None,
        StoreKind::Postgres => std::env::var("IDP_TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty()),
    };
    let database_url = schema.as_ref().map(|s| s.url.clone());
    let out = drive_on(
        args,
        scenarios,
        pin,
        server_bin,
        ceilings,
        database_url,
        redis_url,
    )
    .await;
    // The schema goes whatever happened (the server has stopped: its connections are closed).
    if let Some(schema) = schema {
        schema.drop().await;
    }
    out
}

/// [`drive`] on a prepared store.
async fn drive_on(
    args: &Args,
    scenarios: &[Scenario],
    pin: &Pinning,
    server_bin: &Path,
    ceilings: Ceilings,
    database_url: Option<String>,
    redis_url: Option<String>,
) -> Result<u64, BoxError> {
    let tmp = tempfile::Builder::new().prefix("idp-load-").tempdir()?;
    let data_dir = tmp.path().to_path_buf();
    let port = free_port()?;
    let mut env = server_env(&data_dir, port, database_url.as_deref());
    if let Some(url) = &redis_url {
        env.push(("IDP_REDIS_URL".into(), url.clone()));
    }

    // Clients and users, through the admin CLI (before the server starts).
    let prep = Instant::now();
    cli(server_bin, &env, &["migrate"])?;
    // Fintract logins send a code, at most one per account per second (OTP_RESEND_SECS=1):
    // enough accounts that the pool never waits at ~100 logins/s.
    let accounts = (args.connections * 2).max(16);
    let created = {
        let server_bin = server_bin.to_path_buf();
        let env = env.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<String>, BoxError> {
            cli(
                &server_bin,
                &env,
                &[
                    "client",
                    "create",
                    "--id",
                    CC_ID,
                    "--secret",
                    CC_SECRET,
                    "--grant",
                    "client_credentials",
                ],
            )?;
            cli(
                &server_bin,
                &env,
                &[
                    "client",
                    "create",
                    "--id",
                    SWITCH_ID,
                    "--secret",
                    SWITCH_SECRET,
                    "--grant",
                    "client_credentials",
                ],
            )?;
            let mut emails = Vec::new();
            for i in 0..accounts {
                let email = format!("bench{i}@example.com");
                cli(
                    &server_bin,
                    &env,
                    &[
                        "user",
                        "create",
                        "--username",
                        &format!("bench{i}"),
                        "--email",
                        &email,
                        "--password",
                        PASSWORD,
                    ],
                )?;
                emails.push(email);
            }
            Ok(emails)
        })
        .await??
    };
    eprintln!(
        "prepared 2 clients and {} users through the CLI in {:.1} s",
        created.len(),
        prep.elapsed().as_secs_f64()
    );

    let log = std::fs::File::create(data_dir.join("server.log"))?;
    let child = pin
        .command(server_bin, 0)
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("IDP_CONFIG")
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        data_dir: data_dir.clone(),
    };
    let probe = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = probe.get(format!("{}/healthz", server.base)).send().await
            && r.status().is_success()
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let log = std::fs::read_to_string(data_dir.join("server.log")).unwrap_or_default();
            return Err(format!("the server did not come up in 30 s:\n{log}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, idle_rss) = server.memory();

    let ctx = Arc::new(Ctx::new(&server, created, args.connections).await?);
    let mut results = Vec::new();
    for &s in scenarios {
        // A login scenario is compared with the argon2 ceiling measured just before and just
        // after it, on the server's core while the server is idle: the VM's speed drifts by
        // several percent within a minute, which a ceiling from the start of the run, or from
        // one side of the scenario only, would count against (or for) the server.
        let hashing = s.argon2_ops() > 0 || s == Scenario::Mixed;
        let before = if hashing {
            Some(ceiling_on_server_core(pin, args).await?)
        } else {
            None
        };
        server.reset_peak();
        let parts = run_scenario(&ctx, s, args).await;
        let (peak, _) = server.memory();
        let ceiling = match before {
            Some(before) => Ceiling::Bracketed {
                before,
                after: ceiling_on_server_core(pin, args).await?,
            },
            None => Ceiling::Start(ceilings.argon2_verify_per_s),
        };
        for (kind, r) in parts {
            let label = if s == Scenario::Mixed {
                format!("mixed: {}", kind.name())
            } else {
                kind.name().to_owned()
            };
            if let Some(dir) = &args.trace {
                write_trace(dir, &label, &r.trace)?;
            }
            results.push((label, kind, r, peak, ceiling));
        }
        if args.smoke {
            eprintln!("smoke: {} done", s.name());
        }
    }
    print_report(args, redis_url.is_some(), &ceilings, idle_rss, &results);
    let errors: u64 = results.iter().map(|(_, _, r, _, _)| r.errors).sum();
    if errors > 0 {
        for (label, _, r, _, _) in &results {
            if let Some(e) = &r.first_error {
                eprintln!("{label}: first error: {e}");
            }
        }
    }
    drop(server);
    Ok(errors)
}

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
struct Ctx {
    base: String,
    accounts: Accounts,
    outbox: Outbox,
    /// A user access token (BioEntrust signin) for introspection and userinfo.
    access: String,
    /// One refresh token per connection (each connection rotates its own chain).
    refresh: Vec<Mutex<String>>,
}

impl Ctx {
    async fn new(
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
struct Outcome {
    ops: u64,
    errors: u64,
    elapsed: Duration,
    /// Latency of each successful operation, in microseconds, sorted.
    latencies: Vec<u32>,
    /// With `--trace`: (start in µs since the scenario began, latency in µs) of each.
    trace: Vec<(u64, u32)>,
    first_error: Option<String>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies[i]) / 1000.0
    }
}

/// `--trace`: one `start_us,latency_us` line per request, in order of start.
fn write_trace(dir: &Path, label: &str, trace: &[(u64, u32)]) -> std::io::Result<()> {
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
async fn run_scenario(ctx: &Arc<Ctx>, s: Scenario, args: &Args) -> Vec<(Scenario, Outcome)> {
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

fn print_report(
    args: &Args,
    redis: bool,
    c: &Ceilings,
    idle_rss_kib: u64,
    results: &[(String, Scenario, Outcome, u64, Ceiling)],
) {
    println!();
    println!(
        "idp load benchmark: store {:?}{}, {} connections, {:.1} s per scenario{}",
        args.store,
        if redis { " + Redis" } else { "" },
        args.connections,
        args.duration.as_secs_f64(),
        if args.smoke { " (smoke)" } else { "" }
    );
    let a = server_argon2();
    println!(
        "ceilings on the server's core: argon2id verify {:.1}/s (m={} KiB, t={}, p={}), ES256 sign {:.0}/s",
        c.argon2_verify_per_s, a.m_cost, a.t_cost, a.p_cost, c.es256_sign_per_s
    );
    println!("server idle RSS: {:.1} MB", idle_rss_kib as f64 / 1024.0);
    println!();
    println!(
        "| scenario | requests/s | p50 ms | p99 ms | errors | peak RSS MB | vs argon2 ceiling |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
    for (label, s, o, peak, ceiling) in results {
        let c = ceiling.per_s();
        let measured = match ceiling {
            Ceiling::Bracketed { before, after } => {
                format!("{c:.1}/s (mean of {before:.1} just before and {after:.1} just after)")
            }
            Ceiling::Start(_) => format!("{c:.1}/s"),
        };
        let ratio = match s.argon2_ops() {
            0 => String::new(),
            n => format!(
                "{:.0}% of {measured} ({} argon2/op: {:.0}% of hashing capacity)",
                100.0 * o.rate() / c,
                n,
                100.0 * o.rate() * f64::from(n) / c
            ),
        };
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {:.1} | {} |",
            label,
            o.rate(),
            o.percentile_ms(0.50),
            o.percentile_ms(0.99),
            o.errors,
            *peak as f64 / 1024.0,
            ratio
        );
    }
}
