//! One set of behaviour tests run against both limiters (`limiter_tests!`), then tests that only
//! make sense for one: pruning (memory), replicas sharing a Redis, and Redis outages.
//!
//! The Redis variants use the server named by `IDP_TEST_REDIS_URL` (set by `scripts/test`), each
//! test under a key prefix of its own; without it they are skipped with a notice, except under
//! CI, where they fail. The outage test starts throw-away `redis-server` processes of its own
//! (`IDP_TEST_REDIS_SERVER` names the binary; `redis-server` from PATH otherwise).

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idp_core::limits::{Decision, LimitError, Limiter};

use super::{MemoryLimiter, PRUNE_EVERY, RedisLimiter, RedisOptions, from_config};

// ---------------------------------------------------------------------------------------------
// Fixtures

fn redis_url() -> Option<String> {
    match std::env::var("IDP_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("IDP_TEST_REDIS_URL must be set under CI (scripts/test sets it)")
        }
        _ => {
            eprintln!("skipped: IDP_TEST_REDIS_URL is not set (run scripts/test)");
            None
        }
    }
}

fn test_prefix() -> String {
    format!("idp:test:{}:", uuid::Uuid::new_v4().simple())
}

async fn redis_at(url: &str, prefix: &str) -> RedisLimiter {
    RedisLimiter::connect_with(
        url,
        RedisOptions {
            prefix: prefix.to_owned(),
            ..RedisOptions::default()
        },
    )
    .await
    .expect("connect to test Redis")
}

/// A Redis limiter under a fresh prefix, so that tests running in parallel never share keys.
async fn redis() -> Option<Arc<dyn Limiter>> {
    let url = redis_url()?;
    Some(Arc::new(redis_at(&url, &test_prefix()).await))
}

/// `limiter_tests!(name)` turns `async fn name(limiter: Arc<dyn Limiter>)` into two tests,
/// `name::memory` and `name::redis`.
macro_rules! limiter_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$name(std::sync::Arc::new(super::MemoryLimiter::new())).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn redis() {
                if let Some(limiter) = super::redis().await {
                    super::$name(limiter).await;
                }
            }
        }
    )*};
}

limiter_tests!(
    allows_exactly_limit_then_refuses,
    window_resets_after_it_passes,
    reset_clears_the_count,
    peek_does_not_count,
    keys_are_independent,
    concurrent_hits_count_atomically,
    zero_limit_refuses_everything,
    ping_answers,
);

