//! [`KeyRing`]: the keys of the store, parsed once and cached, behind
//! [`idp_core::jose::TokenSigner`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use chrono::Duration;
use idp_core::jose::{SignError, TokenSigner, VerifiedJws};
use idp_core::model::{SigningAlg, SigningKey, Timestamp, now};
use idp_core::store::Store;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::material::KeyMaterial;
use super::{KeyError, generate_key, jws};

/// At most one store reload per this interval is caused by tokens naming an unknown `kid`.
pub const DEFAULT_UNKNOWN_KID_RELOAD_INTERVAL: StdDuration = StdDuration::from_secs(5);

/// One key as the ring uses it.
struct LoadedKey {
    kid: String,
    alg: SigningAlg,
    material: Arc<KeyMaterial>,
    jwk: Value,
    /// Superseded time + token lifetime: from then on it is neither published nor accepted.
    /// None for the current key of its algorithm.
    retire_at: Option<Timestamp>,
}

impl LoadedKey {
    fn live_at(&self, at: Timestamp) -> bool {
        self.retire_at.is_none_or(|retire| retire > at)
    }
}

/// An immutable snapshot of the keys; replaced whole on reload.
#[derive(Default)]
struct KeySet {
    current: BTreeMap<SigningAlg, Arc<LoadedKey>>,
    by_kid: HashMap<String, Arc<LoadedKey>>,
    /// JWKS order: the current keys (ES256, RS256, EdDSA), then superseded ones, newest first.
    published: Vec<Arc<LoadedKey>>,
}

impl KeySet {
    /// Builds the snapshot from what the store holds. Keys already parsed in `previous` are
    /// reused; keys that fail to parse are skipped (and logged); keys retired by `at` are left
    /// out.
    fn build(
        mut keys: Vec<SigningKey>,
        previous: &KeySet,
        lifetime: Duration,
        at: Timestamp,
    ) -> KeySet {
        // Newest first, ties broken by kid so that every replica picks the same current key.
        keys.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.kid.cmp(&a.kid))
        });

        let mut parsed: Vec<(SigningKey, Arc<KeyMaterial>)> = Vec::with_capacity(keys.len());
        let mut seen = HashSet::new();
        for key in keys {
            if !seen.insert(key.kid.clone()) {
                tracing::warn!(kid = %key.kid, "duplicate signing key id in the store; ignored");
                continue;
            }
            // Retired but not yet deleted: not worth parsing.
            if key
                .superseded_at
                .is_some_and(|s| retirement(s, lifetime) <= at)
            {
                continue;
            }
            let material = match previous.by_kid.get(&key.kid) {
                Some(known) if known.alg == key.alg => known.material.clone(),
                _ => match KeyMaterial::from_pkcs8(key.alg, &key.private_der) {
                    Ok(material) => Arc::new(material),
                    Err(reason) => {
                        tracing::warn!(kid = %key.kid, %reason, "unusable signing key skipped");
                        continue;
                    }
                },
            };
            parsed.push((key, material));
        }

        // The current key of an algorithm: its newest key not superseded.
        let mut current_created: BTreeMap<SigningAlg, (String, Timestamp)> = BTreeMap::new();
        for (key, _) in &parsed {
            if key.superseded_at.is_none() && !current_created.contains_key(&key.alg) {
                current_created.insert(key.alg, (key.kid.clone(), key.created_at));
            }
        }

        let mut set = KeySet::default();
        let mut superseded = Vec::new();
        for (key, material) in parsed {
            let is_current = current_created
                .get(&key.alg)
                .is_some_and(|(kid, _)| *kid == key.kid);
            // A key nobody marked superseded but that is not the newest (two replicas created
            // one at the same time) counts as superseded when the newest was created.
            let superseded_at = if is_current {
                None
            } else {
                key.superseded_at
                    .or_else(|| current_created.get(&key.alg).map(|(_, created)| *created))
            };
            let retire_at = superseded_at.map(|s| retirement(s, lifetime));
            let loaded = Arc::new(LoadedKey {
                jwk: material.jwk(key.alg, &key.kid),
                kid: key.kid,
                alg: key.alg,
                material,
                retire_at,
            });
            if !loaded.live_at(at) {
                continue;
            }
            set.by_kid.insert(loaded.kid.clone(), loaded.clone());
            if is_current {
                set.current.insert(loaded.alg, loaded);
            } else {
                superseded.push(loaded);
            }
        }
        set.published = set.current.values().cloned().chain(superseded).collect();
        set
    }
}

