//! The engine's metric events, one named function each, so the operations stay readable and the
//! series stay few. They go through the `metrics` facade: without an installed recorder (unit
//! tests, benchmarks) each call is a no-op; `idp-server` installs the Prometheus one.
//!
//! Labels are fixed, low-cardinality words — never an account, a login, an address or a token.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use metrics::{counter, histogram};

use crate::limits::{Decision, LimitError, Limiter};
use crate::notify::Channel;

/// The surface label of calls that came through no HTTP surface (admin CLI, background jobs).
pub const NO_SURFACE: &str = "none";

/// A password sign-in ended, well or not (`surface` is [`crate::Context::surface`]).
pub fn login(surface: &'static str, ok: bool) {
    let result = if ok { "ok" } else { "failed" };
    counter!("idp_logins_total", "surface" => surface, "result" => result).increment(1);
}

/// An account was locked after too many failed proofs.
pub fn lockout() {
    counter!("idp_lockouts_total").increment(1);
}

/// A one-time code went out.
pub fn otp_sent(channel: Channel) {
    let channel = match channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
    };
    counter!("idp_otp_sent_total", "channel" => channel).increment(1);
}

/// A new grant was issued: `grant` is `authorization_code`, `client_credentials` or `direct`
/// (a sign-in on a surface that hands out tokens at once: password grant, vendor logins).
pub fn tokens_issued(grant: &'static str) {
    counter!("idp_tokens_issued_total", "grant" => grant).increment(1);
}

/// A refresh token was exchanged for new tokens.
pub fn tokens_refreshed() {
    counter!("idp_tokens_refreshed_total").increment(1);
}

/// A grant or an access token was revoked on request (revocation endpoint, sign-out).
pub fn tokens_revoked() {
    counter!("idp_tokens_revoked_total").increment(1);
}

/// How long one store call took: `store` is `sqlite` or `postgres`, `op` the kind of call.
pub fn store_call(store: &'static str, op: &'static str, took: Duration) {
    histogram!("idp_store_operation_seconds", "store" => store, "op" => op)
        .record(took.as_secs_f64());
}

/// A [`Limiter`] that records how long each call to the wrapped one takes
/// (`idp_limiter_operation_seconds{backend, op}`), e.g. the Redis round trips.
pub struct TimedLimiter<L: ?Sized> {
    backend: &'static str,
    inner: std::sync::Arc<L>,
}

impl<L: Limiter + ?Sized> TimedLimiter<L> {
    pub fn new(backend: &'static str, inner: std::sync::Arc<L>) -> Self {
        Self { backend, inner }
    }

    /// Runs one call of the wrapped limiter and records how long it took.
    async fn timed<T>(&self, op: &'static str, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = call.await;
        histogram!("idp_limiter_operation_seconds", "backend" => self.backend, "op" => op)
            .record(started.elapsed().as_secs_f64());
        out
    }
}

#[async_trait]
impl<L: Limiter + ?Sized> Limiter for TimedLimiter<L> {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, LimitError> {
        self.timed("hit", self.inner.hit(key, limit, window)).await
    }

    async fn hit_quota(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Decision, LimitError> {
        self.timed("hit_quota", self.inner.hit_quota(key, limit, window))
            .await
    }

    async fn reset(&self, key: &str) -> Result<(), LimitError> {
        self.timed("reset", self.inner.reset(key)).await
    }

    async fn peek(&self, key: &str) -> Result<u32, LimitError> {
        self.timed("peek", self.inner.peek(key)).await
    }

    async fn ping(&self) -> Result<(), LimitError> {
        self.timed("ping", self.inner.ping()).await
    }
}
