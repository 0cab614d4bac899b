//! Rows this process read a moment ago, kept for a bounded time: app clients and tenants are
//! read by nearly every authentication call, and on PostgreSQL each read is a round trip.
//!
//! Only rows that rarely change and have no delete are kept this way. The time to live bounds how
//! long a change made by another replica (or by hand in the database) goes unseen here; a change
//! made through this process replaces its entry at once (a read of the old row that raced the
//! change may put it back, again for at most the time to live). Unknown keys are never
//! remembered, so a row created elsewhere is usable at once.

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::{AppClient, Tenant};

/// App clients by id. A client never changes once created (the store has no update or delete
/// for clients), so the time to live only bounds a hand edit.
pub(crate) type Clients = Recent<String, AppClient>;
const CLIENT_TTL: Duration = Duration::from_secs(10);

/// Tenants by id: their policies (password, lockout, MFA) are read several times per sign-in.
/// A policy changed on another replica applies here within [`TENANT_TTL`]; tenants are never
/// deleted.
pub(crate) type Tenants = Recent<uuid::Uuid, Tenant>;
const TENANT_TTL: Duration = Duration::from_secs(1);

const ENTRIES: usize = 1024;

pub(crate) struct Recent<K, V> {
    rows: quick_cache::sync::Cache<K, (Instant, Arc<V>)>,
    ttl: Duration,
}

impl Default for Clients {
    fn default() -> Self {
        Self::new(CLIENT_TTL)
    }
}

impl Default for Tenants {
    fn default() -> Self {
        Self::new(TENANT_TTL)
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Recent<K, V> {
    fn new(ttl: Duration) -> Self {
        Self {
            rows: quick_cache::sync::Cache::new(ENTRIES),
            ttl,
        }
    }

    /// The row if it was read less than the time to live ago.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + quick_cache::Equivalent<K> + ?Sized,
    {
        let (read_at, row) = self.rows.get(key)?;
        (read_at.elapsed() < self.ttl).then(|| V::clone(&row))
    }

    /// Remembers a row just read from (or written to) the store.
    pub(crate) fn put(&self, key: K, row: &V) {
        self.rows
            .insert(key, (Instant::now(), Arc::new(row.clone())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_expires_after_its_time_to_live() {
        let recent = Recent::<u32, String>::new(Duration::from_millis(200));
        assert_eq!(recent.get(&1), None, "unknown keys are not remembered");
        recent.put(1, &"one".to_owned());
        assert_eq!(recent.get(&1).as_deref(), Some("one"));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(recent.get(&1), None, "read too long ago");
        recent.put(1, &"uno".to_owned());
        assert_eq!(
            recent.get(&1).as_deref(),
            Some("uno"),
            "a new read replaces it"
        );
    }
}