fn allowed(count: u32) -> Decision {
    Decision {
        allowed: true,
        count,
        retry_after: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Behaviour, for both

async fn allows_exactly_limit_then_refuses(limiter: Arc<dyn Limiter>) {
    let window = Duration::from_secs(10);
    for n in 1..=3 {
        assert_eq!(limiter.hit("login:a", 3, window).await.unwrap(), allowed(n));
    }
    for n in 4..=6 {
        let d = limiter.hit("login:a", 3, window).await.unwrap();
        assert!(!d.allowed, "hit {n} must be refused: {d:?}");
        assert_eq!(d.count, n, "refused hits are counted too");
        let retry = d.retry_after.expect("a refusal says when to retry");
        assert!(
            retry > Duration::ZERO && retry <= window,
            "retry_after {retry:?} must be within the window {window:?}"
        );
        assert!(
            retry > Duration::from_secs(9),
            "the window has only just started: {retry:?}"
        );
    }
}

async fn window_resets_after_it_passes(limiter: Arc<dyn Limiter>) {
    let window = Duration::from_millis(300);
    let started = Instant::now();
    assert!(limiter.hit("k", 2, window).await.unwrap().allowed);
    assert!(limiter.hit("k", 2, window).await.unwrap().allowed);
    let refused = limiter.hit("k", 2, window).await.unwrap();
    assert!(!refused.allowed);
    let retry = refused.retry_after.unwrap();
    assert!(retry <= window, "{retry:?}");
    assert!(
        retry + started.elapsed() + Duration::from_millis(50) >= window,
        "retry_after {retry:?} ends the window too early"
    );
    tokio::time::sleep(retry + Duration::from_millis(50)).await;
    assert_eq!(limiter.peek("k").await.unwrap(), 0, "the window has passed");
    assert_eq!(limiter.hit("k", 2, window).await.unwrap(), allowed(1));
    assert_eq!(limiter.hit("k", 2, window).await.unwrap(), allowed(2));
    assert!(!limiter.hit("k", 2, window).await.unwrap().allowed);
}

async fn reset_clears_the_count(limiter: Arc<dyn Limiter>) {
    let window = Duration::from_secs(10);
    for _ in 0..3 {
        limiter.hit("fail:bob", 2, window).await.unwrap();
    }
    assert!(!limiter.hit("fail:bob", 2, window).await.unwrap().allowed);
    limiter.reset("fail:bob").await.unwrap();
    assert_eq!(limiter.peek("fail:bob").await.unwrap(), 0);
    assert_eq!(
        limiter.hit("fail:bob", 2, window).await.unwrap(),
        allowed(1)
    );
    // Resetting a key that was never hit is fine.
    limiter.reset("never-hit").await.unwrap();
}

async fn peek_does_not_count(limiter: Arc<dyn Limiter>) {
    let window = Duration::from_secs(10);
    assert_eq!(limiter.peek("p").await.unwrap(), 0);
    limiter.hit("p", 5, window).await.unwrap();
    limiter.hit("p", 5, window).await.unwrap();
    for _ in 0..10 {
        assert_eq!(limiter.peek("p").await.unwrap(), 2);
    }
    assert_eq!(limiter.hit("p", 5, window).await.unwrap(), allowed(3));
    assert_eq!(limiter.peek("p").await.unwrap(), 3);
}

async fn keys_are_independent(limiter: Arc<dyn Limiter>) {
    let window = Duration::from_secs(10);
    assert!(limiter.hit("ip:1", 1, window).await.unwrap().allowed);
    assert!(!limiter.hit("ip:1", 1, window).await.unwrap().allowed);
    assert_eq!(limiter.hit("ip:2", 1, window).await.unwrap(), allowed(1));
    assert_eq!(
        limiter.hit("user:ip:1", 1, window).await.unwrap(),
        allowed(1)
    );
    limiter.reset("ip:2").await.unwrap();
    assert_eq!(limiter.peek("ip:1").await.unwrap(), 2);
    assert_eq!(limiter.peek("user:ip:1").await.unwrap(), 1);
}

/// 200 hits at once, limit 50: exactly 50 allowed, and every count from 1 to 200 seen once.
async fn concurrent_hits_count_atomically(limiter: Arc<dyn Limiter>) {
    let decisions = hit_concurrently(std::slice::from_ref(&limiter), "burst", 200, 50, false).await;
    check_burst(&decisions, 200, 50);
    assert_eq!(limiter.peek("burst").await.unwrap(), 200);
}

async fn zero_limit_refuses_everything(limiter: Arc<dyn Limiter>) {
    let d = limiter
        .hit("closed", 0, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(!d.allowed);
    assert_eq!(d.count, 1);
    assert!(d.retry_after.unwrap() <= Duration::from_secs(5));
}

async fn ping_answers(limiter: Arc<dyn Limiter>) {
    limiter.ping().await.unwrap();
}

/// `total` hits (quota hits when `quota`) on `key` spread round-robin over `limiters`, all
/// started before any finishes.
async fn hit_concurrently(
    limiters: &[Arc<dyn Limiter>],
    key: &str,
    total: usize,
    limit: u32,
    quota: bool,
) -> Vec<Decision> {
    let barrier = Arc::new(tokio::sync::Barrier::new(total));
    let tasks: Vec<_> = (0..total)
        .map(|i| {
            let limiter = limiters[i % limiters.len()].clone();
            let barrier = barrier.clone();
            let key = key.to_owned();
            tokio::spawn(async move {
                barrier.wait().await;
                let window = Duration::from_secs(30);
                if quota {
                    limiter.hit_quota(&key, limit, window).await
                } else {
                    limiter.hit(&key, limit, window).await
                }
            })
        })
        .collect();
    let mut decisions = Vec::with_capacity(total);
    for task in tasks {
        decisions.push(task.await.unwrap().unwrap());
    }
    decisions
}

fn check_burst(decisions: &[Decision], total: u32, limit: u32) {
    let allowed = decisions.iter().filter(|d| d.allowed).count();
    assert_eq!(allowed, limit as usize, "exactly `limit` hits may pass");
    let counts: BTreeSet<u32> = decisions.iter().map(|d| d.count).collect();
    assert_eq!(
        counts,
        (1..=total).collect(),
        "every count is handed out once"
    );
    for d in decisions {
        assert_eq!(d.allowed, d.count <= limit, "{d:?}");
        assert_eq!(d.allowed, d.retry_after.is_none(), "{d:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Memory only

#[tokio::test]
async fn memory_prunes_expired_keys() {
    let limiter = MemoryLimiter::new();
    for i in 0..500 {
        limiter
            .hit(&format!("short:{i}"), 1, Duration::from_millis(20))
            .await
            .unwrap();
    }
    limiter
        .hit("long", 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(limiter.tracked_keys(), 501);
    tokio::time::sleep(Duration::from_millis(40)).await;
    // Enough hits on one live key to pass a pruning point.
    for _ in 0..PRUNE_EVERY {
        limiter
            .hit("long", 1, Duration::from_secs(60))
            .await
            .unwrap();
    }
    assert_eq!(limiter.tracked_keys(), 1, "expired keys are pruned");
    assert_eq!(limiter.peek("long").await.unwrap() as u64, PRUNE_EVERY + 1);
}

#[tokio::test]
async fn from_config_without_url_is_in_memory() {
    for url in [None, Some(""), Some("  ")] {
        let limiter = from_config(url).await.unwrap();
        limiter.ping().await.unwrap();
        assert!(
            limiter
                .hit("x", 1, Duration::from_secs(1))
                .await
                .unwrap()
                .allowed
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Redis only

/// Two replicas (two limiters, two connections) on one Redis share one count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_replicas_share_one_count() {
    let Some(url) = redis_url() else { return };
    let prefix = test_prefix();
    let a: Arc<dyn Limiter> = Arc::new(redis_at(&url, &prefix).await);
    let b: Arc<dyn Limiter> = Arc::new(redis_at(&url, &prefix).await);
    let decisions = hit_concurrently(&[a.clone(), b.clone()], "shared", 200, 50, false).await;
    check_burst(&decisions, 200, 50);
    assert_eq!(a.peek("shared").await.unwrap(), 200);
    b.reset("shared").await.unwrap();
    assert_eq!(a.peek("shared").await.unwrap(), 0);
    assert_eq!(
        a.hit("shared", 50, Duration::from_secs(5)).await.unwrap(),
        allowed(1)
    );
}

/// A quota of 6,400 is leased in slices of 100: the first hit reserves 100 in Redis, the next
/// 99 cost no round trip (the shared count stays at 100), the 101st reserves the next slice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_large_budgets_are_leased_in_slices() {
    let Some(url) = redis_url() else { return };
    let limiter = redis_at(&url, &test_prefix()).await;
    let window = Duration::from_secs(30);
    for n in 1..=100 {
        assert_eq!(
            limiter.hit_quota("client:rs", 6400, window).await.unwrap(),
            allowed(n)
        );
        assert_eq!(limiter.peek("client:rs").await.unwrap(), 100, "hit {n}");
    }
    assert_eq!(
        limiter.hit_quota("client:rs", 6400, window).await.unwrap(),
        allowed(101)
    );
    assert_eq!(limiter.peek("client:rs").await.unwrap(), 200);
    // A reset forgets this replica's slice along with the shared count.
    limiter.reset("client:rs").await.unwrap();
    assert_eq!(
        limiter.hit_quota("client:rs", 6400, window).await.unwrap(),
        allowed(1)
    );
}

/// Two replicas spend a leased budget (640: slices of 10) at once: never more than the budget
/// passes, and at most each replica's unspent slice (9 hits) is lost to the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_leased_budget_is_never_exceeded_across_replicas() {
    let Some(url) = redis_url() else { return };
    let prefix = test_prefix();
    let a: Arc<dyn Limiter> = Arc::new(redis_at(&url, &prefix).await);
    let b: Arc<dyn Limiter> = Arc::new(redis_at(&url, &prefix).await);
    let decisions = hit_concurrently(&[a.clone(), b.clone()], "client:web", 1000, 640, true).await;
    let passed = decisions.iter().filter(|d| d.allowed).count();
    assert!(
        (640 - 2 * 9..=640).contains(&passed),
        "{passed} of 1000 hits passed a budget of 640"
    );
    for d in &decisions {
        assert_eq!(d.allowed, d.retry_after.is_none(), "{d:?}");
    }
    // Refused, on either replica, until the window ends.
    assert!(
        !a.hit_quota("client:web", 640, Duration::from_secs(30))
            .await
            .unwrap()
            .allowed
    );
    assert!(
        !b.hit_quota("client:web", 640, Duration::from_secs(30))
            .await
            .unwrap()
            .allowed
    );
}

/// A slice is spent only inside the window it was taken from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_lease_ends_with_its_window() {
    let Some(url) = redis_url() else { return };
    let limiter = redis_at(&url, &test_prefix()).await;
    let window = Duration::from_millis(400);
    for n in 1..=640 {
        assert_eq!(
            limiter.hit_quota("client:w", 640, window).await.unwrap(),
            allowed(n)
        );
    }
    let refused = limiter.hit_quota("client:w", 640, window).await.unwrap();
    assert!(!refused.allowed, "{refused:?}");
    tokio::time::sleep(refused.retry_after.unwrap() + Duration::from_millis(50)).await;
    // A new window: the first hit takes a new slice, and its rest is spent locally.
    assert_eq!(
        limiter.hit_quota("client:w", 640, window).await.unwrap(),
        allowed(1)
    );
    assert_eq!(limiter.peek("client:w").await.unwrap(), 10);
    // A slice taken just before its window ends is not spent after it.
    tokio::time::sleep(window + Duration::from_millis(50)).await;
    assert_eq!(
        limiter.hit_quota("client:w", 640, window).await.unwrap(),
        allowed(1)
    );
}

/// A brute-force budget is never leased, however large: every hit is counted in Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_brute_force_budgets_are_exact_however_large() {
    let Some(url) = redis_url() else { return };
    let limiter = redis_at(&url, &test_prefix()).await;
    for n in 1..=5 {
        assert_eq!(
            limiter
                .hit("ip:1", 1_000_000_000, Duration::from_secs(30))
                .await
                .unwrap(),
            allowed(n)
        );
        assert_eq!(limiter.peek("ip:1").await.unwrap(), n);
    }
}

#[tokio::test]
async fn redis_from_config_with_url() {
    let Some(url) = redis_url() else { return };
    let limiter = from_config(Some(&url)).await.unwrap();
    limiter.ping().await.unwrap();
    let key = format!("from-config:{}", uuid::Uuid::new_v4().simple());
    assert_eq!(
        limiter.hit(&key, 1, Duration::from_secs(5)).await.unwrap(),
        allowed(1)
    );
    // The default prefix is on the key in Redis.
    let raw = RedisLimiter::connect_with(
        &url,
        RedisOptions {
            prefix: String::new(),
            ..RedisOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(raw.peek(&format!("idp:lim:{key}")).await.unwrap(), 1);
    limiter.reset(&key).await.unwrap();
}

/// A port on loopback where nothing listens (bound, read, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, LimitError>, what: &str) {
    match result {
        Err(LimitError::Unavailable(msg)) => assert!(!msg.is_empty()),
        other => panic!("{what}: expected Unavailable, got {other:?}"),
    }
}

/// Needs no server: nothing listens on the port, and every call fails fast.
#[tokio::test]
async fn redis_unreachable_fails_fast() {
    let url = format!("redis://127.0.0.1:{}/", free_port());

    let started = Instant::now();
    assert_unavailable(RedisLimiter::connect(&url).await, "connect");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "connect took {:?}",
        started.elapsed()
    );
    // The configured limiter connects lazily: the server starts, and calls fail closed.
    let configured = from_config(Some(&url)).await.expect("a lazy limiter");
    assert_unavailable(configured.ping().await, "configured ping");
    assert_unavailable(
        from_config(Some("not a url")).await.map(|_| ()),
        "configured bad url",
    );

    let limiter = RedisLimiter::connect_lazy(&url).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        assert_unavailable(limiter.hit("k", 5, Duration::from_secs(1)).await, "hit");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "hit took {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    assert_unavailable(limiter.peek("k").await, "peek");
    assert_unavailable(limiter.reset("k").await, "reset");
    assert_unavailable(limiter.ping().await, "ping");
    assert!(started.elapsed() < Duration::from_secs(6));

    assert_unavailable(RedisLimiter::connect("not a url").await, "bad url");
    assert_unavailable(RedisLimiter::connect_lazy("http://x/"), "wrong scheme");
}

#[test]
fn redis_connect_lazy_outside_a_runtime_is_an_error() {
    assert_unavailable(
        RedisLimiter::connect_lazy("redis://127.0.0.1:1/"),
        "outside a runtime",
    );
}

/// A throw-away `redis-server` on a fixed port, killed when dropped.
struct Server {
    child: Child,
}

impl Server {
    fn start(port: u16) -> Server {
        let binary =
            std::env::var("IDP_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
        let child = Command::new(&binary)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let server = Server { child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} failed");
    }

    fn kill(mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Redis dies under a running limiter and comes back on the same port: calls fail fast while
/// it is gone and succeed again afterwards, on the same limiter, with nothing restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_fast_and_recovers() {
    if redis_url().is_none() {
        return;
    }
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/");
    let server = Server::start(port);
    let limiter = RedisLimiter::connect(&url).await.unwrap();
    let window = Duration::from_secs(60);
    assert_eq!(limiter.hit("k", 10, window).await.unwrap(), allowed(1));
    assert_eq!(limiter.hit("k", 10, window).await.unwrap(), allowed(2));

    server.kill();
    let killed = Instant::now();
    let mut took_ms = Vec::new();
    while killed.elapsed() < Duration::from_millis(1500) {
        let started = Instant::now();
        assert_unavailable(limiter.hit("k", 10, window).await, "hit during the outage");
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "a hit during the outage took {took:?}"
        );
        took_ms.push(took.as_millis());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_unavailable(limiter.ping().await, "ping during the outage");
    assert_unavailable(limiter.peek("k").await, "peek during the outage");
    eprintln!("outage: every hit failed; each took (ms) {took_ms:?}");

    let _server = Server::start(port);
    let restarted = Instant::now();
    let mut failed_after_restart = 0;
    let decision = loop {
        match limiter.hit("k", 10, window).await {
            Ok(d) => break d,
            Err(LimitError::Unavailable(msg)) => {
                failed_after_restart += 1;
                assert!(
                    restarted.elapsed() < Duration::from_secs(5),
                    "no recovery 5 s after Redis came back: {msg}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    eprintln!(
        "recovered {:?} after the restart ({failed_after_restart} hits failed first)",
        restarted.elapsed()
    );
    // The new server started empty (no persistence): the count starts again.
    assert_eq!(decision, allowed(1));
    assert_eq!(limiter.peek("k").await.unwrap(), 1);
    limiter.ping().await.unwrap();
}

/// A Redis that stops answering (SIGSTOP: the connection stays open, nothing comes back) makes
/// calls fail after the timeout instead of hanging; once it answers again (SIGCONT), so do they.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_frozen_server_times_out_and_recovers() {
    if redis_url().is_none() {
        return;
    }
    let port = free_port();
    let server = Server::start(port);
    let limiter = RedisLimiter::connect(&format!("redis://127.0.0.1:{port}/"))
        .await
        .unwrap();
    let window = Duration::from_secs(60);
    assert_eq!(limiter.hit("k", 10, window).await.unwrap(), allowed(1));

    server.signal("-STOP");
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        let started = Instant::now();
        assert_unavailable(limiter.hit("k", 10, window).await, "hit on a frozen Redis");
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "a hit on a frozen Redis took {took:?}"
        );
        slowest = slowest.max(took);
    }
    server.signal("-CONT");
    let resumed = Instant::now();
    let decision = loop {
        match limiter.hit("k", 10, window).await {
            Ok(d) => break d,
            Err(e) => {
                assert!(
                    resumed.elapsed() < Duration::from_secs(5),
                    "no recovery: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    eprintln!(
        "frozen: hits failed after at most {slowest:?}; answered again {:?} after SIGCONT",
        resumed.elapsed()
    );
    // The hits sent while it was frozen were queued in the socket and ran when it woke up:
    // they count (the limiter erred towards refusing, never towards letting through).
    assert!(decision.allowed);
    assert!(decision.count >= 2, "{decision:?}");
    drop(server);
}
