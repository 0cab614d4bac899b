//! Hostile input over every route: malformed and mistyped bodies, huge and odd strings, weird
//! path ids, odd headers and content types, with and without valid credentials. The operations
//! come from `/openapi.json` (so new routes are covered without touching this file) plus a
//! built-in list of the routers' aliases the document leaves out.
//!
//! Every answer must be below 500, a 4xx must be in the envelope of the surface that gave it,
//! the server must keep answering `/healthz` after every batch, and its resident memory must
//! stay bounded. The random choices come from one seed (`IDP_HOSTILE_SEED`, printed), so a
//! failure replays exactly.

mod auth;
mod envelope;
mod inputs;
mod ops;
mod regressions;

use std::time::{Duration, Instant};

use idp_e2e::TestServer;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Rate limits high enough that the hostile bodies reach validation instead of a 429.
fn unthrottled(config: &mut idp_config::Config) {
    config.security.rate_per_ip = 1_000_000;
    config.security.rate_per_account = 1_000_000;
    config.security.rate_per_client = 1_000_000;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_sqlite() {
    let server = idp_e2e::start_sqlite_with(unthrottled).await;
    hostile_input_over_every_route(&server).await;
    server.stop().await.expect("graceful stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_postgres() {
    if let Some(server) = idp_e2e::start_postgres_with(unthrottled).await {
        hostile_input_over_every_route(&server).await;
        server.stop().await.expect("graceful stop");
    }
}

/// Default seed; override with `IDP_HOSTILE_SEED` to explore, or to replay a reported failure.
const DEFAULT_SEED: u64 = 0x1d9_f022;
/// Wall-clock budget per store; the remaining operations get fewer cases when it runs short.
const BUDGET: Duration = Duration::from_secs(20);
/// Requests in flight at once.
const PARALLEL: usize = 8;
/// Resident memory may grow by at most this much over the run (the server runs in-process).
const RSS_GROWTH_LIMIT_KB: u64 = 200 * 1024;

fn seed() -> u64 {
    std::env::var("IDP_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// VmRSS of this process, in KiB (0 where /proc is not there).
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

async fn hostile_input_over_every_route(server: &TestServer) {
    // One campaign at a time: the memory bound is on the whole process.
    static SERIAL: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    let _one_at_a_time = SERIAL.get_or_init(Default::default).lock().await;
    let seed = seed();
    eprintln!("hostile: seed {seed} (replay with IDP_HOSTILE_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let creds = auth::Credentials::set_up(server).await;
    let ops = ops::operations(server).await;
    let client = inputs::client();
    let rss_before = rss_kb();
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut sent = 0usize;
    for (i, op) in ops.iter().enumerate() {
        // Fewer cases per operation once the budget runs short, never none.
        let left = BUDGET.saturating_sub(started.elapsed());
        let share = left.as_secs_f64() / (ops.len() - i) as f64;
        let cases = if share > 0.25 {
            inputs::full()
        } else {
            inputs::KINDS
        };
        let auth = creds.fresh(server, op).await;
        let requests = inputs::requests(&mut rng, op, &auth, cases);
        sent += requests.len();
        for chunk in requests.chunks(PARALLEL) {
            let mut set = tokio::task::JoinSet::new();
            for req in chunk.iter().cloned() {
                let client = client.clone();
                let base = server.base_url.clone();
                set.spawn(async move {
                    let outcome = inputs::send(&client, &base, &req).await;
                    (req, outcome)
                });
            }
            while let Some(joined) = set.join_next().await {
                let (req, outcome) = joined.expect("request task");
                let takes_body = op.body != ops::BodyKind::None;
                if let Err(why) = envelope::judge(op.surface, takes_body, &req, &outcome) {
                    let line = format!("{} {} [{}]: {why}", op.method, op.path, req.label);
                    failures.push(line.chars().take(600).collect::<String>());
                }
            }
        }
        if !inputs::healthy(&client, &server.base_url).await {
            failures.push(format!(
                "/healthz stopped answering after {} {}",
                op.method, op.path
            ));
            break;
        }
    }
    let grown = rss_kb().saturating_sub(rss_before);
    eprintln!(
        "hostile: {} operations, {sent} requests in {:.1?}, RSS +{} MiB",
        ops.len(),
        started.elapsed(),
        grown / 1024
    );
    assert!(
        grown <= RSS_GROWTH_LIMIT_KB,
        "resident memory grew by {} MiB (seed {seed})",
        grown / 1024
    );
    assert!(
        failures.is_empty(),
        "{} hostile requests were mishandled (seed {seed}); first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