/// When a key superseded at `superseded_at` stops being published and accepted.
fn retirement(superseded_at: Timestamp, lifetime: Duration) -> Timestamp {
    superseded_at
        .checked_add_signed(lifetime)
        .unwrap_or(Timestamp::MAX_UTC)
}

/// The signing keys of every replica: loaded from the store, parsed once, cached in memory.
///
/// - [`KeyRing::open`] loads the keys and creates one per algorithm the store has none for.
/// - [`KeyRing::rotate`] creates a new key per algorithm; the older ones stay published (and
///   accepted) until `token_lifetime` after they were superseded.
/// - [`KeyRing::reload`] picks up what other replicas did. Call it periodically
///   ([`KeyRing::spawn_reloader`]) with a period well under the token lifetime: until it
///   reloads, a replica keeps signing with the key it knows even if another replica rotated.
///   A token naming an unknown key also triggers a reload (throttled), so verifying a token
///   from a freshly rotated key works on every replica at once.
pub struct KeyRing {
    store: Arc<dyn Store>,
    token_lifetime: Duration,
    keys: RwLock<Arc<KeySet>>,
    /// Serialises reloads, so that an older read of the store never replaces a newer one.
    reload_lock: Mutex<()>,
    /// When a token with an unknown kid last caused a reload.
    unknown_kid_reload: Mutex<Option<Instant>>,
    unknown_kid_interval: StdDuration,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.snapshot();
        let current: Vec<(&str, &str)> = keys
            .current
            .values()
            .map(|k| (k.alg.as_str(), k.kid.as_str()))
            .collect();
        f.debug_struct("KeyRing")
            .field("current", &current)
            .field("loaded", &keys.by_kid.len())
            .field("token_lifetime", &self.token_lifetime)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads the keys from `store` and creates (and stores) a key for every algorithm that has
    /// no current one. `token_lifetime` is the longest life of a token signed by these keys
    /// (e.g. `TokenConfig::max_signed_lifetime()`): how long a superseded key stays published.
    ///
    /// Two replicas opening an empty store together may both create keys; the store supersedes
    /// the older, and the newest key of each algorithm wins on every replica after a reload.
    pub async fn open(store: Arc<dyn Store>, token_lifetime: Duration) -> Result<Self, KeyError> {
        let ring = KeyRing {
            store,
            token_lifetime: token_lifetime.max(Duration::zero()),
            keys: RwLock::new(Arc::new(KeySet::default())),
            reload_lock: Mutex::new(()),
            unknown_kid_reload: Mutex::new(None),
            unknown_kid_interval: DEFAULT_UNKNOWN_KID_RELOAD_INTERVAL,
        };
        ring.try_reload().await?;
        let missing: Vec<SigningAlg> = {
            let keys = ring.snapshot();
            SigningAlg::ALL
                .into_iter()
                .filter(|alg| !keys.current.contains_key(alg))
                .collect()
        };
        if !missing.is_empty() {
            for key in generate_keys(missing).await? {
                ring.store.insert_key(&key).await?;
                tracing::info!(kid = %key.kid, alg = %key.alg, "signing key created");
            }
            ring.try_reload().await?;
        }
        Ok(ring)
    }

    /// Sets how often at most a token naming an unknown key may cause a reload (default
    /// [`DEFAULT_UNKNOWN_KID_RELOAD_INTERVAL`]).
    #[must_use]
    pub fn with_unknown_kid_reload_interval(mut self, interval: StdDuration) -> Self {
        self.unknown_kid_interval = interval;
        self
    }

    pub fn token_lifetime(&self) -> Duration {
        self.token_lifetime
    }

