//! Faults under load: a spawned `idp-server` on its own PostgreSQL and Redis (started by the
//! test, see [`crate::cluster`]) while `TASKS` concurrent clients sign up, sign in and refresh;
//! then PostgreSQL is restarted, Redis is killed and restarted, or the server gets SIGTERM.
//! Every test prints its figures (`cargo test -p idp-server --test it faults -- --nocapture`).
//!
//! `IDP_TEST_LONG=1` runs the long variants: more clients, longer outages, several cycles.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::api::{self, Load, Outcome, assert_clean_503, ms};
use crate::cluster::{Replica, TestPostgres, TestRedis};
use crate::support::fresh_postgres_schema;

/// One load test at a time in this binary: two of them on two cores would measure each other.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The bound on any answer while a dependency is down: the store gives up on a connection
/// after 5 s, the limiter after its deadline; a few seconds more for a loaded 2-core machine.
const MAX_LATENCY: Duration = Duration::from_secs(10);
/// How soon after the dependency is back requests must succeed again.
const MAX_RECOVERY: Duration = Duration::from_secs(15);

struct Plan {
    tasks: usize,
    warmup: Duration,
    outage: Duration,
    cycles: usize,
}

fn plan() -> Plan {
    if std::env::var_os("IDP_TEST_LONG").is_some_and(|v| v == "1") {
        Plan {
            tasks: 16,
            warmup: Duration::from_secs(3),
            outage: Duration::from_secs(10),
            cycles: 3,
        }
    } else {
        Plan {
            tasks: 8,
            warmup: Duration::from_millis(1500),
            outage: Duration::from_secs(3),
            cycles: 1,
        }
    }
}

