//! Building the core from configuration: open and migrate the store, start the hashing pool,
//! make sure the default tenant and the signing keys exist, and assemble the token service.

use std::sync::Arc;

use chrono::Duration;
use idp_config::{Config, Database};
use idp_core::Idp;
use idp_core::blobs::{BlobStore, Blobs, DEFAULT_MAX_BYTES};
use idp_core::ops::tokens::{TokenConfig, Tokens};
use idp_core::ops::{SecurityConfig, Services};
use idp_core::secrets::hasher::SecretHasher;
use idp_plugins::blobs::{LocalDirBlobs, S3Blobs};
use idp_plugins::keys::KeyRing;
use idp_plugins::{limits, notify};
use idp_store::{AnyStore, Location};

use crate::error::ServerError;

/// Everything a running server (or an admin command) works with.
#[derive(Clone)]
pub struct App {
    pub idp: Idp,
    pub tokens: Tokens,
    pub keys: Arc<KeyRing>,
    pub config: Arc<Config>,
    /// `sqlite` or `postgres`, for logs and readiness.
    pub store_kind: &'static str,
    /// The BVN register: the HTTP provider at `IDP_KYC_URL` (key `IDP_KYC_KEY`), else the local
    /// sandbox.
    pub kyc: Arc<dyn idp_core::kyc::BvnVerifier>,
    /// Uploads: the S3-compatible store of `blob_url`, else `DATA_DIR/blobs`.
    pub blobs: Blobs,
}

/// The upload store `blob_url` names, else the local directory. A bad URL stops the start.
pub fn blobs(config: &Config) -> Result<Blobs, ServerError> {
    let store: Arc<dyn BlobStore> = match &config.blob_url {
        Some(url) => Arc::new(
            S3Blobs::from_url(url)
                .map_err(|e| idp_core::Error::invalid("blob_url", e.to_string()))?,
        ),
        None => Arc::new(LocalDirBlobs::new(config.data_dir.join("blobs"))),
    };
    Ok(Blobs::new(store, DEFAULT_MAX_BYTES))
}

/// Opens the configured store without migrating it.
pub async fn open_store(config: &Config) -> Result<AnyStore, ServerError> {
    let location = match config.database() {
        Database::Sqlite(path) => Location::Sqlite(path),
        Database::Postgres(url) => Location::Postgres {
            url,
            pool_size: config.database_pool_size,
        },
    };
    Ok(AnyStore::open(&location).await?)
}

/// Token lifetimes and algorithm from the configuration (validated at load).
pub fn token_config(config: &Config) -> TokenConfig {
    let t = &config.tokens;
    let secs = |s: u64| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX));
    TokenConfig {
        issuer: config.issuer.trim_end_matches('/').to_owned(),
        access_token_ttl: secs(t.access_token_ttl_secs),
        id_token_ttl: secs(t.id_token_ttl_secs),
        refresh_token_ttl: secs(t.refresh_token_ttl_secs),
        code_ttl: secs(t.code_ttl_secs),
        session_ttl: secs(t.session_ttl_secs),
        default_alg: t
            .default_alg
            .parse()
            .unwrap_or(idp_core::model::SigningAlg::ES256),
    }
}

/// Limiter (Redis when configured) and notifier (SMTP / SMS webhook, else the file outbox).
pub async fn services(config: &Config) -> Result<Services, ServerError> {
    let limiter = limits::from_config(config.redis_url.as_deref()).await?;
    let backend = if config.redis_url.is_some() {
        "redis"
    } else {
        "memory"
    };
    let limiter = Arc::new(idp_core::metrics::TimedLimiter::new(backend, limiter));
    let notifier = notify::from_config(
        &config.data_dir,
        config.smtp_url.as_deref(),
        config.sms_webhook_url.as_deref(),
        config.sms_auth_header.as_deref(),
    )?;
    let s = &config.security;
    let security = SecurityConfig {
        otp_ttl_secs: s.otp_ttl_secs,
        otp_max_attempts: s.otp_max_attempts,
        otp_resend_secs: s.otp_resend_secs,
        link_ttl_secs: s.link_ttl_secs,
        public_url: config.issuer.trim_end_matches('/').to_owned(),
        totp_issuer: url_host(&config.issuer),
        rate_per_ip: s.rate_per_ip,
        rate_per_account: s.rate_per_account,
        rate_per_client: s.rate_per_client,
    };
    Ok(Services {
        limiter,
        notifier,
        security,
    })
}

/// What authenticator apps show as the issuer: the issuer's host.
fn url_host(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "idp".into())
}

impl App {
    /// Opens and migrates the store and prepares the core. `hash_threads` overrides the
    /// configured pool size (admin commands need one thread).
    pub async fn build(config: Config, hash_threads: Option<usize>) -> Result<Self, ServerError> {
        let store = open_store(&config).await?;
        let applied = store.migrate().await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "database migrated");
        }
        let store_kind = store.kind();
        let store = store.into_dyn();
        let a = &config.argon2;
        let hasher = SecretHasher::new(a.params(), hash_threads.unwrap_or(a.threads), a.queue)?;
        let services = services(&config).await?;
        let idp = Idp::new(store.clone(), hasher, services);
        idp.ensure_default_tenant().await?;
        if config.adapters.bioentrust.enabled {
            idp_adapters::bioentrust::ensure_client(&idp).await?;
        }
        if config.adapters.fintract.enabled {
            idp_adapters::fintract::ensure_surface(&idp).await?;
        }
        if config.adapters.switch.enabled {
            idp_adapters::switch::ensure_client(&idp).await?;
        }
        // Read from the environment directly (not yet a key of idp-config): a bad URL stops
        // the start, so a misconfigured provider never silently falls back to the sandbox.
        let kyc_url = std::env::var("IDP_KYC_URL").ok();
        let kyc_key = std::env::var("IDP_KYC_KEY").ok();
        let kyc = idp_plugins::kyc::from_config(kyc_url.as_deref(), kyc_key.as_deref())
            .map_err(|e| idp_core::Error::invalid("IDP_KYC_URL", e.to_string()))?;
        let blobs = blobs(&config)?;
        let token_config = token_config(&config);
        let keys = Arc::new(KeyRing::open(store, token_config.max_signed_lifetime()).await?);
        let tokens = Tokens::new(idp.clone(), keys.clone(), token_config);
        Ok(Self {
            idp,
            tokens,
            keys,
            config: Arc::new(config),
            store_kind,
            kyc,
            blobs,
        })
    }
}
