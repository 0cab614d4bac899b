//! The in-process limiter: an exact fixed-window count per key in a `Mutex<HashMap>`.
//!
//! A plain map rather than `governor`: `governor` is a GCRA rate limiter, which keeps no count
//! per key, so it cannot answer [`Decision::count`] or [`Limiter::peek`], and its keyed state
//! has no per-key reset; and the map gives exactly the semantics of the Redis script, so the
//! same tests hold for both. The lock is a `std` mutex held for a hash-map lookup only, never
//! across an `.await`.
//!
//! Memory stays bounded: every [`PRUNE_EVERY`]-th hit drops every key whose window has passed,
//! so the map holds at most the keys hit within the longest window in use plus
//! [`PRUNE_EVERY`] hits' worth of expired ones.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use idp_core::limits::{Decision, LimitError, Limiter};

/// Every this many hits, keys whose window has passed are dropped.
pub const PRUNE_EVERY: u64 = 1024;

/// Counts in this process only: right for a single server; replicas each count on their own.
#[derive(Debug, Default)]
pub struct MemoryLimiter {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    windows: HashMap<String, Window>,
    hits: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    count: u64,
    resets_at: Instant,
}

impl MemoryLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys held right now, expired ones not yet pruned included.
    pub fn tracked_keys(&self) -> usize {
        self.lock().windows.len()
    }

    /// Drops every key whose window has passed (also done on every [`PRUNE_EVERY`]-th hit).
    pub fn prune(&self) {
        let now = Instant::now();
        self.lock().windows.retain(|_, w| w.resets_at > now);
    }

    /// The map stays consistent whatever happens inside the lock (no code in it can panic
    /// half-way through an update), so a poisoned lock is simply taken over.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Windows shorter than a millisecond are a millisecond, as in Redis (`PEXPIRE`).
fn clamp_window(window: Duration) -> Duration {
    window.max(Duration::from_millis(1))
}

#[async_trait]
impl Limiter for MemoryLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, LimitError> {
        let window = clamp_window(window);
        let now = Instant::now();
        let mut state = self.lock();
        state.hits = state.hits.wrapping_add(1);
        if state.hits.is_multiple_of(PRUNE_EVERY) {
            state.windows.retain(|_, w| w.resets_at > now);
        }
        let current = match state.windows.get_mut(key) {
            Some(w) if w.resets_at > now => {
                w.count = w.count.saturating_add(1);
                *w
            }
            Some(w) => {
                *w = Window {
                    count: 1,
                    resets_at: now + window,
                };
                *w
            }
            None => {
                let w = Window {
                    count: 1,
                    resets_at: now + window,
                };
                state.windows.insert(key.to_owned(), w);
                w
            }
        };
        drop(state);
        let allowed = current.count <= u64::from(limit);
        Ok(Decision {
            allowed,
            count: u32::try_from(current.count).unwrap_or(u32::MAX),
            retry_after: (!allowed).then(|| {
                current
                    .resets_at
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1))
            }),
        })
    }

    /// Counted exactly: in one process a hit costs no round trip, so nothing is gained by
    /// leasing.
    async fn hit_quota(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Decision, LimitError> {
        self.hit(key, limit, window).await
    }

    async fn reset(&self, key: &str) -> Result<(), LimitError> {
        self.lock().windows.remove(key);
        Ok(())
    }

    async fn peek(&self, key: &str) -> Result<u32, LimitError> {
        let now = Instant::now();
        let count = match self.lock().windows.get(key) {
            Some(w) if w.resets_at > now => w.count,
            _ => 0,
        };
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn ping(&self) -> Result<(), LimitError> {
        Ok(())
    }
}
