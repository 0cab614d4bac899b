//! Building the core from configuration: open and migrate the store, start the hashing pool,
//! make sure the default tenant exists.

use std::sync::Arc;

use idp_config::{Config, Database};
use idp_core::Idp;
use idp_core::secrets::hasher::SecretHasher;
use idp_store::{AnyStore, Location};

use crate::error::ServerError;

/// Everything a running server (or an admin command) works with.
#[derive(Clone)]
pub struct App {
    pub idp: Idp,
    pub config: Arc<Config>,
    /// `sqlite` or `postgres`, for logs and readiness.
    pub store_kind: &'static str,
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
        let a = &config.argon2;
        let hasher = SecretHasher::new(a.params(), hash_threads.unwrap_or(a.threads), a.queue)?;
        let idp = Idp::new(store.into_dyn(), hasher);
        idp.ensure_default_tenant().await?;
        Ok(Self {
            idp,
            config: Arc::new(config),
            store_kind,
        })
    }
}
