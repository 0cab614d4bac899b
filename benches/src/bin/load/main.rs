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
//!
//! Layout: `server` starts and pins the server and runs its admin CLI, `ceilings` measures
//! the core's limits, `scenarios` drives each scenario, `report` prints the table; this file
//! parses the arguments and runs them in order.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};

mod ceilings;
mod report;
mod scenarios;
mod server;

use ceilings::{Ceiling, Ceilings, ceiling_on_server_core, measure_ceilings};
use report::print_report;
use scenarios::{Ctx, run_scenario, write_trace};
use server::{Pinning, Server, cli, free_port, server_env};

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
