//! Leases on large quotas, so that a busy client does not cost a Redis round trip per request.
//!
//! A brute-force budget ([`Limiter::hit`](idp_core::limits::Limiter::hit): per IP, account,
//! login) bounds guessing, and every attempt is counted in Redis, exactly, however large it is
//! configured. A quota ([`Limiter::hit_quota`](idp_core::limits::Limiter::hit_quota): an app
//! client's token requests, 600 a minute by default) is spent by legitimate traffic at hundreds
//! of requests a second, and a round trip per request
//! then costs more than the request itself (measured: introspection on PostgreSQL + Redis ran
//! 15% faster, client_credentials 24%, without the per-request call). So a replica takes such a
//! budget from Redis in slices of [`slice`] hits: one script reserves up to a slice in the
//! shared count and allows the first hit; the replica spends the rest locally until the slice
//! is used up or the key's window ends, whichever comes first.
//!
//! What this keeps and what it gives up:
//! - never more than `limit` hits are allowed in a window, across all replicas: a slice is
//!   reserved in the shared count before any hit of it is allowed;
//! - a replica may hold up to `slice - 1` reserved hits it never spends, so that another replica
//!   is refused a little early: at most `replicas × (slice - 1)` of the budget (under 1.6%),
//!   since a replica fetches one slice of a key at a time ([`Leases::refill_turn`]);
//! - once Redis refuses a slice, the replica refuses the key's hits itself until the window
//!   ends, without counting them in Redis (a quota, unlike a brute-force budget, needs no count
//!   of refused attempts), so a flood of refused requests costs no round trips either;
//! - [`Limiter::peek`](idp_core::limits::Limiter::peek) counts reserved hits as spent, and the
//!   count of a hit is its replica's view (unique per replica, not across replicas);
//! - quotas of fewer than `2 × DIVISOR` hits get slices of one: counted exactly.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A slice is this fraction of the budget...
const DIVISOR: u32 = 64;
/// ...but never more than this many hits.
const MAX_SLICE: u32 = 256;
/// Leases held before the expired ones are swept out.
const SWEEP_AT: usize = 1024;

/// How many hits of a budget of `limit` one round trip reserves.
pub(super) fn slice(limit: u32) -> u32 {
    (limit / DIVISOR).clamp(1, MAX_SLICE)
}

#[derive(Debug)]
struct Lease {
    /// Hits reserved and not yet spent.
    left: u32,
    /// The count the next hit spent from this lease reports.
    next_count: u32,
    /// The end of the key's window in Redis: nothing is spent after it.
    until: Instant,
    /// The budget the slice was taken from (a hit with another limit does not spend it).
    limit: u32,
    /// Redis refused: the budget of the window is spent, across replicas.
    exhausted: bool,
}

/// What a hit spent from a lease held on its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spent {
    Allowed {
        count: u32,
    },
    /// The window's budget is spent: refused without asking Redis again until the window ends.
    Refused {
        count: u32,
        retry_after: Duration,
    },
}

/// The slices this replica holds, by full Redis key.
#[derive(Debug)]
pub(super) struct Leases {
    held: Mutex<HashMap<String, Lease>>,
    /// One refill at a time per key (keys share these by hash): hits that find no slice while
    /// another hit is fetching one wait for it instead of each reserving a slice of its own,
    /// which would strand the budget in slices nobody spends.
    refills: Vec<tokio::sync::Mutex<()>>,
}

/// Refill gates (keys hash onto them).
const REFILL_GATES: usize = 64;

