//! Rate limits and failure counters behind [`idp_core::limits::Limiter`]: [`RedisLimiter`],
//! shared by every replica through one Redis, and [`MemoryLimiter`], for a single server
//! without Redis. [`from_config`] picks one.
//!
//! # Algorithm: fixed window, in both implementations
//!
//! The first hit on a key opens a window of the `window` passed with it; every hit inside that
//! window adds one to the key's count (refused hits too: they are attempts), and a hit is
//! allowed while the count, this hit included, is at most `limit`. When the window has passed
//! the key is gone and the next hit opens a new window with count 1. A refused hit gets
//! `retry_after` = the time left in the window (never more than the window). The window of a
//! key is fixed by the hit that opened it; hits that pass another `window` while it runs do not
//! change it.
//!
//! Why a fixed window rather than a sliding window or GCRA (what `governor` implements):
//! - the trait speaks in counts: [`Decision::count`](idp_core::limits::Decision::count),
//!   [`Limiter::peek`] and
//!   [`Limiter::reset`] serve lockout after N failures, and a
//!   fixed window holds exactly that number. GCRA keeps a "theoretical arrival time" per key,
//!   from which no count can be read back; `governor`'s keyed limiters have no peek or
//!   per-key reset either. An exact sliding log would cost O(limit) memory per key (a sorted
//!   set in Redis).
//! - it is one `INCR` + `PEXPIRE` in Redis (O(1) memory and time per key) and a few lines in
//!   memory, so both implementations behave the same and one test suite checks both.
//! - its known weakness, a burst of up to `2 × limit` across the boundary of two windows, still
//!   bounds guessing to `limit` per window on average, which is what brute-force throttling
//!   needs.
//!
//! Redis leases large quotas ([`Limiter::hit_quota`]: a client's requests) to each replica in
//! slices (`lease`), so that a busy client does not cost a round trip per request; brute-force
//! budgets ([`Limiter::hit`]) and quotas under 128 hits are counted hit by hit. The in-process
//! limiter counts every hit exactly.
//!
//! # Failure
//!
//! Every failure of the shared store is [`LimitError::Unavailable`]; nothing here panics.
//! Callers fail closed for authentication.

mod lease;
mod memory;
mod redis;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use idp_core::limits::{LimitError, Limiter};

pub use self::memory::{MemoryLimiter, PRUNE_EVERY};
pub use self::redis::{DEFAULT_PREFIX, DEFAULT_TIMEOUT, RedisLimiter, RedisOptions};

/// The limiter the configuration asks for: a [`RedisLimiter`] when a Redis URL is given (an
/// empty or blank one counts as none), [`MemoryLimiter`] otherwise.
///
/// The Redis connection is made lazily: a server may start while Redis is down (readiness
/// reports it, and authentication fails closed with `Unavailable` until Redis answers); a URL
/// that does not parse fails at once.
pub async fn from_config(redis_url: Option<&str>) -> Result<Arc<dyn Limiter>, LimitError> {
    match redis_url.map(str::trim).filter(|url| !url.is_empty()) {
        Some(url) => Ok(Arc::new(RedisLimiter::connect_lazy(url)?)),
        None => Ok(Arc::new(MemoryLimiter::new())),
    }
}
