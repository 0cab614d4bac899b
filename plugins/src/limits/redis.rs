//! The Redis limiter: one count per key in Redis, shared by every replica.
//!
//! A hit is ONE Lua script ([`HIT_SCRIPT`]), which Redis runs atomically: it adds the hit (or,
//! for a large quota, a slice of hits leased to this replica: see [`super::lease`]) to the
//! key's count, gives the key its expiry when it has none (the first hit of a window), and
//! returns how many hits are granted, the count and the milliseconds left in the window.
//! Parallel hits from any number of replicas therefore never both see the same count, and the
//! window runs on Redis's clock, so the replicas' clocks do not matter. Keys are `prefix + key` (by default
//! `idp:lim:` + key), one Redis key per limiter key, so the script also works on a cluster.
//!
//! The connection is a [`ConnectionManager`]: one multiplexed connection that reconnects by
//! itself after Redis went away. Every call is bounded by [`RedisOptions::timeout`] (1 s by
//! default), connecting, sending and waiting included, so an outage fails fast with
//! [`LimitError::Unavailable`] instead of hanging a sign-in; when Redis is back, the next calls
//! reconnect (the first one after the outage may still fail) and succeed again. The script is
//! sent by hash (`EVALSHA`) and reloaded when a restarted Redis no longer knows it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{AsyncCommands, Client, RedisError, Script};
use async_trait::async_trait;
use idp_core::limits::{Decision, LimitError, Limiter};

use super::lease::{self, Leases, Spent};

/// The prefix of every key the limiter writes, unless [`RedisOptions::prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "idp:lim:";
/// How long one call may take, connecting included, before it fails with
/// [`LimitError::Unavailable`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// KEYS[1] = the key; ARGV[1] = the window in ms; ARGV[2] = the limit; ARGV[3] = the hits
/// wanted (1, or a lease's slice). Grants what is left of the budget, at most the hits wanted,
/// and adds them to the count; a refused hit adds one (it is an attempt all the same).
/// Returns {hits granted (0 = refused), count after, ms left in the window}.
pub(crate) const HIT_SCRIPT: &str = r"
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
local granted = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) - before)
if granted < 0 then
  granted = 0
end
local count = redis.call('INCRBY', KEYS[1], math.max(granted, 1))
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {granted, count, ttl}
";

/// How a [`RedisLimiter`] names its keys and how long it waits.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Put before every key; lets several deployments (or tests) share one Redis.
    pub prefix: String,
    /// The longest one call may take (connecting, sending, waiting for the answer).
    pub timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Counts in Redis, so that every replica pointed at the same Redis shares every count.
#[derive(Clone)]
pub struct RedisLimiter {
    conn: ConnectionManager,
    script: Script,
    prefix: String,
    timeout: Duration,
    /// Slices of large quotas this replica holds; shared by the clones of one limiter.
    leases: Arc<Leases>,
}

/// Not derived: the connection's `Debug` shows the connection info, password included.
impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn decision(spent: Spent) -> Decision {
    match spent {
        Spent::Allowed { count } => Decision {
            allowed: true,
            count,
            retry_after: None,
        },
        Spent::Refused { count, retry_after } => Decision {
            allowed: false,
            count,
            retry_after: Some(retry_after.max(Duration::from_millis(1))),
        },
    }
}

fn unavailable(err: RedisError) -> LimitError {
    LimitError::Unavailable(format!("redis: {err}"))
}