impl Default for Leases {
    fn default() -> Self {
        Self {
            held: Mutex::default(),
            refills: (0..REFILL_GATES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }
}

impl Leases {
    /// Waits for the right to fetch a slice for `key`; the caller should [`Leases::spend`]
    /// again once it has it (the hit it waited for may have brought one).
    pub(super) async fn refill_turn(&self, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        // The remainder is below REFILL_GATES, so it fits a usize.
        let gate = usize::try_from(hash % REFILL_GATES as u64).unwrap_or(0);
        self.refills[gate].lock().await
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Lease>> {
        // The map holds plain numbers, valid after any panic.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Spends one hit of the slice held on `key` for `limit`, or `None` when no live slice is
    /// held (the caller then asks Redis).
    pub(super) fn spend(&self, key: &str, limit: u32) -> Option<Spent> {
        let now = Instant::now();
        let mut held = self.lock();
        let lease = held.get_mut(key)?;
        if lease.limit != limit || lease.until <= now || (lease.left == 0 && !lease.exhausted) {
            held.remove(key);
            return None;
        }
        let count = lease.next_count;
        lease.next_count = count.saturating_add(1);
        if lease.exhausted {
            return Some(Spent::Refused {
                count,
                retry_after: lease.until - now,
            });
        }
        lease.left -= 1;
        Some(Spent::Allowed { count })
    }

    /// Keeps the rest of a slice of `granted` hits (0: refused) whose first hit had `count`,
    /// until `window_left` has passed.
    pub(super) fn keep(
        &self,
        key: &str,
        limit: u32,
        granted: u32,
        count: u32,
        window_left: Duration,
    ) {
        let left = granted.saturating_sub(1);
        let exhausted = granted == 0;
        if left == 0 && !exhausted {
            return;
        }
        let now = Instant::now();
        let mut held = self.lock();
        if held.len() >= SWEEP_AT {
            held.retain(|_, l| l.until > now && (l.left > 0 || l.exhausted));
        }
        match held.get_mut(key) {
            // Two slices of one window (a reset let another hit fetch one meanwhile): both are
            // reserved in Redis, so both are spent here (the earlier end of window holds).
            Some(l) if l.limit == limit && l.until > now && !exhausted && !l.exhausted => {
                l.left = l.left.saturating_add(left);
            }
            _ => {
                held.insert(
                    key.to_owned(),
                    Lease {
                        left,
                        next_count: count.saturating_add(1),
                        until: now + window_left,
                        limit,
                        exhausted,
                    },
                );
            }
        }
    }

    /// Forgets the slice held on `key` (the key was reset).
    pub(super) fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn small_budgets_are_not_leased_and_large_ones_are_bounded() {
        assert_eq!(slice(0), 1);
        assert_eq!(slice(60), 1);
        assert_eq!(slice(127), 1);
        assert_eq!(slice(128), 2);
        assert_eq!(slice(600), 9);
        assert_eq!(slice(u32::MAX), MAX_SLICE);
    }

    #[test]
    fn a_slice_is_spent_once_and_only_for_its_limit_and_window() {
        let leases = Leases::default();
        leases.keep("k", 640, 3, 1, Duration::from_secs(60));
        assert_eq!(
            leases.spend("k", 6400),
            None,
            "another limit spends nothing"
        );
        leases.keep("k", 640, 3, 1, Duration::from_secs(60));
        assert_eq!(leases.spend("k", 640), Some(Spent::Allowed { count: 2 }));
        assert_eq!(leases.spend("k", 640), Some(Spent::Allowed { count: 3 }));
        assert_eq!(leases.spend("k", 640), None, "used up");
        leases.keep("k", 640, 2, 10, Duration::ZERO);
        assert_eq!(leases.spend("k", 640), None, "the window has ended");
        leases.keep("k", 640, 2, 10, Duration::from_secs(60));
        leases.forget("k");
        assert_eq!(leases.spend("k", 640), None, "forgotten");
    }

    #[test]
    fn concurrent_slices_of_one_window_add_up() {
        let leases = Leases::default();
        leases.keep("k", 640, 3, 1, Duration::from_secs(60));
        leases.keep("k", 640, 3, 4, Duration::from_secs(60));
        let spent = std::iter::from_fn(|| leases.spend("k", 640)).count();
        assert_eq!(spent, 4, "2 + 2 reserved hits left");
    }

    #[test]
    fn a_refused_window_refuses_locally_until_it_ends() {
        let leases = Leases::default();
        leases.keep("k", 640, 0, 641, Duration::from_secs(60));
        for count in 642..645 {
            match leases.spend("k", 640) {
                Some(Spent::Refused {
                    count: c,
                    retry_after,
                }) => {
                    assert_eq!(c, count);
                    assert!(retry_after <= Duration::from_secs(60), "{retry_after:?}");
                }
                other => panic!("{other:?}"),
            }
        }
        leases.keep("k", 640, 0, 641, Duration::ZERO);
        assert_eq!(leases.spend("k", 640), None, "the window has ended");
    }
}