/// Waits until a sign-up on `server` succeeds again; panics after [`MAX_RECOVERY`] (+ slack).
async fn wait_recovered(server: &mut Replica, since: Instant) {
    let c = api::client();
    let deadline = since + MAX_RECOVERY + Duration::from_secs(5);
    loop {
        let email = format!("probe-{}@example.com", uuid::Uuid::new_v4().simple());
        if let Ok(res) = c
            .post(server.url("/bioentrust/user/signup"))
            .json(&serde_json::json!({ "email": email, "password": api::PASSWORD }))
            .send()
            .await
            && res.status() == StatusCode::OK
        {
            return;
        }
        if Instant::now() >= deadline {
            let health = c
                .get(server.url("/healthz"))
                .send()
                .await
                .map(|r| r.status());
            panic!(
                "no successful sign-up {:?} after the dependency came back; process: {:?}; \
                 /healthz: {health:?}; threads: {}\n{}",
                deadline - since,
                server.server.try_wait(),
                threads(server.server.pid()),
                server.server.output()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `name:state:wchan` of every thread of `pid` (Linux), to tell a hang from a busy loop.
fn threads(pid: u32) -> String {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return "unknown".into();
    };
    tasks
        .flatten()
        .map(|t| {
            let read = |f: &str| {
                std::fs::read_to_string(t.path().join(f))
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            let stat = read("stat");
            let state = stat
                .rsplit_once(") ")
                .map_or("?", |(_, rest)| &rest[..1.min(rest.len())])
                .to_owned();
            format!("{}:{state}:{}", read("comm"), read("wchan"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one outage looked like from the clients.
#[derive(Debug)]
struct Figures {
    requests: usize,
    failed_503: usize,
    /// `op: ok/503` for each operation of the load.
    by_op: String,
    /// From the stop/kill command to the first 503 answered.
    detection: Duration,
    /// The slowest answer between the stop and the recovery.
    max_latency_outage: Duration,
    /// From the dependency accepting connections again to the first success of a request that
    /// started after that.
    recovery: Duration,
}

/// Checks the outcomes of one outage window `[down, up]` and measures it. Every answer is a
/// success or a clean 503; nothing is left without an answer.
fn outage_figures(all: &[Outcome], down: Instant, up: Instant) -> Figures {
    for o in all {
        assert!(
            o.status.is_some(),
            "a request got no HTTP answer (hang or reset): {o:?}"
        );
        match o.status {
            Some(200) => {}
            Some(503) => assert_clean_503(o),
            _ => panic!("answer that is neither 200 nor 503 during the fault: {o:?}"),
        }
    }
    let before: Vec<&Outcome> = all.iter().filter(|o| o.ended() < down).collect();
    assert!(
        before.iter().all(|o| o.ok()),
        "failures before the fault: {:?}",
        before.iter().find(|o| !o.ok())
    );
    assert!(!before.is_empty(), "no request finished before the fault");
    let first_503 = all
        .iter()
        .filter(|o| o.status == Some(503) && o.ended() >= down)
        .map(Outcome::ended)
        .min()
        .expect("the outage was never seen: no 503");
    let first_ok_after = all
        .iter()
        .filter(|o| o.ok() && o.started >= up)
        .map(Outcome::ended)
        .min()
        .expect("no success after the dependency came back");
    let max_latency_outage = all
        .iter()
        .filter(|o| o.ended() >= down && o.started <= first_ok_after)
        .map(|o| o.latency)
        .max()
        .unwrap_or_default();
    let by_op = ["signup", "signin", "userinfo", "refresh"]
        .iter()
        .map(|op| {
            let of = |s: u16| {
                all.iter()
                    .filter(|o| o.op == *op && o.status == Some(s))
                    .count()
            };
            format!("{op} {}/{}", of(200), of(503))
        })
        .collect::<Vec<_>>()
        .join(", ");
    Figures {
        requests: all.len(),
        failed_503: all.iter().filter(|o| o.status == Some(503)).count(),
        by_op,
        detection: first_503 - down,
        max_latency_outage,
        recovery: first_ok_after - up,
    }
}

fn assert_bounds(f: &Figures) {
    assert!(
        f.max_latency_outage <= MAX_LATENCY,
        "a request took {:?} during the outage: {f:?}",
        f.max_latency_outage
    );
    assert!(f.recovery <= MAX_RECOVERY, "slow recovery: {f:?}");
}

/// Every sign-up answered 200 has its account, with a password hash, in `db`. Returns how many
/// sign-ups answered 503 left an account behind anyway.
async fn assert_registrations_kept(db: &tokio_postgres::Client, all: &[Outcome]) -> usize {
    let rows = db
        .query(
            "SELECT email FROM accounts WHERE password_hash IS NOT NULL",
            &[],
        )
        .await
        .expect("list accounts");
    let stored: std::collections::HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    let acknowledged: Vec<&Outcome> = all.iter().filter(|o| o.op == "signup" && o.ok()).collect();
    let lost: Vec<&str> = acknowledged
        .iter()
        .filter(|o| !stored.contains(&o.email))
        .map(|o| o.email.as_str())
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged registrations are missing: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    all.iter()
        .filter(|o| o.op == "signup" && o.status == Some(503) && stored.contains(&o.email))
        .count()
}

/// The server is still the same process and never panicked.
fn assert_alive_and_clean(server: &mut Replica) {
    assert!(
        server.server.try_wait().is_none(),
        "the server exited\n{}",
        server.server.output()
    );
    let out = server.server.output();
    assert!(!out.contains("panicked"), "the server panicked\n{out}");
}

async fn postgres_restart_under_load(mode: &str) {
    let _one = HEAVY.lock().await;
    let Some(pg) = TestPostgres::start().await else {
        return;
    };
    let Some(redis) = TestRedis::start().await else {
        return;
    };
    let mut server = Replica::start(&pg.url(), Some(&redis.url()), &[]).await;
    let plan = plan();
    for cycle in 1..=plan.cycles {
        let load = Load::start(&server.base, plan.tasks, false);
        tokio::time::sleep(plan.warmup).await;
        let down = Instant::now();
        pg.stop(mode).await;
        let stop_took = down.elapsed();
        tokio::time::sleep(plan.outage).await;
        // The load balancer's view: alive, not ready.
        let c = api::client();
        let (status, _) = api::send(c.get(server.url("/healthz"))).await;
        assert_eq!(status, StatusCode::OK, "/healthz during the outage");
        let asked = Instant::now();
        let (status, ready) = api::send(c.get(server.url("/readyz"))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
        assert_ne!(ready["checks"]["database"]["state"], "ok", "{ready}");
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "/readyz took {:?}",
            asked.elapsed()
        );
        pg.restart().await;
        let up = Instant::now();
        wait_recovered(&mut server, up).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let all = load.finish().await;
        let f = outage_figures(&all, down, up);
        println!(
            "faults: PostgreSQL stop -m {mode} (cycle {cycle}): {} requests, {} answered 503 \
             (200/503: {}); pg_ctl stop took {} ms; detection {} ms; max latency during the outage {} ms; \
             recovery {} ms after PostgreSQL accepted connections",
            f.requests,
            f.failed_503,
            f.by_op,
            ms(stop_took),
            ms(f.detection),
            ms(f.max_latency_outage),
            ms(f.recovery)
        );
        let orphans = assert_registrations_kept(&pg.client().await, &all).await;
        println!("faults: sign-ups answered 503 whose account was written anyway: {orphans}");
        assert_bounds(&f);
        assert_alive_and_clean(&mut server);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_fast_restart_under_load() {
    postgres_restart_under_load("fast").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crash_restart_under_load() {
    postgres_restart_under_load("immediate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_under_load_fails_closed() {
    let _one = HEAVY.lock().await;
    let Some(mut redis) = TestRedis::start().await else {
        return;
    };
    let Some(url) = fresh_postgres_schema().await else {
        return;
    };
    let mut server = Replica::start(&url, Some(&redis.url()), &[]).await;
    let (db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let plan = plan();
    let c = api::client();
    for cycle in 1..=plan.cycles {
        let load = Load::start(&server.base, plan.tasks, true);
        tokio::time::sleep(plan.warmup).await;
        let down = Instant::now();
        redis.kill().await;
        tokio::time::sleep(plan.outage).await;
        let (status, ready) = api::send(c.get(server.url("/readyz"))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
        assert_eq!(ready["checks"]["limiter"]["kind"], "redis", "{ready}");
        assert_ne!(ready["checks"]["limiter"]["state"], "ok", "{ready}");
        assert_eq!(ready["checks"]["database"]["state"], "ok", "{ready}");
        let (status, _) = api::send(c.get(server.url("/jwks"))).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "JWKS counts nothing and must keep working"
        );
        let restart = Instant::now();
        redis.restart().await;
        let up = Instant::now();
        wait_recovered(&mut server, up).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let all = load.finish().await;
        let f = outage_figures(&all, down, up);
        // Fails closed: once the outage is seen, no sign-up, sign-in or refresh succeeds until
        // Redis is back (each is rate-limited; a margin for calls already past the limiter).
        // Bearer checks count nothing: userinfo keeps answering from the database.
        let seen = down + f.detection + Duration::from_millis(300);
        let during = |o: &&Outcome| o.started >= seen && o.ended() < restart;
        let leaked: Vec<&Outcome> = all
            .iter()
            .filter(during)
            .filter(|o| o.ok() && o.op != "userinfo")
            .collect();
        assert!(
            leaked.is_empty(),
            "authentication succeeded without Redis: {leaked:?}"
        );
        let bearer: Vec<&Outcome> = all
            .iter()
            .filter(during)
            .filter(|o| o.op == "userinfo")
            .collect();
        assert!(
            !bearer.is_empty() && bearer.iter().all(|o| o.ok()),
            "userinfo without Redis: {bearer:?}"
        );
        let refused = all
            .iter()
            .filter(|o| o.started >= seen && o.ended() < restart)
            .count();
        assert!(refused > 0, "no request was made while Redis was down");
        println!(
            "faults: Redis killed (cycle {cycle}): {} requests, {} answered 503 \
             (200/503: {}); detection {} ms; max latency during the outage {} ms; recovery {} ms \
             after Redis accepted connections",
            f.requests,
            f.failed_503,
            f.by_op,
            ms(f.detection),
            ms(f.max_latency_outage),
            ms(f.recovery)
        );
        let orphans = assert_registrations_kept(&db, &all).await;
        println!("faults: sign-ups answered 503 whose account was written anyway: {orphans}");
        assert_bounds(&f);
        assert_alive_and_clean(&mut server);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_in_flight_requests() {
    let _one = HEAVY.lock().await;
    let Some(redis) = TestRedis::start().await else {
        return;
    };
    let Some(url) = fresh_postgres_schema().await else {
        return;
    };
    let grace = Duration::from_secs(10);
    // Production hashing cost on one hashing thread, and twice the clients: requests queue for
    // the hasher, so many are in flight (for 100 ms and more) when the signal comes.
    let mut server = Replica::start(
        &url,
        Some(&redis.url()),
        &[
            ("IDP_ARGON2__M_COST", "19456"),
            ("IDP_ARGON2__T_COST", "2"),
            ("IDP_ARGON2__THREADS", "1"),
            ("IDP_HTTP__SHUTDOWN_GRACE_SECS", "10"),
        ],
    )
    .await;
    let plan = plan();
    // 16 clients whatever the plan: more only queue longer for the one hashing thread.
    let load = Load::start(&server.base, 16, true);
    tokio::time::sleep(plan.warmup).await;
    let term = Instant::now();
    server.server.signal("TERM");
    let status = server
        .server
        .wait_for_exit(grace + Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("still running {grace:?} after SIGTERM"));
    let stopped_in = term.elapsed();
    let all = load.finish().await;
    assert!(
        status.success(),
        "exit status {status} after SIGTERM\n{}",
        server.server.output()
    );
    assert!(stopped_in <= grace, "exit took {stopped_in:?}");

    // A request sent 100 ms before the signal was read by the server: it must be answered,
    // successfully. (Requests sent later may meet a closed listener: they were never accepted.)
    let accepted: Vec<&Outcome> = all
        .iter()
        .filter(|o| o.started + Duration::from_millis(100) <= term)
        .collect();
    let in_flight = accepted.iter().filter(|o| o.ended() > term).count();
    assert!(
        in_flight > 0,
        "no request was in flight at the signal: the test proves nothing"
    );
    let broken: Vec<&&Outcome> = accepted.iter().filter(|o| !o.ok()).collect();
    println!(
        "faults: SIGTERM under load: {} requests before the signal, {in_flight} of them in flight \
         at the signal; exit 0 after {} ms",
        accepted.len(),
        ms(stopped_in)
    );
    assert!(
        broken.is_empty(),
        "accepted requests not answered: {broken:?}"
    );

    let (db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    assert_registrations_kept(&db, &all).await;
    let count = |sql: &'static str| {
        let db = &db;
        async move {
            let row = db.query_one(sql, &[]).await.expect(sql);
            row.get::<_, i64>(0)
        }
    };
    assert_eq!(
        count("SELECT count(*) FROM accounts WHERE password_hash IS NULL").await,
        0,
        "accounts without their password"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM token_families f WHERE NOT EXISTS \
             (SELECT 1 FROM refresh_tokens r WHERE r.family_id = f.id)"
        )
        .await,
        0,
        "token families without a refresh token"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM token_families f WHERE f.revoked_at IS NULL AND \
             (SELECT count(*) FROM refresh_tokens r WHERE r.family_id = f.id AND r.used_at IS NULL) <> 1"
        )
        .await,
        0,
        "live token families without exactly one unspent refresh token"
    );
    let families = count("SELECT count(*) FROM token_families").await;
    assert!(families > 0, "the load issued no tokens");
}