impl RedisLimiter {
    /// Connects to `url` (`redis://[user:password@]host:port/db`, or `rediss://` where the
    /// redis crate is built with TLS) with the default [`RedisOptions`], waiting for the first
    /// connection: fails with [`LimitError::Unavailable`] within about [`DEFAULT_TIMEOUT`]
    /// when Redis cannot be reached or the URL does not parse.
    pub async fn connect(url: &str) -> Result<Self, LimitError> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// [`RedisLimiter::connect`] with other options.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, LimitError> {
        let limiter = Self::connect_lazy_with(url, options)?;
        limiter.ping().await?;
        Ok(limiter)
    }

    /// Like [`RedisLimiter::connect`], but does not wait for Redis: the connection is made by
    /// the first call, and until Redis answers every call fails with
    /// [`LimitError::Unavailable`]. For a server that should start (and report itself not
    /// ready through [`Limiter::ping`]) while Redis is still coming up. Must be called inside
    /// a Tokio runtime (returns `Unavailable` otherwise).
    pub fn connect_lazy(url: &str) -> Result<Self, LimitError> {
        Self::connect_lazy_with(url, RedisOptions::default())
    }

    /// [`RedisLimiter::connect_lazy`] with other options.
    pub fn connect_lazy_with(url: &str, options: RedisOptions) -> Result<Self, LimitError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(LimitError::Unavailable(
                "the Redis limiter needs a Tokio runtime".to_owned(),
            ));
        }
        let client = Client::open(url).map_err(unavailable)?;
        // Each attempt to connect gives up after `timeout`; a failed connection is retried twice
        // within a few hundred milliseconds (refused connections fail at once), and after that
        // the next call starts a new attempt. The per-call deadline in `bounded` caps the total.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(250));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(Self {
            conn,
            script: Script::new(HIT_SCRIPT),
            prefix: options.prefix,
            timeout: options.timeout,
            leases: Arc::default(),
        })
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    /// Runs one Redis exchange with the per-call deadline, mapping every failure to
    /// `Unavailable`.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, LimitError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(unavailable),
            Err(_) => Err(LimitError::Unavailable(format!(
                "redis: no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    /// Runs [`HIT_SCRIPT`] for `want` hits on the full `key`.
    async fn count(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        want: u32,
    ) -> Result<Counted, LimitError> {
        let window_ms = u64::try_from(window.as_millis())
            .unwrap_or(u64::MAX)
            .clamp(1, i64::MAX as u64);
        let mut conn = self.conn.clone();
        let mut invocation = self.script.key(key);
        invocation.arg(window_ms).arg(limit).arg(want);
        let (granted, count_after, ttl_ms): (i64, i64, i64) =
            self.bounded(invocation.invoke_async(&mut conn)).await?;
        let granted = u32::try_from(granted.clamp(0, i64::from(want))).unwrap_or(0);
        // This hit is the first of those added to the count.
        let count =
            u32::try_from((count_after - i64::from(granted.max(1)) + 1).max(0)).unwrap_or(u32::MAX);
        let window_left =
            Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0).clamp(1, window_ms));
        Ok(Counted {
            granted,
            count,
            window_left,
        })
    }
}

/// What [`HIT_SCRIPT`] answered for one call.
struct Counted {
    /// Hits granted (0: refused).
    granted: u32,
    /// The count of the first hit of the call.
    count: u32,
    window_left: Duration,
}

impl Counted {
    /// The decision for the first hit of the call.
    fn decision(&self) -> Decision {
        let allowed = self.granted > 0;
        Decision {
            allowed,
            count: self.count,
            retry_after: (!allowed).then_some(self.window_left),
        }
    }
}

#[async_trait]
impl Limiter for RedisLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, LimitError> {
        Ok(self
            .count(&self.key(key), limit, window, 1)
            .await?
            .decision())
    }

    async fn hit_quota(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Decision, LimitError> {
        let key = self.key(key);
        let slice = lease::slice(limit);
        if slice == 1 {
            return Ok(self.count(&key, limit, window, 1).await?.decision());
        }
        if let Some(spent) = self.leases.spend(&key, limit) {
            return Ok(decision(spent));
        }
        let _turn = self.leases.refill_turn(&key).await;
        if let Some(spent) = self.leases.spend(&key, limit) {
            return Ok(decision(spent));
        }
        let counted = self.count(&key, limit, window, slice).await?;
        self.leases.keep(
            &key,
            limit,
            counted.granted,
            counted.count,
            counted.window_left,
        );
        Ok(counted.decision())
    }

    /// Clears the shared count and this replica's slice (other replicas' slices of the window
    /// stay theirs: resets serve failure counts, which are never leased).
    async fn reset(&self, key: &str) -> Result<(), LimitError> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        self.leases.forget(&key);
        self.bounded(conn.del::<_, ()>(key)).await
    }

    async fn peek(&self, key: &str) -> Result<u32, LimitError> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let count: Option<u64> = self.bounded(conn.get(key)).await?;
        Ok(u32::try_from(count.unwrap_or(0)).unwrap_or(u32::MAX))
    }

    async fn ping(&self) -> Result<(), LimitError> {
        let mut conn = self.conn.clone();
        let pong: String = self
            .bounded(::redis::cmd("PING").query_async(&mut conn))
            .await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(LimitError::Unavailable(format!(
                "redis: unexpected answer to PING: {pong}"
            )))
        }
    }
}