    /// Creates and stores a new key for every algorithm (the store marks the previous ones
    /// superseded), deletes keys whose tokens have all expired, and reloads. Returns the new
    /// keys.
    pub async fn rotate(&self) -> Result<Vec<SigningKey>, KeyError> {
        let keys = generate_keys(SigningAlg::ALL.to_vec()).await?;
        for key in &keys {
            self.store.insert_key(key).await?;
            tracing::info!(kid = %key.kid, alg = %key.alg, "signing key rotated in");
        }
        if let Some(cutoff) = now().checked_sub_signed(self.token_lifetime) {
            match self.store.delete_keys_superseded_before(cutoff).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "retired signing keys deleted"),
                Err(error) => tracing::warn!(%error, "deleting retired signing keys failed"),
            }
        }
        self.try_reload().await?;
        Ok(keys)
    }

    /// Reloads the keys from the store; on failure logs it and keeps the keys it had.
    pub async fn reload(&self) {
        if let Err(error) = self.try_reload().await {
            tracing::warn!(%error, "reloading signing keys failed; keeping the cached ones");
        }
    }

    /// Reloads the keys from the store.
    pub async fn try_reload(&self) -> Result<(), KeyError> {
        let _serial = self.reload_lock.lock().await;
        let stored = self.store.list_keys().await?;
        let previous = self.snapshot();
        let next = KeySet::build(stored, &previous, self.token_lifetime, now());
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(())
    }

    /// Reloads every `every` (at least one second) until the ring is dropped. Needs a Tokio
    /// runtime.
    pub fn spawn_reloader(self: &Arc<Self>, every: StdDuration) -> tokio::task::JoinHandle<()> {
        let ring = Arc::downgrade(self);
        let every = every.max(StdDuration::from_secs(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate; the ring was just loaded
            loop {
                tick.tick().await;
                let Some(ring) = ring.upgrade() else { break };
                ring.reload().await;
            }
        })
    }

    /// The kid of the key that signs `alg` now.
    pub fn current_kid(&self, alg: SigningAlg) -> Option<String> {
        self.snapshot().current.get(&alg).map(|k| k.kid.clone())
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reloads because a token named an unknown kid, unless such a reload happened within the
    /// interval. Callers waiting here while another one reloads return once it is done.
    async fn reload_for_unknown_kid(&self) {
        let mut last = self.unknown_kid_reload.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.unknown_kid_interval) {
            return;
        }
        *last = Some(Instant::now());
        self.reload().await;
    }
}

/// Generates keys off the async executor (RSA generation takes a while).
async fn generate_keys(algs: Vec<SigningAlg>) -> Result<Vec<SigningKey>, KeyError> {
    let work = move || {
        algs.into_iter()
            .map(|alg| generate_key(alg, now()))
            .collect()
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(work)
            .await
            .map_err(|e| KeyError::Generate(format!("key generation task: {e}")))?,
        Err(_) => work(),
    }
}

#[async_trait]
impl TokenSigner for KeyRing {
    async fn sign(&self, alg: SigningAlg, typ: &str, claims: &Value) -> Result<String, SignError> {
        if !claims.is_object() {
            return Err(SignError::Internal("claims must be a JSON object".into()));
        }
        let key = self
            .snapshot()
            .current
            .get(&alg)
            .cloned()
            .ok_or(SignError::NoKey(alg))?;
        let input = jws::signing_input(alg, typ, &key.kid, claims).map_err(SignError::Internal)?;
        // An RSA signature takes about a millisecond: too long to hold an executor thread.
        let (input, signature) = match tokio::runtime::Handle::try_current() {
            Ok(handle) if alg == SigningAlg::RS256 => handle
                .spawn_blocking(move || {
                    let signature = key.material.sign(input.as_bytes());
                    (input, signature)
                })
                .await
                .map_err(|e| SignError::Internal(format!("signing task: {e}")))?,
            _ => {
                let signature = key.material.sign(input.as_bytes());
                (input, signature)
            }
        };
        let signature = signature.map_err(SignError::Internal)?;
        Ok(jws::encode_signature(input, &signature))
    }

    async fn verify(&self, token: &str) -> Result<VerifiedJws, SignError> {
        let parts = jws::split(token).map_err(SignError::Invalid)?;
        let key = match self.snapshot().by_kid.get(&parts.kid).cloned() {
            Some(key) => key,
            None => {
                // Perhaps a key another replica rotated in since we last looked.
                self.reload_for_unknown_kid().await;
                self.snapshot()
                    .by_kid
                    .get(&parts.kid)
                    .cloned()
                    .ok_or_else(|| SignError::Invalid("unknown kid".into()))?
            }
        };
        if !key.live_at(now()) {
            return Err(SignError::Invalid("key retired".into()));
        }
        if key.alg != parts.alg {
            return Err(SignError::Invalid(format!(
                "header algorithm {} does not match the key's {}",
                parts.alg, key.alg
            )));
        }
        if !key
            .material
            .verify(parts.signing_input.as_bytes(), &parts.signature)
        {
            return Err(SignError::Invalid("bad signature".into()));
        }
        let claims = jws::claims(parts.payload).map_err(SignError::Invalid)?;
        Ok(VerifiedJws {
            alg: key.alg,
            kid: key.kid.clone(),
            typ: parts.typ,
            claims,
        })
    }

    async fn jwks(&self) -> Value {
        let keys = self.snapshot();
        let at = now();
        let published: Vec<&Value> = keys
            .published
            .iter()
            .filter(|k| k.live_at(at))
            .map(|k| &k.jwk)
            .collect();
        json!({ "keys": published })
    }

    fn algorithms(&self) -> Vec<SigningAlg> {
        self.snapshot().current.keys().copied().collect()
    }
}
