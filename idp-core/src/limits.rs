//! Counters shared by every replica: rate limits and failure counts. Implementations in
//! `idp-plugins::limits`: Redis (atomic scripts, shared across replicas) and an in-process one
//! for a single server without Redis.

use std::time::Duration;

use async_trait::async_trait;

/// The answer to one counted attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Attempts counted in the current window, this one included.
    pub count: u32,
    /// When refused: how long until an attempt may succeed.
    pub retry_after: Option<Duration>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    /// The shared counter store cannot be reached. Callers fail closed for authentication.
    #[error("limiter unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Limiter: Send + Sync + 'static {
    /// Counts one attempt under `key` and decides, atomically: allowed while at most `limit`
    /// attempts fall in the current `window`. The count is taken *before* the caller does any
    /// expensive check, so parallel attempts cannot slip past the limit.
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, LimitError>;
    /// [`Limiter::hit`] for a quota (a client's requests), not a brute-force budget: never more
    /// than `limit` hits pass in a window either, but an implementation may reserve hits ahead
    /// (the Redis one leases large budgets to each replica in slices), so the count is
    /// approximate and a replica may be refused a little before the budget is spent. No default
    /// body: a wrapper that forgot to pass it on would silently count quotas hit by hit.
    async fn hit_quota(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Decision, LimitError>;
    /// Forgets `key` (e.g. failures after a successful sign-in).
    async fn reset(&self, key: &str) -> Result<(), LimitError>;
    /// Attempts counted under `key` in its current window, without counting one.
    async fn peek(&self, key: &str) -> Result<u32, LimitError>;
    /// True when the backing store answers (readiness).
    async fn ping(&self) -> Result<(), LimitError>;
}
